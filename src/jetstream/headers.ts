// NATS header blocks: nats-server's byte-exact, case-sensitive lookup (client.go getHeader) and
// the status messages JetStream sends.

const CRLF = '\r\n';

/**
 * The value of `key` in a raw header block: first occurrence preceded by CRLF and followed by
 * `:`, leading spaces skipped; undefined when absent or empty.
 */
export function getHeader(hdr: Buffer | string | null, key: string): string | undefined {
  if (hdr === null || hdr.length === 0) return undefined;
  const s = typeof hdr === 'string' ? hdr : hdr.toString('latin1');
  const needle = CRLF + key + ':';
  const i = s.indexOf(needle);
  if (i < 0) return undefined;
  let j = i + needle.length;
  while (j < s.length && (s[j] === ' ' || s[j] === '\t')) j++;
  const end = s.indexOf(CRLF, j);
  const v = s.slice(j, end < 0 ? s.length : end);
  return v === '' ? undefined : v;
}

/** Go strconv.ParseInt-like: garbage → -1. */
export function headerInt(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) return -1;
  return Number(v);
}

/** Removes every `key:` line (e.g. Nats-Request-Info). */
export function removeHeader(hdr: Buffer | null, key: string): Buffer | null {
  if (hdr === null || !hdr.includes(CRLF + key + ':', 0, 'latin1')) return hdr;
  const s = hdr.toString('latin1');
  const lines = s.split(CRLF);
  const kept = lines.filter((l, i) => i === 0 || !l.startsWith(key + ':'));
  return Buffer.from(kept.join(CRLF), 'latin1');
}

/** Appends headers to a block (creating `NATS/1.0` when there is none). */
export function appendHeaders(hdr: Buffer | null, pairs: [string, string][]): Buffer {
  let s = hdr !== null && hdr.length > 0 ? hdr.toString('latin1') : 'NATS/1.0\r\n\r\n';
  // strip the final empty line, append, re-terminate
  if (s.endsWith('\r\n\r\n')) s = s.slice(0, -2);
  for (const [k, v] of pairs) s += `${k}: ${v}\r\n`;
  return Buffer.from(s + '\r\n', 'latin1');
}

/** A status-only header block: `NATS/1.0 <code> <text>` plus headers. */
export function statusHeader(code: number, text: string, pairs: [string, string][] = []): Buffer {
  let s = `NATS/1.0 ${code} ${text}\r\n`;
  for (const [k, v] of pairs) s += `${k}: ${v}\r\n`;
  return Buffer.from(s + '\r\n', 'latin1');
}

export const EMPTY = Buffer.alloc(0);
