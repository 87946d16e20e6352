// Helpers for the observability tests: a strict parser of the Prometheus text format (0.0.4), a
// monitoring HTTP client, a manual clock whose timers never fire (the tests drive refreshes), and
// one TLS handshake that asks for the certificate status.

import assert from 'node:assert/strict';
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createStapler, type OcspMode, type Stapler, type StaplerOptions, type StaplerTimers } from '../../src/ocsp/index.js';
import type { IssuedCert } from '../../src/testkit/index.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  helps: Map<string, string>;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseValue(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  assert.match(s, /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/, `sample value ${JSON.stringify(s)}`);
  return Number(s);
}

function parseLabels(s: string, line: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < s.length) {
    const eq = s.indexOf('=', i);
    assert.ok(eq > i, `label name in ${line}`);
    const name = s.slice(i, eq);
    assert.match(name, LABEL_NAME, `label name in ${line}`);
    assert.equal(s[eq + 1], '"', `quoted label value in ${line}`);
    let j = eq + 2;
    let v = '';
    for (;;) {
      assert.ok(j < s.length, `unterminated label value in ${line}`);
      const c = s[j]!;
      if (c === '\\') {
        const n = s[j + 1];
        assert.ok(n === '\\' || n === '"' || n === 'n', `escape \\${n} in ${line}`);
        v += n === 'n' ? '\n' : n;
        j += 2;
      } else if (c === '"') {
        j++;
        break;
      } else {
        v += c;
        j++;
      }
    }
    assert.ok(!(name in out), `duplicate label ${name} in ${line}`);
    out[name] = v;
    if (j < s.length) {
      assert.equal(s[j], ',', `comma between labels in ${line}`);
      j++;
    }
    i = j;
  }
  return out;
}

/** The family a sample belongs to (histogram/summary suffixes stripped when the base has a TYPE). */
function familyOf(name: string, types: Map<string, string>): string {
  if (types.has(name)) return name;
  for (const suf of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suf) && types.has(name.slice(0, -suf.length))) return name.slice(0, -suf.length);
  }
  return name;
}

/**
 * Parses the text format strictly: HELP/TYPE lines, metric and label names, label escaping,
 * values; every sample must follow its family's TYPE; no duplicate series; histograms have
 * cumulative buckets ending with +Inf equal to _count.
 */
export function parseProm(text: string): Exposition {
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  const samples: Sample[] = [];
  const seen = new Set<string>();
  assert.ok(text.endsWith('\n'), 'exposition ends with a newline');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (!m) continue; // a comment
      assert.match(m[2]!, NAME, line);
      if (m[1] === 'TYPE') {
        assert.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3]!), line);
        assert.ok(!types.has(m[2]!), `TYPE once: ${line}`);
        types.set(m[2]!, m[3]!);
      } else helps.set(m[2]!, m[3]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    assert.ok(m, `sample line: ${JSON.stringify(line)}`);
    const labels = m[2] ? parseLabels(m[2], line) : {};
    const name = m[1]!;
    const family = familyOf(name, types);
    assert.ok(types.has(family), `TYPE before sample: ${line}`);
    const id = name + JSON.stringify(Object.entries(labels).sort());
    assert.ok(!seen.has(id), `duplicate series: ${line}`);
    seen.add(id);
    samples.push({ name, labels, value: parseValue(m[3]!) });
  }
  // Histograms: buckets cumulative, +Inf == _count.
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const groups = new Map<string, Sample[]>();
    for (const s of samples.filter((x) => x.name === family + '_bucket')) {
      const { le, ...rest } = s.labels;
      assert.ok(le !== undefined, `le on ${family}_bucket`);
      const k = JSON.stringify(Object.entries(rest).sort());
      groups.set(k, [...(groups.get(k) ?? []), s]);
    }
    for (const [k, buckets] of groups) {
      const sorted = buckets.map((b) => ({ le: parseValue(b.labels.le!), v: b.value })).sort((a, b) => a.le - b.le);
      for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i]!.v >= sorted[i - 1]!.v, `${family} buckets cumulative`);
      assert.equal(sorted[sorted.length - 1]!.le, Infinity, `${family} has +Inf`);
      const count = samples.find((s) => s.name === family + '_count' && JSON.stringify(Object.entries(s.labels).sort()) === k);
      assert.ok(count, `${family}_count for ${k}`);
      assert.equal(sorted[sorted.length - 1]!.v, count.value, `${family} +Inf bucket == _count`);
    }
  }
  return { types, helps, samples };
}

/** Samples of `name` whose labels include `labels`. */
export function find(e: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of exactly one sample. */
export function value(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  const f = find(e, name, labels);
  assert.equal(f.length, 1, `one sample of ${name}${JSON.stringify(labels)}, got ${JSON.stringify(f)}`);
  return f[0]!.value;
}

export interface HttpResult {
  status: number;
  type: string;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function get(base: string, path: string): Promise<HttpResult> {
  const r = await fetch(base + path, { signal: AbortSignal.timeout(5000) });
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, type: r.headers.get('content-type') ?? '', text, json };
}

export async function metrics(base: string): Promise<Exposition> {
  const r = await get(base, '/metrics');
  assert.equal(r.status, 200);
  assert.match(r.type, /^text\/plain; version=0\.0\.4/);
  return parseProm(r.text);
}

/** A manual clock. Its timers never fire: the tests call stapler.refresh() themselves. */
export class ManualClock {
  t: number;
  constructor(start = Math.floor(Date.now() / 1000) * 1000) {
    this.t = start;
  }
  now = (): number => this.t;
  readonly timers: StaplerTimers = {
    setTimeout: () => 0,
    clearTimeout: () => undefined,
  };
}

/** A TLS server with `cert` that staplers can attach to; `handshake()` asks for the status and reports whether a staple came. */
export async function tlsTarget(certPem: string, keyPem: string, caPem: string): Promise<{
  server: tls.Server;
  handshake(): Promise<boolean>;
  close(): Promise<void>;
}> {
  const server = tls.createServer({ cert: certPem, key: keyPem }, (s) => s.end());
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    handshake() {
      return new Promise<boolean>((resolve, reject) => {
        let stapled = false;
        const opts = { host: '127.0.0.1', port, servername: 'localhost', ca: caPem, requestOCSP: true } as tls.ConnectionOptions;
        const s = tls.connect(opts);
        const timer = setTimeout(() => {
          s.destroy();
          reject(new Error('handshake timed out'));
        }, 5000);
        s.on('OCSPResponse', (resp: Buffer) => {
          if (resp && resp.length > 0) stapled = true;
        });
        s.on('secureConnect', () => {
          clearTimeout(timer);
          s.destroy();
          resolve(stapled);
        });
        s.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      });
    },
    close() {
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * A stapler for `c` on the manual clock (no memory, fixed jitter, 3 s fetch timeout), recorded in
 * `opened` so that the test can close it.
 */
export async function manualStapler(
  c: IssuedCert,
  caPem: string | Buffer,
  clock: ManualClock,
  opened: Stapler[],
  mode: OcspMode,
  extra: Partial<StaplerOptions> = {},
): Promise<Stapler> {
  const s = await createStapler({
    cert: c.certPem,
    ca: caPem,
    mode,
    certPath: c.certFile,
    memory: false,
    now: clock.now,
    timers: clock.timers,
    random: () => 0.5,
    fetchTimeoutMs: 3000,
    ...extra,
  });
  opened.push(s);
  return s;
}
