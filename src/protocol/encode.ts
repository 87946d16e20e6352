// Server -> client frames. Subjects, replies and sids are latin1-domain strings (one char per wire
// byte, as the parser decodes them), written back with `latin1` so every byte round-trips. A string
// that came from elsewhere (config, JS code) and may hold non-ASCII text must be converted first with
// `utf8ToWire()`.
//
// The per-subscriber header lines are written into a caller-provided Buffer at an offset (returning
// the bytes written) so a connection can build a whole batch in one outbound chunk; the payload is
// not copied by anything here.

/** `\r\n` */
export const CRLF: Buffer = Buffer.from('\r\n', 'latin1');
/** `PING\r\n` */
export const PING: Buffer = Buffer.from('PING\r\n', 'latin1');
/** `PONG\r\n` */
export const PONG: Buffer = Buffer.from('PONG\r\n', 'latin1');
/** `+OK\r\n` */
export const OK: Buffer = Buffer.from('+OK\r\n', 'latin1');

/**
 * The no-responders status header block exactly as nats-server 2.9.10 sends it (verified with a
 * nats.js request and a raw socket): `NATS/1.0 503\r\n\r\n`, 16 bytes, no other header (newer
 * servers add `Nats-Subject`; 2.9.10 does not).
 */
export const NO_RESPONDERS_HDR: Buffer = Buffer.from('NATS/1.0 503\r\n\r\n', 'latin1');

/** Converts a JS string (config, code) to the latin1 domain used for wire strings. */
export function utf8ToWire(s: string): string {
  // Fast path: pure ASCII is the same in both domains.
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'utf8').toString('latin1');
  }
  return s;
}

/** Converts a latin1-domain wire string to text for display (logs, monitoring JSON). */
export function wireToUtf8(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'latin1').toString('utf8');
  }
  return s;
}

/**
 * `INFO <json> \r\n` — with nats-server's space before CRLF. `info` is serialised with
 * JSON.stringify (key order = insertion order) unless already a string.
 */
export function encodeInfo(info: object | string): Buffer {
  const json = typeof info === 'string' ? info : JSON.stringify(info);
  return Buffer.from(`INFO ${json} \r\n`, 'utf8');
}

/** Number of decimal digits of a non-negative integer. */
export function decimalLength(n: number): number {
  if (n < 10) return 1;
  if (n < 100) return 2;
  if (n < 1000) return 3;
  if (n < 10000) return 4;
  if (n < 100000) return 5;
  if (n < 1000000) return 6;
  if (n < 10000000) return 7;
  if (n < 100000000) return 8;
  if (n < 1000000000) return 9;
  return String(n).length;
}

/** Writes a non-negative integer in decimal at `off`; returns the bytes written. */
export function writeDecimal(out: Buffer, off: number, n: number): number {
  // Wire sizes have at most 9 digits; anything above 31 bits takes the slow, general way.
  if (n > 0x7fffffff) return out.write(String(n), off, 'latin1');
  if (n < 10) {
    out[off] = 48 + n;
    return 1;
  }
  const len = decimalLength(n);
  let k = off + len - 1;
  // Integer division (`| 0`) compiles to a multiply and shift; Math.floor(n / 10) does not.
  do {
    const q = (n / 10) | 0;
    out[k--] = 48 + n - q * 10;
    n = q;
  } while (n > 0);
  return len;
}

/**
 * Writes a latin1-domain string (subject, sid, reply) at `off`, one byte per char; returns the
 * bytes written. A char loop: for the lengths of subjects and inboxes it is several times cheaper
 * than Buffer#write's native call (≈ 300 ns).
 */
export function writeLatin1(out: Buffer, off: number, s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) out[off + i] = s.charCodeAt(i);
  return n;
}

/**
 * Exact length of the delivery line: `MSG <subject> <sid> [reply] <size>\r\n` when `hdr < 0`,
 * else `HMSG <subject> <sid> [reply] <hdr> <size>\r\n` (`size` is then the total).
 */
export function deliveryLineLength(subject: string, sid: string, reply: string | undefined, hdr: number, size: number): number {
  const replyLen = reply === undefined || reply.length === 0 ? 0 : reply.length + 1;
  const hdrLen = hdr < 0 ? 0 : 1 + decimalLength(hdr) + 1;
  return 4 + hdrLen + subject.length + 1 + sid.length + 1 + replyLen + decimalLength(size) + 2;
}

/**
 * Writes the delivery line (see deliveryLineLength) at `off`; the caller ensures room. Returns the
 * bytes written. An empty-string reply is treated as none.
 */
export function writeDeliveryLine(
  out: Buffer,
  off: number,
  subject: string,
  sid: string,
  reply: string | undefined,
  hdr: number,
  size: number,
): number {
  let k = off;
  if (hdr >= 0) out[k++] = 0x48; // H
  out[k++] = 0x4d; // M
  out[k++] = 0x53; // S
  out[k++] = 0x47; // G
  out[k++] = 0x20;
  k += writeLatin1(out, k, subject);
  out[k++] = 0x20;
  k += writeLatin1(out, k, sid);
  out[k++] = 0x20;
  if (reply !== undefined && reply.length > 0) {
    k += writeLatin1(out, k, reply);
    out[k++] = 0x20;
  }
  if (hdr >= 0) {
    k += writeDecimal(out, k, hdr);
    out[k++] = 0x20;
  }
  k += writeDecimal(out, k, size);
  out[k++] = 13;
  out[k++] = 10;
  return k - off;
}

/** Exact length of `MSG <subject> <sid> [reply] <size>\r\n`. */
export function msgHeaderLength(subject: string, sid: string, reply: string | undefined, size: number): number {
  return deliveryLineLength(subject, sid, reply, -1, size);
}

/** Writes `MSG <subject> <sid> [reply] <size>\r\n` at `off`; returns the bytes written. */
export function writeMsgHeader(out: Buffer, off: number, subject: string, sid: string, reply: string | undefined, size: number): number {
  return writeDeliveryLine(out, off, subject, sid, reply, -1, size);
}

/** Exact length of `HMSG <subject> <sid> [reply] <hdr> <total>\r\n`. */
export function hmsgHeaderLength(subject: string, sid: string, reply: string | undefined, hdr: number, total: number): number {
  return deliveryLineLength(subject, sid, reply, hdr, total);
}

/** Writes `HMSG <subject> <sid> [reply] <hdr> <total>\r\n` at `off`; returns the bytes written. */
export function writeHmsgHeader(
  out: Buffer,
  off: number,
  subject: string,
  sid: string,
  reply: string | undefined,
  hdr: number,
  total: number,
): number {
  return writeDeliveryLine(out, off, subject, sid, reply, hdr, total);
}

/** Allocating form of writeMsgHeader. */
export function encodeMsgHeader(subject: string, sid: string, reply: string | undefined, size: number): Buffer {
  const out = Buffer.allocUnsafe(msgHeaderLength(subject, sid, reply, size));
  writeMsgHeader(out, 0, subject, sid, reply, size);
  return out;
}

/** Allocating form of writeHmsgHeader. */
export function encodeHmsgHeader(
  subject: string,
  sid: string,
  reply: string | undefined,
  hdr: number,
  total: number,
): Buffer {
  const out = Buffer.allocUnsafe(hmsgHeaderLength(subject, sid, reply, hdr, total));
  writeHmsgHeader(out, 0, subject, sid, reply, hdr, total);
  return out;
}

/**
 * The whole no-responders frame for the requester's reply subscription:
 * `HMSG <reply> <sid> 16 16\r\nNATS/1.0 503\r\n\r\n\r\n` (nats-server 2.9.10 sends no reply-to).
 */
export function encodeNoResponders(replySubject: string, sid: string): Buffer {
  const n = NO_RESPONDERS_HDR.length;
  const head = hmsgHeaderLength(replySubject, sid, undefined, n, n);
  const out = Buffer.allocUnsafe(head + n + 2);
  let k = writeHmsgHeader(out, 0, replySubject, sid, undefined, n, n);
  k += NO_RESPONDERS_HDR.copy(out, k);
  out[k++] = 13;
  out[k++] = 10;
  return out;
}

/**
 * The part of an HPUB payload a subscriber without header support receives (nats-server sends it a
 * plain `MSG ... <total - hdr>` with the headers cut off). A view, no copy. `headerSize < 0` (a PUB)
 * returns the payload itself.
 */
export function stripHeaders(payload: Buffer, headerSize: number): Buffer {
  return headerSize <= 0 ? payload : payload.subarray(headerSize);
}
