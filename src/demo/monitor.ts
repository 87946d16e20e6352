// Reading tsnats' monitoring endpoints for the demo: plain HTTP GETs on 127.0.0.1, and the few
// /ocspz fields worth showing on a terminal.

import { get } from 'node:http';

export interface HttpResult {
  status: number;
  contentType: string;
  body: string;
}

export function httpGet(url: string, timeoutMs = 5000): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs / 1000}s`)));
    req.on('error', reject);
  });
}

export async function getJson(url: string): Promise<Record<string, unknown>> {
  const r = await httpGet(url);
  if (r.status !== 200) throw new Error(`GET ${url}: HTTP ${r.status} ${r.body.trim().slice(0, 80)}`);
  try {
    return JSON.parse(r.body) as Record<string, unknown>;
  } catch {
    throw new Error(`GET ${url}: not JSON (${r.contentType})`);
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The per-certificate entries of an /ocspz body (`certificates[]`). */
export function ocspzCertificates(body: Obj): Obj[] {
  const list = body.certificates;
  return Array.isArray(list) ? list.filter(isObj) : [];
}

/** The entry for the client listener's certificate, by SHA-256 if given. */
export function ocspzClientEntry(body: Obj, sha256?: string): Obj | undefined {
  const certs = ocspzCertificates(body);
  const mine = sha256 ? certs.filter((c) => String(c.sha256 ?? '').toLowerCase() === sha256.toLowerCase()) : certs;
  return mine.find((c) => ocspzListeners(c).includes('client')) ?? mine[0];
}

/** The listeners an /ocspz entry is served on (`listeners: [...]`, or a single `listener`). */
export function ocspzListeners(entry: Obj): string[] {
  if (Array.isArray(entry.listeners)) return entry.listeners.map(String);
  return typeof entry.listener === 'string' ? [entry.listener] : [];
}

/** Reads `a.b.c` from an object, or undefined. */
export function pick(o: unknown, path: string): unknown {
  let cur: unknown = o;
  for (const k of path.split('.')) {
    if (!isObj(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/**
 * The interesting OCSP series of a Prometheus text exposition, shortened for a terminal: the
 * current staple status (the state-set series whose value is 1) and the time left. Labels other
 * than `status` are elided as `…`.
 */
export function ocspMetricsExcerpt(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^(tsnats_ocsp_\w+)\{([^}]*)\}\s+(\S+)$/.exec(line);
    if (!m) continue;
    const [, name, labels, value] = m;
    const status = /(?:^|,)status="([^"]*)"/.exec(labels!)?.[1];
    if (name === 'tsnats_ocsp_staple_status' && value === '1') out.push(`${name}{…,status="${status}"} 1`);
    else if (name === 'tsnats_ocsp_staple_expires_in_seconds') out.push(`${name}{…} ${value}`);
  }
  return out;
}
