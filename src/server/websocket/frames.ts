// RFC 6455 framing as nats-server 2.9.10 does it (websocket.go wsRead, wsCollapsePtoNB,
// wsEnqueueCloseMessage): a streaming decoder for client frames (payloads handed on as they
// arrive, unmasked in place, so the NATS parser sees the byte stream whatever the framing) and
// the encoder for server frames (always binary, never masked, one frame per flush).
//
// Hand-written rather than the `ws` package's Receiver/Sender: see docs/websocket.md ("Why the
// framing is hand-written").

import { constants as zc, deflateRawSync, inflateRawSync } from 'node:zlib';

export const OP_CONTINUATION = 0;
export const OP_TEXT = 1;
export const OP_BINARY = 2;
export const OP_CLOSE = 8;
export const OP_PING = 9;
export const OP_PONG = 10;

export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_NO_STATUS = 1005;
export const CLOSE_ABNORMAL = 1006;
export const CLOSE_INVALID_PAYLOAD = 1007;
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_MESSAGE_TOO_BIG = 1009;
export const CLOSE_INTERNAL_ERROR = 1011;
export const CLOSE_TLS_HANDSHAKE = 1015;

const MAX_CONTROL_PAYLOAD = 125;
/** Batches up to this size are sent uncompressed even when compression is on (nats-server). */
export const COMPRESS_THRESHOLD = 64;
/** Browser clients get FIN frames of at most this size (nats-server's wsFrameSizeForBrowsers). */
export const BROWSER_FRAME_SIZE = 4096;
const INFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff]);

/** A framing violation: the text nats-server logs after `read error: `. */
export class WsFrameError extends Error {}

export interface WsDecoderSink {
  /** Decoded NATS bytes (a view valid until the sink returns; may be kept, never reused). */
  data(b: Buffer): void;
  /** A complete control frame (PING, PONG, CLOSE), payload unmasked. */
  control(opcode: number, payload: Buffer): void;
}

export interface WsDecoderOptions {
  /** Client frames must be masked (false after `Nats-No-Masking: true`). */
  maskRequired: boolean;
  /** Upper bound of a compressed message, before and after inflating (bounded memory). */
  maxCompressed: number;
}

/**
 * Incremental frame decoder. `push` throws WsFrameError on a violation; the caller closes the
 * connection. Uncompressed payloads are streamed to the sink as each piece arrives (no frame size
 * limit, as nats-server: the NATS parser's max_payload/max_control_line bound the stream).
 */
export class WsDecoder {
  private readonly hdr = Buffer.alloc(14);
  private hdrLen = 0;
  /** Bytes of the current frame's payload still to come; -1 between frames. */
  private rem = -1;
  private opcode = 0;
  private masked = false;
  private readonly mkey = Buffer.alloc(4);
  private mpos = 0;
  /** No fragmented data message is open (the next data frame must be text/binary). */
  private finalSeen = true;
  /** The open data message is compressed (RSV1 on its first frame). */
  private compressed = false;
  private cparts: Buffer[] = [];
  private csize = 0;
  private ctrl: Buffer[] = [];
  private halted = false;
  /**
   * Payloads decoded from the current `push`, handed to the sink when the whole read is decoded
   * (as nats-server decodes a read before parsing it). After a WsFrameError: what the read had
   * decoded before the violation (see WsSocket's read error handling).
   */
  out: Buffer[] = [];

  constructor(
    private readonly sink: WsDecoderSink,
    private readonly opts: WsDecoderOptions,
  ) {}

  /** Stops decoding (connection closing): later pushes are ignored. */
  halt(): void {
    this.halted = true;
  }

  push(buf: Buffer): void {
    let pos = 0;
    const max = buf.length;
    this.out = [];
    while (pos < max && !this.halted) {
      if (this.rem < 0) {
        pos = this.readHeader(buf, pos);
        if (this.rem < 0) break; // header incomplete: the rest comes with the next read
        if (this.rem === 0) this.endOfFrame();
        continue;
      }
      let n = this.rem;
      if (n > max - pos) n = max - pos;
      const b = buf.subarray(pos, pos + n);
      pos += n;
      this.rem -= n;
      if (this.masked) this.unmask(b);
      if (this.opcode >= OP_CLOSE) this.ctrl.push(b);
      else if (this.compressed) {
        this.csize += n;
        if (this.csize > this.opts.maxCompressed) throw new WsFrameError('compressed message too large');
        this.cparts.push(Buffer.from(b));
      } else if (n > 0) this.out.push(b);
      if (this.rem === 0) this.endOfFrame();
    }
    this.deliver();
  }

  /** Hands the decoded payloads to the sink. */
  deliver(): void {
    const out = this.out;
    if (out.length === 0) return;
    this.out = [];
    for (let i = 0; i < out.length; i++) this.sink.data(out[i]!);
  }

  /** Reads (part of) a frame header; returns the new position. */
  private readHeader(buf: Buffer, pos: number): number {
    const h = this.hdr;
    // Bytes needed: 2, then the extended length and the mask key announced by the second byte.
    while (pos < buf.length) {
      const need = this.hdrLen < 2 ? 2 : this.headerSize();
      if (this.hdrLen >= need) break;
      h[this.hdrLen++] = buf[pos++]!;
      if (this.hdrLen === 2) this.checkFirstBytes();
    }
    if (this.hdrLen < 2 || this.hdrLen < this.headerSize()) return pos;
    const len7 = h[1]! & 0x7f;
    let off = 2;
    let rem = len7;
    if (len7 === 126) {
      rem = h.readUInt16BE(2);
      off = 4;
    } else if (len7 === 127) {
      const big = h.readBigUInt64BE(2);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new WsFrameError('frame length too large');
      rem = Number(big);
      off = 10;
    }
    if (this.masked) {
      h.copy(this.mkey, 0, off, off + 4);
      this.mpos = 0;
    }
    this.hdrLen = 0;
    this.rem = rem;
    if (this.opcode >= OP_CLOSE) this.ctrl = [];
    return pos;
  }

  private headerSize(): number {
    const len7 = this.hdr[1]! & 0x7f;
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (this.masked ? 4 : 0);
  }

  /** nats-server's checks on the first two bytes, in its order. */
  private checkFirstBytes(): void {
    const b0 = this.hdr[0]!;
    const b1 = this.hdr[1]!;
    const op = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0;
    this.masked = (b1 & 0x80) !== 0;
    if (this.opts.maskRequired && !this.masked) throw new WsFrameError('mask bit missing');
    const len7 = b1 & 0x7f;
    switch (op) {
      case OP_PING:
      case OP_PONG:
      case OP_CLOSE:
        if (len7 > MAX_CONTROL_PAYLOAD) throw new WsFrameError(`control frame length bigger than maximum allowed of ${MAX_CONTROL_PAYLOAD} bytes`);
        if (!fin) throw new WsFrameError('control frame does not have final bit set');
        break;
      case OP_TEXT:
      case OP_BINARY:
        if (!this.finalSeen) throw new WsFrameError('new message started before final frame for previous message was received');
        this.finalSeen = fin;
        this.compressed = rsv1;
        this.cparts = [];
        this.csize = 0;
        break;
      case OP_CONTINUATION:
        if (this.finalSeen || rsv1) throw new WsFrameError('invalid continuation frame');
        this.finalSeen = fin;
        break;
      default:
        throw new WsFrameError(`unknown opcode ${op}`);
    }
    this.opcode = op;
  }

  private unmask(b: Buffer): void {
    const k = this.mkey;
    const p = this.mpos;
    const n = b.length;
    let i = 0;
    // Word at a time when aligned on the key.
    if (p === 0 && n >= 8) {
      const kw = k.readInt32LE(0);
      const words = n >> 2;
      if ((b.byteOffset & 3) === 0) {
        const w = new Int32Array(b.buffer, b.byteOffset, words);
        for (let j = 0; j < words; j++) w[j]! ^= kw;
        i = words << 2;
      }
    }
    for (; i < n; i++) {
      b[i] = b[i]! ^ k[(p + i) & 3]!;
    }
    this.mpos = (p + n) & 3;
  }

  private endOfFrame(): void {
    this.rem = -1;
    if (this.opcode >= OP_CLOSE) {
      const parts = this.ctrl;
      this.ctrl = [];
      this.sink.control(this.opcode, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
      return;
    }
    if (this.compressed && this.finalSeen) {
      const parts = this.cparts;
      this.cparts = [];
      this.csize = 0;
      this.compressed = false;
      parts.push(INFLATE_TAIL);
      let out: Buffer;
      try {
        out = inflateRawSync(Buffer.concat(parts), { maxOutputLength: this.opts.maxCompressed });
      } catch (e) {
        throw new WsFrameError((e as Error).message);
      }
      if (out.length > 0) this.out.push(out);
    }
  }
}

/** A frame header for a server frame (FIN set, never masked). */
export function frameHeader(opcode: number, len: number, rsv1 = false, fin = true): Buffer {
  const b0 = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  let h: Buffer;
  if (len <= 125) {
    h = Buffer.allocUnsafe(2);
    h[1] = len;
  } else if (len < 65536) {
    h = Buffer.allocUnsafe(4);
    h[1] = 126;
    h.writeUInt16BE(len, 2);
  } else {
    h = Buffer.allocUnsafe(10);
    h[1] = 127;
    h.writeBigUInt64BE(BigInt(len), 2);
  }
  h[0] = b0;
  return h;
}

/** A control frame (close, ping, pong) with its payload. */
export function controlFrame(opcode: number, payload: Buffer): Buffer {
  return Buffer.concat([frameHeader(opcode, payload.length), payload]);
}

/** The close frame nats-server sends: status, then the reason cut to 120 bytes + "..." past 123. */
export function closeFrame(status: number, body: string): Buffer {
  let text = Buffer.from(body, 'utf8');
  if (text.length > MAX_CONTROL_PAYLOAD - 2) text = Buffer.concat([text.subarray(0, 120), Buffer.from('...')]);
  const p = Buffer.allocUnsafe(2 + text.length);
  p.writeUInt16BE(status, 0);
  text.copy(p, 2);
  return controlFrame(OP_CLOSE, p);
}

/** Deflates one outbound batch as nats-server does (BestSpeed, no context, sync-flush tail removed). */
export function deflateMessage(data: Buffer): Buffer {
  const out = deflateRawSync(data, { level: zc.Z_BEST_SPEED, finishFlush: zc.Z_SYNC_FLUSH });
  const n = out.length;
  if (n >= 4 && out[n - 4] === 0 && out[n - 3] === 0 && out[n - 2] === 0xff && out[n - 1] === 0xff) return out.subarray(0, n - 4);
  return out;
}

/** Is `b` valid UTF-8 (close frame reasons)? */
export function isUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}
