// The HTTP/1.1 upgrade request, parsed and checked as nats-server 2.9.10's wsUpgrade does
// (websocket.go 685-810, checkOrigin 874-924), with Go net/http's error replies.

import { createHash } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface HttpRequest {
  method: string;
  path: string;
  proto: string;
  /** Lower-case header name → values in order. */
  headers: Map<string, string[]>;
}

/** Parses the request head (up to the blank line, excluded). Undefined when malformed. */
export function parseRequest(head: string): HttpRequest | undefined {
  const lines = head.split('\r\n');
  const m = /^([A-Za-z!#$%&'*+.^_`|~0-9-]+) (\S+) (HTTP\/1\.[01])$/.exec(lines[0] ?? '');
  if (!m) return undefined;
  const headers = new Map<string, string[]>();
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    const c = l.indexOf(':');
    if (c <= 0 || /\s/.test(l.slice(0, c))) return undefined;
    const name = l.slice(0, c).toLowerCase();
    const value = l.slice(c + 1).trim();
    const list = headers.get(name);
    if (list) list.push(value);
    else headers.set(name, [value]);
  }
  return { method: m[1]!, path: m[2]!, proto: m[3]!, headers };
}

export function header(r: HttpRequest, name: string): string {
  return r.headers.get(name)?.[0] ?? '';
}

/** nats-server's wsHeaderContains: a comma-separated token, case-insensitive. */
export function headerContains(r: HttpRequest, name: string, value: string): boolean {
  const v = value.toLowerCase();
  for (const s of r.headers.get(name) ?? []) {
    for (const t of s.split(',')) if (t.trim().toLowerCase() === v) return true;
  }
  return false;
}

export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

export interface OriginPolicy {
  sameOrigin: boolean;
  /** Lower-case host → scheme and port (nats-server's allowedOrigins map). */
  allowed: Map<string, { scheme: string; port: string }>;
}

/** Splits host[:port] with the scheme's default port (nats-server's wsGetHostAndPort). */
function hostAndPort(tls: boolean, hp: string): { host: string; port: string } {
  let host = hp;
  let port = '';
  const m = /^\[([^\]]*)\](?::(\d*))?$/.exec(hp);
  if (m) {
    host = m[1]!;
    port = m[2] ?? '';
  } else {
    const i = hp.lastIndexOf(':');
    if (i >= 0 && hp.indexOf(':') === i) {
      host = hp.slice(0, i);
      port = hp.slice(i + 1);
    }
  }
  if (port === '') port = tls ? '443' : '80';
  return { host: host.toLowerCase(), port };
}

export function originPolicy(sameOrigin: boolean, origins: readonly string[]): OriginPolicy {
  const allowed = new Map<string, { scheme: string; port: string }>();
  for (const o of origins) {
    let u: URL;
    try {
      u = new URL(o);
    } catch {
      continue;
    }
    const scheme = u.protocol.replace(/:$/, '');
    const hp = hostAndPort(scheme === 'https', u.host);
    allowed.set(hp.host, { scheme, port: hp.port });
  }
  return { sameOrigin, allowed };
}

/** undefined when the origin is acceptable, else nats-server's reason. */
export function checkOrigin(p: OriginPolicy, r: HttpRequest, tls: boolean): string | undefined {
  if (!p.sameOrigin && p.allowed.size === 0) return undefined;
  let origin = header(r, 'origin');
  if (origin === '') origin = header(r, 'sec-websocket-origin');
  if (origin === '') return undefined;
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return `parse ${JSON.stringify(origin)}: invalid URI for request`;
  }
  const scheme = u.protocol.replace(/:$/, '');
  // URL drops a default port: take host[:port] from the text itself.
  const raw = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(origin)?.[1] ?? u.host;
  const o = hostAndPort(scheme === 'https', raw.replace(/^[^@]*@/, ''));
  if (p.sameOrigin) {
    const h = hostAndPort(tls, header(r, 'host'));
    if (o.host !== h.host || o.port !== h.port) return 'not same origin';
  }
  if (p.allowed.size > 0) {
    const a = p.allowed.get(o.host);
    if (!a || a.scheme !== scheme || a.port !== o.port) return 'not in the allowed list';
  }
  return undefined;
}

/** Does the offer name permessage-deflate (parameters ignored, as nats-server)? */
export function offersDeflate(r: HttpRequest): boolean {
  for (const list of r.headers.get('sec-websocket-extensions') ?? []) {
    for (const ext of list.split(',')) {
      for (const p of ext.split(';')) if (p.trim().toLowerCase() === 'permessage-deflate') return true;
    }
  }
  return false;
}

export interface UpgradeFailure {
  status: number;
  reason: string;
}

/** wsUpgrade's checks 1-7 in order. */
export function checkUpgrade(r: HttpRequest, origins: OriginPolicy, tls: boolean): UpgradeFailure | undefined {
  if (r.method !== 'GET') return { status: 405, reason: 'request method must be GET' };
  if (header(r, 'host') === '') return { status: 400, reason: "'Host' missing in request" };
  if (!headerContains(r, 'upgrade', 'websocket')) return { status: 400, reason: "invalid value for header 'Upgrade'" };
  if (!headerContains(r, 'connection', 'Upgrade')) return { status: 400, reason: "invalid value for header 'Connection'" };
  if (header(r, 'sec-websocket-key') === '') return { status: 400, reason: 'key missing' };
  if (!headerContains(r, 'sec-websocket-version', '13')) return { status: 400, reason: 'invalid version' };
  const why = checkOrigin(origins, r, tls);
  if (why !== undefined) return { status: 403, reason: `origin not allowed: ${why}` };
  return undefined;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/**
 * Go's http.Error reply with nats-server's extra `Sec-Websocket-Version: 13` header. (Go keeps the
 * connection open for another request; tsnats closes it after the reply.)
 */
export function errorResponse(status: number, proto = 'HTTP/1.1'): Buffer {
  const text = STATUS_TEXT[status] ?? 'Error';
  const body = `${text}\n`;
  return Buffer.from(
    `${proto} ${status} ${text}\r\n` +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      'Sec-Websocket-Version: 13\r\n' +
      'X-Content-Type-Options: nosniff\r\n' +
      `Date: ${new Date().toUTCString()}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      '\r\n' +
      body,
    'latin1',
  );
}

/** Go net/http's reply to a request it cannot parse (before any handler runs). */
export function badRequest(detail = ''): Buffer {
  const status = detail ? `400 Bad Request: ${detail}` : '400 Bad Request';
  return Buffer.from(`HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${status}`, 'latin1');
}

/** The 101 reply, byte for byte as nats-server writes it. */
export function switchingProtocols(key: string, compress: boolean, noMasking: boolean): Buffer {
  let s = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n`;
  if (compress) s += 'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n';
  if (noMasking) s += 'Nats-No-Masking: true\r\n';
  return Buffer.from(s + '\r\n', 'latin1');
}
