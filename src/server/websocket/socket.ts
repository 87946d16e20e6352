// A websocket connection seen as a socket: the Client (src/server/client.ts) runs the NATS client
// protocol on it unchanged. Reads deliver the decoded frame payloads as 'data'; a write batch
// (one write, or the writes between cork and uncork: one Client flush) goes out as one binary
// frame, as nats-server sends everything pending at a flush in one frame. Close frames follow
// nats-server's status table (websocket.go wsEnqueueCloseMessage).

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import {
  BROWSER_FRAME_SIZE,
  CLOSE_ABNORMAL,
  CLOSE_GOING_AWAY,
  CLOSE_INTERNAL_ERROR,
  CLOSE_INVALID_PAYLOAD,
  CLOSE_MESSAGE_TOO_BIG,
  CLOSE_NO_STATUS,
  CLOSE_NORMAL,
  CLOSE_POLICY_VIOLATION,
  CLOSE_PROTOCOL_ERROR,
  CLOSE_TLS_HANDSHAKE,
  closeFrame,
  COMPRESS_THRESHOLD,
  controlFrame,
  deflateMessage,
  frameHeader,
  isUtf8,
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  WsDecoder,
  WsFrameError,
} from './frames.js';

/** Close reasons (client.ts ClosedReason strings) → close status. */
const STATUS_BY_REASON: Record<string, number> = {
  'Client Closed': CLOSE_NORMAL,
  'Authentication Timeout': CLOSE_POLICY_VIOLATION,
  'Authentication Failure': CLOSE_POLICY_VIOLATION,
  'Slow Consumer (Pending Bytes)': CLOSE_POLICY_VIOLATION,
  'Slow Consumer (Write Deadline)': CLOSE_POLICY_VIOLATION,
  'Maximum Connections Exceeded': CLOSE_POLICY_VIOLATION,
  'Maximum Control Line Exceeded': CLOSE_POLICY_VIOLATION,
  'Maximum Subscriptions Exceeded': CLOSE_POLICY_VIOLATION,
  'TLS Handshake Failure': CLOSE_TLS_HANDSHAKE,
  'Parse Error': CLOSE_PROTOCOL_ERROR,
  'Protocol Violation': CLOSE_PROTOCOL_ERROR,
  'Bad Client Protocol Version': CLOSE_PROTOCOL_ERROR,
  'Maximum Message Payload Exceeded': CLOSE_MESSAGE_TOO_BIG,
  'Server Shutdown': CLOSE_GOING_AWAY,
  'Write Error': CLOSE_ABNORMAL,
  'Read Error': CLOSE_ABNORMAL,
  'Stale Connection': CLOSE_ABNORMAL,
};

/** Reasons for which nats-server skips the final flush, close frame included. */
const NO_CLOSE_FRAME = new Set(['Read Error', 'Write Error', 'Slow Consumer (Pending Bytes)', 'Slow Consumer (Write Deadline)', 'TLS Handshake Failure']);

export interface WsSocketOptions {
  compress: boolean;
  /** Frames from the client must be masked (false after `Nats-No-Masking: true`). */
  maskRequired: boolean;
  /**
   * A browser (UA `Mozilla/`): uncompressed output in FIN frames of at most 4096 bytes, compressed
   * output in 4096-byte fragments (one message), unless `noCompressedFragments` (Safari).
   */
  browser: boolean;
  noCompressedFragments: boolean;
  /** Bound for a compressed inbound message (inflated or not). */
  maxCompressed: number;
  /** Logs a framing violation (`read error: <text>`). */
  onFrameError: (text: string) => void;
}

type WriteCb = ((err?: Error | null) => void) | undefined;

export class WsSocket extends EventEmitter {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  /** The close reason of the connection on top (set by the listener: the Client's `reason`). */
  reasonOf: () => string = () => '';
  private readonly decoder: WsDecoder;
  private corked = 0;
  private batch: Buffer[] = [];
  private batchCbs: WriteCb[] = [];
  private batchLen = 0;
  private closing = false;

  constructor(
    readonly raw: Socket,
    private readonly opts: WsSocketOptions,
  ) {
    super();
    this.remoteAddress = raw.remoteAddress;
    this.remotePort = raw.remotePort;
    this.localAddress = raw.localAddress;
    this.localPort = raw.localPort;
    this.decoder = new WsDecoder(
      { data: (b) => this.emit('data', b), control: (op, p) => this.onControl(op, p) },
      { maskRequired: opts.maskRequired, maxCompressed: opts.maxCompressed },
    );
    raw.pause();
    raw.on('data', (d: Buffer) => this.onRaw(d));
    raw.on('drain', () => this.emit('drain'));
    raw.on('error', (e) => this.emit('error', e));
    raw.on('close', () => this.emit('close', false));
  }

  private onRaw(d: Buffer): void {
    try {
      this.decoder.push(d);
    } catch (e) {
      if (!(e instanceof WsFrameError)) throw e;
      this.decoder.halt();
      // nats-server queues a 1002 close frame with the text but skips the final flush on read
      // errors: the peer sees the TCP connection close. When the same read also decoded data,
      // nats-server drops the error (no log), parses that data and its close frame goes out.
      if (this.decoder.out.length > 0) {
        this.sendClose(CLOSE_PROTOCOL_ERROR, e.message);
        this.decoder.deliver();
      } else {
        this.opts.onFrameError(e.message);
        this.raw.destroy();
      }
      this.closing = true;
      this.emit('error', Object.assign(new Error(e.message), { code: 'EWSFRAME' }));
    }
  }

  private onControl(op: number, payload: Buffer): void {
    if (op === OP_PING) {
      if (!this.closing) this.raw.write(controlFrame(OP_PONG, Buffer.from(payload)));
      return;
    }
    if (op !== OP_CLOSE) return; // PONG: nothing to do
    let status = CLOSE_NO_STATUS;
    let body = '';
    if (payload.length >= 2) {
      status = payload.readUInt16BE(0);
      if (payload.length > 2) {
        const b = payload.subarray(2);
        if (isUtf8(b)) body = b.toString('utf8');
        else {
          status = CLOSE_INVALID_PAYLOAD;
          body = 'invalid utf8 body in close frame';
        }
      }
    }
    this.decoder.halt();
    if (this.closing) return;
    this.closing = true;
    // Echo, then close as `Client Closed` (the Client sees the socket close).
    this.raw.end(closeFrame(status, body));
  }

  // ---- the socket surface the Client uses ----------------------------------------------------

  setNoDelay(): this {
    return this;
  }

  get writableLength(): number {
    return this.raw.writableLength + this.batchLen;
  }

  get writableNeedDrain(): boolean {
    return this.raw.writableNeedDrain;
  }

  get destroyed(): boolean {
    return this.raw.destroyed;
  }

  get writable(): boolean {
    return !this.closing && this.raw.writable;
  }

  pause(): this {
    this.raw.pause();
    return this;
  }

  resume(): this {
    this.raw.resume();
    return this;
  }

  read(): null {
    return null;
  }

  cork(): void {
    this.corked++;
  }

  uncork(): void {
    if (this.corked > 0 && --this.corked === 0) this.sendBatch();
  }

  write(b: Buffer, cb?: WriteCb): boolean {
    if (this.closing) return false;
    this.batch.push(b);
    this.batchCbs.push(cb);
    this.batchLen += b.length;
    if (this.corked === 0) this.sendBatch();
    return !this.raw.writableNeedDrain;
  }

  /** Used by the server's max-connections refusal: the data, then a 1008 close frame. */
  end(b?: Buffer): this {
    if (b) this.write(b);
    this.sendClose(CLOSE_POLICY_VIOLATION, 'Maximum Connections Exceeded');
    return this;
  }

  /** Graceful close after pending data: the close frame nats-server sends for the reason. */
  destroySoon(): void {
    if (this.closing || this.raw.destroyed) return;
    const reason = this.reasonOf();
    if (NO_CLOSE_FRAME.has(reason)) {
      this.closing = true;
      this.raw.destroy();
      return;
    }
    this.sendClose(STATUS_BY_REASON[reason] ?? CLOSE_INTERNAL_ERROR, reason);
  }

  destroy(): this {
    this.closing = true;
    this.decoder.halt();
    this.raw.destroy();
    return this;
  }

  private sendClose(status: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.decoder.halt();
    this.raw.end(closeFrame(status, reason));
  }

  /** One flush of the Client: one frame (or 4096-byte frames for browsers), compressed if on. */
  private sendBatch(): void {
    const list = this.batch;
    const cbs = this.batchCbs;
    const len = this.batchLen;
    if (list.length === 0) return;
    this.batch = [];
    this.batchCbs = [];
    this.batchLen = 0;
    const raw = this.raw;
    if (this.opts.compress && len > COMPRESS_THRESHOLD) {
      const z = deflateMessage(list.length === 1 ? list[0]! : Buffer.concat(list, len));
      for (const cb of cbs) if (cb) cb();
      raw.cork();
      if (this.opts.browser && !this.opts.noCompressedFragments && z.length > BROWSER_FRAME_SIZE) {
        for (let off = 0; off < z.length; off += BROWSER_FRAME_SIZE) {
          const end = Math.min(off + BROWSER_FRAME_SIZE, z.length);
          raw.write(frameHeader(off === 0 ? OP_BINARY : OP_CONTINUATION, end - off, off === 0, end === z.length));
          raw.write(z.subarray(off, end));
        }
      } else {
        raw.write(frameHeader(OP_BINARY, z.length, true));
        raw.write(z);
      }
      raw.uncork();
      return;
    }
    if (this.opts.browser && len > BROWSER_FRAME_SIZE) {
      const all = Buffer.concat(list, len);
      for (const cb of cbs) if (cb) cb();
      raw.cork();
      for (let off = 0; off < len; off += BROWSER_FRAME_SIZE) {
        const part = all.subarray(off, Math.min(off + BROWSER_FRAME_SIZE, len));
        raw.write(frameHeader(OP_BINARY, part.length));
        raw.write(part);
      }
      raw.uncork();
      return;
    }
    raw.cork();
    raw.write(frameHeader(OP_BINARY, len));
    for (let i = 0; i < list.length; i++) raw.write(list[i]!, cbs[i]);
    raw.uncork();
  }
}
