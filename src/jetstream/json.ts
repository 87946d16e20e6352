// Go encoding/json compatibility: `<`, `>`, `&` escaped, RFC 3339 times with nanoseconds, Go
// duration strings, and decoding helpers that reject wrong types as Go's decoder does.

/** JSON as Go's encoding/json writes it (HTML characters escaped). */
export function goJson(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** RFC 3339 with nanoseconds (trailing zeros trimmed), UTC, as Go's time.Time marshals. */
export function nsToTime(ns: bigint): string {
  if (ns === 0n) return ZERO_TIME;
  const ms = ns / 1_000_000n;
  const frac = ns % 1_000_000_000n;
  const d = new Date(Number(ms));
  const base = d.toISOString().slice(0, 19);
  let f = frac.toString().padStart(9, '0').replace(/0+$/, '');
  if (f !== '') f = '.' + f;
  return `${base}${f}Z`;
}

/** Parses an RFC 3339 time (with up to 9 fractional digits) to ns; undefined when invalid. */
export function timeToNs(s: string): bigint | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  const frac = BigInt((m[2] ?? '').padEnd(9, '0') || '0');
  return BigInt(ms) * 1_000_000n + frac;
}

let lastNs = 0n;

/** Current time in ns, strictly increasing within the process. */
export function clockNs(): bigint {
  let t = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  if (t <= lastNs) t = lastNs + 1n;
  lastNs = t;
  return t;
}

/** Go's time.Duration String() for a duration in ns (e.g. `10s`, `1m30s`, `500ms`). */
export function goDurationNs(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let u = Math.abs(ns);
  let out: string;
  if (u < 1e9) {
    if (u < 1e3) out = `${u}ns`;
    else if (u < 1e6) out = `${trim(u / 1e3)}µs`;
    else out = `${trim(u / 1e6)}ms`;
  } else {
    const h = Math.floor(u / 3.6e12);
    u -= h * 3.6e12;
    const m = Math.floor(u / 6e10);
    u -= m * 6e10;
    const s = trim(u / 1e9);
    out = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  }
  return neg ? '-' + out : out;
}

function trim(x: number): string {
  return String(Number(x.toFixed(9)));
}

/** A decode failure: the API answers 400/10025 "invalid JSON". */
export class BadJson extends Error {}

/** Parses a request body; zero bytes → undefined. Throws BadJson. */
export function parseBody(data: Buffer): unknown {
  if (data.length === 0) return undefined;
  try {
    return JSON.parse(data.toString('utf8'));
  } catch (e) {
    throw new BadJson((e as Error).message);
  }
}

/** True for "empty request": no bytes, `null`, or an object without keys. */
export function isEmptyRequest(data: Buffer): boolean {
  if (data.length === 0) return true;
  const s = data.toString('utf8').trim();
  if (s === '' || s === 'null') return true;
  try {
    const v = JSON.parse(s);
    return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0;
  } catch {
    return false;
  }
}

/** Typed field readers with Go's rules: absent/null = zero value, wrong type = BadJson. */
export const dec = {
  obj(v: unknown): Record<string, unknown> {
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) throw new BadJson('expected object');
    return v as Record<string, unknown>;
  },
  str(o: Record<string, unknown>, k: string): string {
    const v = o[k];
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw new BadJson(`${k}: expected string`);
    return v;
  },
  int(o: Record<string, unknown>, k: string): number {
    const v = o[k];
    if (v === undefined || v === null) return 0;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new BadJson(`${k}: expected integer`);
    return v;
  },
  uint(o: Record<string, unknown>, k: string): number {
    const n = dec.int(o, k);
    if (n < 0) throw new BadJson(`${k}: expected unsigned integer`);
    return n;
  },
  bool(o: Record<string, unknown>, k: string): boolean {
    const v = o[k];
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') throw new BadJson(`${k}: expected bool`);
    return v;
  },
  strs(o: Record<string, unknown>, k: string): string[] | undefined {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new BadJson(`${k}: expected string array`);
    return v as string[];
  },
  ints(o: Record<string, unknown>, k: string): number[] | undefined {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' || !Number.isInteger(x))) throw new BadJson(`${k}: expected integer array`);
    return v as number[];
  },
};
