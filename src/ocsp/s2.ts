// The S2 stream framing (github.com/klauspost/compress/s2) that nats-server uses for the `resp`
// field of its OCSP peer cache file (`cache.json`). Writing produces a valid S2 stream of
// *uncompressed* chunks (an OCSP response barely compresses; nats-server reads it like any other
// S2 stream). Reading accepts uncompressed and compressed chunks (Snappy block format plus S2's
// repeat-offset copies) and Snappy streams. Every length is bounded; malformed input throws.

const S2_MAGIC = Buffer.from('S2sTwO', 'latin1');
const SNAPPY_MAGIC = Buffer.from('sNaPpY', 'latin1');
const CHUNK_COMPRESSED = 0x00;
const CHUNK_UNCOMPRESSED = 0x01;
const CHUNK_PADDING = 0xfe;
const CHUNK_STREAM_ID = 0xff;
/** S2's largest block (4 MiB); far above any OCSP response. */
const MAX_BLOCK = 4 << 20;

let table: Uint32Array | undefined;
function crcTable(): Uint32Array {
  if (table) return table;
  table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
}

/** CRC-32C (Castagnoli). */
export function crc32c(data: Uint8Array): number {
  const t = crcTable();
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The masked checksum Snappy/S2 frames carry. */
function maskedCrc(data: Uint8Array): number {
  const c = crc32c(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/**
 * An S2 stream holding `data` in uncompressed chunks; with `snappy`, the Snappy framing format's
 * stream identifier instead (what nats-server's system API answers with `Content-Encoding: snappy`
 * are: Go's S2 reader and any Snappy framing reader accept both).
 */
export function s2Encode(data: Uint8Array, snappy = false): Buffer {
  const parts: Buffer[] = [Buffer.from([CHUNK_STREAM_ID, 6, 0, 0]), snappy ? SNAPPY_MAGIC : S2_MAGIC];
  for (let off = 0; off < data.length || (off === 0 && data.length === 0); ) {
    const piece = data.subarray(off, Math.min(data.length, off + (1 << 16)));
    const head = Buffer.alloc(8);
    const len = piece.length + 4;
    head[0] = CHUNK_UNCOMPRESSED;
    head[1] = len & 0xff;
    head[2] = (len >> 8) & 0xff;
    head[3] = (len >> 16) & 0xff;
    head.writeUInt32LE(maskedCrc(piece), 4);
    parts.push(head, Buffer.from(piece));
    off += piece.length;
    if (data.length === 0) break;
  }
  return Buffer.concat(parts);
}

/** Decodes an S2 (or Snappy) stream. `maxBytes` bounds the output. */
export function s2Decode(stream: Uint8Array, maxBytes = MAX_BLOCK): Buffer {
  const out: Buffer[] = [];
  let total = 0;
  let pos = 0;
  let sawId = false;
  while (pos < stream.length) {
    if (pos + 4 > stream.length) throw new Error('s2: truncated chunk header');
    const type = stream[pos]!;
    const len = stream[pos + 1]! | (stream[pos + 2]! << 8) | (stream[pos + 3]! << 16);
    pos += 4;
    if (pos + len > stream.length) throw new Error('s2: truncated chunk');
    const body = stream.subarray(pos, pos + len);
    pos += len;
    if (type === CHUNK_STREAM_ID) {
      if (len !== 6 || !(Buffer.from(body).equals(S2_MAGIC) || Buffer.from(body).equals(SNAPPY_MAGIC))) {
        throw new Error('s2: bad stream identifier');
      }
      sawId = true;
      continue;
    }
    if (!sawId) throw new Error('s2: missing stream identifier');
    if (type === CHUNK_COMPRESSED || type === CHUNK_UNCOMPRESSED) {
      if (len < 4) throw new Error('s2: chunk too short');
      const want = body[0]! | (body[1]! << 8) | (body[2]! << 16) | (body[3]! * 0x1000000);
      const data = type === CHUNK_UNCOMPRESSED ? Buffer.from(body.subarray(4)) : decodeBlock(body.subarray(4), maxBytes - total);
      if (maskedCrc(data) !== want >>> 0) throw new Error('s2: checksum mismatch');
      total += data.length;
      if (total > maxBytes) throw new Error('s2: decoded data too large');
      out.push(data);
      continue;
    }
    if (type >= 0x02 && type <= 0x7f) throw new Error(`s2: unsupported chunk type 0x${type.toString(16)}`);
    // 0x80-0xfd skippable, 0xfe padding: ignored.
    void CHUNK_PADDING;
  }
  return Buffer.concat(out, total);
}

/** One S2 block: uvarint length, then literals and copies (Snappy + S2 repeat offsets). */
function decodeBlock(src: Uint8Array, maxBytes: number): Buffer {
  let s = 0;
  let n = 0;
  let shift = 0;
  for (;;) {
    if (s >= src.length || shift > 28) throw new Error('s2: bad block length');
    const b = src[s++]!;
    n += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
    shift += 7;
  }
  if (n > MAX_BLOCK || n > maxBytes) throw new Error('s2: block too large');
  const dst = Buffer.alloc(n);
  let d = 0;
  let offset = 0;
  const need = (k: number): void => {
    if (s + k > src.length) throw new Error('s2: corrupt block');
  };
  while (s < src.length) {
    const tag = src[s]!;
    let length: number;
    switch (tag & 3) {
      case 0: {
        let x = tag >> 2;
        s++;
        if (x >= 60) {
          const extra = x - 59;
          need(extra);
          x = 0;
          for (let i = 0; i < extra; i++) x += src[s + i]! * 2 ** (8 * i);
          s += extra;
        }
        length = x + 1;
        need(length);
        if (d + length > n) throw new Error('s2: corrupt block');
        dst.set(src.subarray(s, s + length), d);
        d += length;
        s += length;
        continue;
      }
      case 1: {
        need(2);
        const toffset = ((tag & 0xe0) << 3) | src[s + 1]!;
        length = (tag >> 2) & 7;
        s += 2;
        if (toffset === 0) {
          if (length === 5) {
            need(1);
            length = src[s]! + 4;
            s += 1;
          } else if (length === 6) {
            need(2);
            length = (src[s]! | (src[s + 1]! << 8)) + (1 << 8);
            s += 2;
          } else if (length === 7) {
            need(3);
            length = (src[s]! | (src[s + 1]! << 8) | (src[s + 2]! << 16)) + (1 << 16);
            s += 3;
          }
        } else offset = toffset;
        length += 4;
        break;
      }
      case 2:
        need(3);
        length = 1 + (tag >> 2);
        offset = src[s + 1]! | (src[s + 2]! << 8);
        s += 3;
        break;
      default:
        need(5);
        length = 1 + (tag >> 2);
        offset = (src[s + 1]! | (src[s + 2]! << 8) | (src[s + 3]! << 16) | (src[s + 4]! << 24)) >>> 0;
        s += 5;
    }
    if (offset <= 0 || offset > d || d + length > n) throw new Error('s2: corrupt block');
    for (let i = 0; i < length; i++, d++) dst[d] = dst[d - offset]!;
  }
  if (d !== n) throw new Error('s2: corrupt block (short)');
  return dst;
}
