// Account resolvers (nats-server 2.9.10 accounts.go): MEMORY (the `resolver_preload` JWTs only)
// and URL (HTTP GET `<url>/<account public key>`, 2 s timeout, one request in flight per account;
// what was fetched is kept, as nats-server keeps a registered account). The lookup is
// asynchronous: a CONNECT waits for it, the event loop does not.

import { readFileSync } from 'node:fs';
import type { OperatorOptions } from '../../config/operator.js';

export interface AccountResolver {
  readonly kind: 'memory' | 'url';
  /** The account JWT, or an error (nats-server's texts). */
  fetch(account: string): Promise<string>;
}

export class MemoryResolver implements AccountResolver {
  readonly kind = 'memory' as const;
  constructor(private readonly jwts: Map<string, string>) {}
  fetch(account: string): Promise<string> {
    const j = this.jwts.get(account);
    return j !== undefined ? Promise.resolve(j) : Promise.reject(new Error('account missing'));
  }
}

export const DEFAULT_FETCH_TIMEOUT_MS = 2000;
/** An account server's answer larger than this is refused (nats-server reads it whole). */
const MAX_BODY = 1 << 20;

export class UrlResolver implements AccountResolver {
  readonly kind = 'url' as const;
  private readonly base: string;
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    url: string,
    private readonly timeoutMs = DEFAULT_FETCH_TIMEOUT_MS,
    private readonly tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer },
  ) {
    this.base = url.endsWith('/') ? url : url + '/';
  }

  fetch(account: string): Promise<string> {
    let p = this.inflight.get(account);
    if (!p) {
      p = this.get(this.base + account).finally(() => this.inflight.delete(account));
      this.inflight.set(account, p);
    }
    return p;
  }

  private async get(url: string): Promise<string> {
    const mod = url.startsWith('https:') ? await import('node:https') : await import('node:http');
    return new Promise<string>((resolve, reject) => {
      const req = mod.get(url, { timeout: this.timeoutMs, ...(url.startsWith('https:') ? (this.tls ?? {}) : {}) }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`could not fetch <${JSON.stringify(url)}>: ${res.statusCode} ${res.statusMessage ?? ''}`.trimEnd()));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) {
            req.destroy(new Error('account JWT too large'));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8').trim()));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`Get ${JSON.stringify(url)}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)`)));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.message.startsWith('could not fetch') || e.message.startsWith('Get ')) return reject(e.message.startsWith('Get ') ? new Error(`could not fetch <${JSON.stringify(url)}>: ${e.message}`) : e);
        const u = new URL(url);
        const dial = e.code === 'ECONNREFUSED' ? `dial tcp ${u.host}: connect: connection refused` : e.message;
        reject(new Error(`could not fetch <${JSON.stringify(url)}>: Get ${JSON.stringify(url)}: ${dial}`));
      });
    });
  }
}

export function createResolver(op: OperatorOptions): AccountResolver | undefined {
  const r = op.resolver;
  if (!r) return undefined;
  if (r.kind === 'memory') return new MemoryResolver(new Map(Object.entries(op.resolverPreload)));
  if (r.kind === 'url') {
    const t = op.resolverTls;
    const tls = t
      ? { ca: t.caFile ? readFileSync(t.caFile) : undefined, cert: t.certFile ? readFileSync(t.certFile) : undefined, key: t.keyFile ? readFileSync(t.keyFile) : undefined }
      : undefined;
    return new UrlResolver(r.url, op.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS, tls);
  }
  return undefined;
}
