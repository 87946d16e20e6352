// The HTTP(S) monitoring listener: /varz, /connz, /subsz (/subscriptionsz), /healthz and an index
// page, under `http_base_path`, with nats-server's JSON field names (pretty-printed, HTML-escaped
// like Go's encoder). Other modules add endpoints (`addEndpoint`, e.g. /ocspz, /metrics) and /varz
// sections (`addVarzSection`, e.g. `ocsp`).

//
// Start-up cost: nothing here is loaded until monitoring is configured (node:http/https in
// prepare()) or an endpoint is asked for (varz/connz/subsz on their first request).

import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Server } from '../server.js';
import { hostPort, hostsFor } from '../server.js';
import { MonitorRequestError } from './errors.js';
import { listenOptions } from '../listen.js';

export interface EndpointResult {
  status?: number;
  /** An object is sent as JSON (pretty-printed); a string as is. */
  body: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

/** A monitoring endpoint. Throw MonitorRequestError for a 400 with nats-server's plain-text message. */
export type EndpointHandler = (query: URLSearchParams, req: IncomingMessage) => EndpointResult | Promise<EndpointResult>;

export type VarzSection = () => unknown;

/** Go's json encoder escapes <, > and & in strings. */
export function goJson(v: unknown, indent = true): string {
  const s = indent ? JSON.stringify(v, null, 2) : JSON.stringify(v);
  return s.replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

export class Monitor {
  private readonly server: Server;
  private http: HttpServer | HttpsServer | undefined;
  private scheme: 'http' | 'https' = 'http';
  private boundHost = '';
  private boundPort = 0;
  private readonly endpoints = new Map<string, EndpointHandler>();
  private readonly sections = new Map<string, VarzSection>();
  readonly requestStats = new Map<string, number>();

  constructor(server: Server) {
    this.server = server;
    this.endpoints.set('/varz', async () => ({ body: (await import('./varz.js')).varz(this.server) }));
    this.endpoints.set('/connz', async (q) => ({ body: (await import('./connz.js')).connz(this.server, q) }));
    this.endpoints.set('/subsz', async (q) => ({ body: (await import('./subsz.js')).subsz(this.server, q) }));
    this.endpoints.set('/subscriptionsz', async (q) => ({ body: (await import('./subsz.js')).subsz(this.server, q) }));
    this.endpoints.set('/accountz', async (q) => ({ body: (await import('./accounts.js')).accountz(this.server, q) }));
    this.endpoints.set('/accstatz', async (q) => ({ body: (await import('./accounts.js')).accstatzEndpoint(this.server, q) }));
    this.endpoints.set('/healthz', () => this.healthz());
    this.endpoints.set('/', () => ({ body: this.indexPage(), contentType: 'text/html; charset=utf-8' }));
  }

  /** Adds (or replaces) an endpoint, path relative to http_base_path, e.g. `/ocspz`. */
  addEndpoint(path: string, handler: EndpointHandler): void {
    this.endpoints.set(path.startsWith('/') ? path : '/' + path, handler);
  }

  /** The handler of an endpoint (the system account's requests reuse them), if there is one. */
  endpoint(path: string): EndpointHandler | undefined {
    return this.endpoints.get(path);
  }

  /** Adds a top-level section to /varz (appended after nats-server's fields). */
  addVarzSection(name: string, fn: VarzSection): void {
    this.sections.set(name, fn);
  }

  /** Extra /varz sections, in registration order. */
  varzSections(): Array<[string, unknown]> {
    const out: Array<[string, unknown]> = [];
    for (const [k, fn] of this.sections) out.push([k, fn()]);
    return out;
  }

  get enabled(): boolean {
    const o = this.server.options;
    return (o.httpPort !== undefined && o.httpPort !== 0) || (o.httpsPort !== undefined && o.httpsPort !== 0);
  }

  get port(): number {
    return this.boundPort;
  }

  /** Monitoring URLs (ports file). */
  urls(): string[] {
    if (!this.http) return [];
    return hostsFor(this.boundHost).map((h) => `${this.scheme}://${hostPort(h, this.boundPort)}`);
  }

  /** Creates the HTTP(S) server object (not listening), so TLS hooks can see the HTTPS one. */
  async prepare(): Promise<void> {
    const o = this.server.options;
    if (!this.enabled || this.http) return;
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.handle(req, res).catch((e: Error) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end(e.message);
        }
      });
    };
    if (o.httpsPort !== undefined && o.httpsPort !== 0) {
      const tls = this.server.tls;
      if (!tls) throw new Error('TLS is required for HTTPS monitoring (https_port needs a tls block)');
      const { createServer: createHttpsServer } = await import('node:https');
      if (this.http) return;
      const s = createHttpsServer(tls.monitorOptions(), handler);
      tls.adoptMonitorServer(s);
      this.http = s;
      this.scheme = 'https';
    } else {
      const { createServer: createHttpServer } = await import('node:http');
      if (this.http) return;
      this.http = createHttpServer(handler);
      this.scheme = 'http';
    }
  }

  async start(): Promise<void> {
    await this.prepare();
    const s = this.http;
    if (!s) return;
    const o = this.server.options;
    const host = o.httpHost ?? o.host;
    const p = this.scheme === 'https' ? o.httpsPort! : o.httpPort!;
    const port = p < 0 ? 0 : p;
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(listenOptions(host, port), () => {
        s.removeListener('error', reject);
        resolve();
      });
    }).catch((e: Error) => {
      throw new Error(`can't listen to the monitor port: listen tcp ${hostPort(host, port)}: ${e.message}`);
    });
    const addr = s.address();
    this.boundHost = host;
    this.boundPort = typeof addr === 'object' && addr ? addr.port : port;
    this.server.logger.notice(`Starting ${this.scheme} monitor on ${hostPort(host, this.boundPort)}`);
  }

  async stop(): Promise<void> {
    const s = this.http;
    if (!s) return;
    this.http = undefined;
    await new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let path = url.pathname;
    const base = normaliseBase(this.server.options.httpBasePath);
    if (base !== '/') {
      if (path === base.slice(0, -1)) path = '/';
      else if (path.startsWith(base)) path = '/' + path.slice(base.length);
      else {
        notFound(res);
        return;
      }
    }
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    const h = this.endpoints.get(path);
    if (!h) {
      notFound(res);
      return;
    }
    this.requestStats.set(path, (this.requestStats.get(path) ?? 0) + 1);
    let r: EndpointResult;
    try {
      r = await h(url.searchParams, req);
    } catch (e) {
      if (e instanceof MonitorRequestError) {
        res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(e.message);
        return;
      }
      throw e;
    }
    const isText = typeof r.body === 'string';
    const body = isText ? (r.body as string) : goJson(r.body);
    res.writeHead(r.status ?? 200, {
      'Content-Type': r.contentType ?? 'application/json',
      ...(r.headers ?? {}),
    });
    res.end(body);
  }

  private healthz(): EndpointResult {
    if (!this.server.isRunning) {
      return { status: 503, body: JSON.stringify({ status: 'unavailable', error: 'server is not ready' }) , contentType: 'application/json' };
    }
    // nats-server 2.9.10: JetStream configured but not running → unavailable
    if (this.server.options.jetstream && this.server.jetstream === undefined) {
      return { status: 503, body: JSON.stringify({ status: 'unavailable', error: 'JetStream not enabled' }), contentType: 'application/json' };
    }
    return { body: JSON.stringify({ status: 'ok' }), contentType: 'application/json' };
  }

  private indexPage(): string {
    const links = ['varz', 'connz', 'subsz', 'accountz', 'accstatz', 'healthz', ...[...this.endpoints.keys()].filter((k) => !['/', '/varz', '/connz', '/subsz', '/subscriptionsz', '/healthz', '/accountz', '/accstatz'].includes(k)).map((k) => k.slice(1))];
    const items = links.map((l) => `    <a href="./${l}">${l}</a>`).join('\n');
    return `<!DOCTYPE html>
<html lang="en">
  <head><meta charset="utf-8"><title>tsnats monitoring</title></head>
  <body>
    <h1>tsnats</h1>
${items}
  </body>
</html>
`;
  }
}

function normaliseBase(p: string | undefined): string {
  if (!p) return '/';
  let b = p.startsWith('/') ? p : '/' + p;
  if (!b.endsWith('/')) b += '/';
  return b;
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  res.end('404 page not found\n');
}
