// The connection core shared by every protocol kind (client, route, leaf node): the socket, the
// outbound chunk list with its corked writev flush, pending-bytes accounting, the fast-producer
// stall gate (as producer and as consumer), the write deadline and the close-time bookkeeping of
// all of these. The kinds (src/server/client.ts, route.ts, leaf.ts) extend it and add their
// protocol: parsing, what they write into the chunk, ping/auth timers, subscriptions.
//
// Outbound: a connection writes protocol bytes straight into its current chunk (reserve(n), then
// write at chunkOff and advance it, adding to `queued`); payloads above COPY_MAX are queued by
// reference (queueRef). flushOut() seals the chunk and hands the list to the socket in one write
// or one corked writev. Busy connections take pooled 64 KiB chunks; quiet ones small slab buffers.
//
// Flow control (nats-server's): a consumer whose pending bytes pass 75 % of max_pending stalls the
// producer that delivers to it (its reading pauses) until the consumer drains, for at most
// nats-server's stall duration (100 ms, growing to 1 s near max_pending). The write deadline is
// armed while the socket has more buffered than it wants; a socket that wrote nothing for
// write_deadline is handed to the kind's writeDeadlineExceeded() (which closes it).

import type { Socket } from 'node:net';
import { goDuration } from '../monitor/format.js';

/** Outbound chunk sizes (like nats-server's 512 B / 4 KiB / 64 KiB pools). */
export const MIN_CHUNK = 512;
export const MAX_CHUNK = 64 * 1024;
/** Chunks bigger than this are MAX_CHUNK buffers from the pool (smaller ones come from Node's 8 KiB slab). */
const POOL_MIN = 4096;
/** Pooled chunks kept for reuse (4 MiB). */
const POOL_MAX = 64;
/** Payloads up to this size are copied into the outbound chunk; larger ones are queued by reference. */
export const COPY_MAX = 4096;
/** Producers are stalled while a consumer's pending bytes are above this share of max_pending. */
export const STALL_SHARE = 0.75;
/** nats-server 2.9's stallClientMinDuration / stallClientMaxDuration. */
const STALL_MIN_MS = 100;
const STALL_MAX_MS = 1000;
const CRLF_BYTES = Buffer.from('\r\n', 'latin1');

/**
 * The connection a message comes from, as a consumer sees it: a client, a route or a leaf node. A
 * consumer that falls behind pauses its producer (the stall gate).
 */
export interface Producer {
  readonly parser: { readonly chunksReused: boolean };
  stall: Stall | null;
  stallCount: number;
  updateReading(): void;
  stallEnded(st: Stall): void;
  debug(msg: string): void;
}

/**
 * A producer paused by the stall gate: its socket reading stays paused until every consumer it
 * waits for has drained, or until the stall duration has passed.
 */
export class Stall {
  readonly producer: Producer;
  private waits = 0;
  private ended = false;
  private readonly timer: NodeJS.Timeout;

  constructor(producer: Producer, ttlMs: number) {
    this.producer = producer;
    this.timer = setTimeout(() => this.expire(ttlMs), ttlMs);
  }

  get active(): boolean {
    return !this.ended;
  }

  /** One more consumer to wait for. */
  waitFor(): void {
    this.waits++;
  }

  /** A consumer it waited for has drained (or closed). */
  release(): void {
    if (--this.waits <= 0) this.end();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    this.producer.stallEnded(this);
  }

  private expire(ttlMs: number): void {
    if (this.ended) return;
    this.producer.debug(`Timed out of fast producer stall (${goDuration(ttlMs * 1e6)})`);
    this.end();
  }
}

/**
 * How long a producer waits for a consumer with `pending` of `maxPending` bytes queued
 * (nats-server 2.9's stallDuration: 100 ms, plus 100 ms per 10 % of max_pending/2 above half, 1 s
 * at or above max_pending).
 */
export function stallDuration(pending: number, maxPending: number): number {
  if (pending >= maxPending) return STALL_MAX_MS;
  let ttl = STALL_MIN_MS;
  const half = Math.floor(maxPending / 2);
  if (pending > half) ttl += STALL_MIN_MS * Math.floor((pending - half) / Math.max(1, Math.floor(half / 10)));
  return ttl;
}

/**
 * A reusable MAX_CHUNK outbound buffer (nats-server pools its 64 KiB buffers the same way). A busy
 * connection takes one for a flush cycle, writes slices of it, and drops it at the end of the
 * flush; it goes back to the pool when the socket has completed every write that referenced it
 * (the write callbacks), so reuse never overwrites bytes still waiting to be written.
 */
class PooledChunk {
  readonly buf = Buffer.allocUnsafeSlow(MAX_CHUNK);
  /** Writes in flight referencing it, plus one while it is a connection's current chunk. */
  refs = 0;
  readonly release = (): void => {
    if (--this.refs === 0 && chunkPool.length < POOL_MAX) chunkPool.push(this);
  };
}
const chunkPool: PooledChunk[] = [];

export abstract class ConnCore implements Producer {
  /** The socket carrying protocol data (a TLS socket after an upgrade, a websocket adapter...). */
  socket: Socket;

  // Outbound
  protected chunk: Buffer | null = null;
  protected chunkStart = 0;
  /** The pool entry of the current chunk, when it is pooled. */
  private pooled: PooledChunk | null = null;
  protected chunkOff = 0;
  protected outList: Buffer[] = [];
  /** Write callbacks, parallel to outList (a pooled chunk's release, or undefined). */
  protected outDone: Array<(() => void) | undefined> = [];
  /** Bytes queued here and not yet handed to the socket. */
  protected queued = 0;
  private lastFlush = 0;
  /** Bytes handed to the socket so far (minus its writableLength: bytes the socket has written). */
  protected written = 0;
  private scheduled = false;

  // Write deadline
  protected wdTimer: NodeJS.Timeout | null = null;
  /** Bytes the socket had written when the write-deadline timer was armed. */
  private wdMark = 0;

  // Flow control
  /** As a producer: the stall pausing this connection's reading, if any. */
  stall: Stall | null = null;
  /** How many times this connection was stalled as a producer. */
  stallCount = 0;
  /** As a consumer: stalls waiting for this connection to drain. */
  private stalled: Stall[] | null = null;

  constructor(socket: Socket) {
    this.socket = socket;
  }

  abstract readonly parser: { readonly chunksReused: boolean };
  abstract debug(msg: string): void;
  /** Pauses or resumes reading (stalled, or a kind's own reasons). */
  abstract updateReading(): void;
  abstract get isClosed(): boolean;
  /** The write deadline in ms (<= 0: none). */
  protected abstract get writeDeadlineMs(): number;
  /** The socket wrote nothing for the write deadline: log and close. */
  protected abstract writeDeadlineExceeded(): void;

  // -------------------------------------------------------------------------------------------
  // Outbound buffer

  /** Makes room for `n` bytes in the current chunk; returns the chunk (write at chunkOff). */
  protected reserve(n: number): Buffer {
    const c = this.chunk;
    if (c !== null && c.length - this.chunkOff >= n) return c;
    return this.newChunk(n);
  }

  /** reserve()'s slow path, kept out of line so that the hot path stays small enough to inline. */
  private newChunk(n: number): Buffer {
    this.sealChunk();
    this.dropChunk();
    // Sized by the previous flush: small for quiet connections, a pooled 64 KiB chunk for busy ones.
    let size = this.lastFlush * 2;
    if (size < MIN_CHUNK) size = MIN_CHUNK;
    if (size < n) size = n;
    let nc: Buffer;
    if (size > POOL_MIN && n <= MAX_CHUNK) {
      const pc = chunkPool.pop() ?? new PooledChunk();
      pc.refs = 1;
      this.pooled = pc;
      nc = pc.buf;
    } else {
      nc = Buffer.allocUnsafe(size);
    }
    this.chunk = nc;
    this.chunkStart = 0;
    this.chunkOff = 0;
    return nc;
  }

  /** Moves the filled, unflushed part of the current chunk to the out list. */
  protected sealChunk(): void {
    if (this.chunk !== null && this.chunkOff > this.chunkStart) {
      this.outList.push(this.chunk.subarray(this.chunkStart, this.chunkOff));
      const pc = this.pooled;
      if (pc !== null) {
        pc.refs++;
        this.outDone.push(pc.release);
      } else {
        this.outDone.push(undefined);
      }
      this.chunkStart = this.chunkOff;
    }
  }

  /** Lets go of the current chunk (a pooled one returns to the pool once its writes complete). */
  protected dropChunk(): void {
    if (this.pooled !== null) {
      this.pooled.release();
      this.pooled = null;
    }
    this.chunk = null;
  }

  /** Discards everything queued (closed or unwritable socket). */
  protected discardQueued(): void {
    this.outList.length = 0;
    this.outDone.length = 0;
    this.queued = 0;
    this.chunkStart = this.chunkOff;
  }

  /** Ends a chunk write started at chunkOff: the bytes up to `k` are queued. */
  protected commit(k: number): void {
    this.queued += k - this.chunkOff;
    this.chunkOff = k;
  }

  /** Queues a large payload by reference (then CRLF), after what is in the chunk. */
  protected queueRef(body: Buffer): void {
    this.sealChunk();
    this.outList.push(body, CRLF_BYTES);
    this.outDone.push(undefined, undefined);
    this.queued += body.length + 2;
  }

  /** Copies `b` into the chunk. */
  protected enqueueBytes(b: Buffer): void {
    const n = b.length;
    const buf = this.reserve(n);
    buf.set(b, this.chunkOff);
    this.chunkOff += n;
    this.queued += n;
  }

  /** Writes latin1 text into the chunk. */
  protected enqueueText(s: string): void {
    const len = Buffer.byteLength(s, 'latin1');
    const buf = this.reserve(len);
    this.commit(this.chunkOff + buf.write(s, this.chunkOff, len, 'latin1'));
  }

  /** Bytes waiting to be written (queued here + buffered in the socket). */
  get pendingBytes(): number {
    return this.queued + (this.socket.writableLength ?? 0);
  }

  /** Flushes on the next tick (routes and leafs; clients are flushed by the server's pending list). */
  protected scheduleFlush(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    process.nextTick(this.flushTick);
  }

  private readonly flushTick = (): void => {
    this.scheduled = false;
    this.flushOut();
  };

  /**
   * Writes everything queued, in one batch (one write, or one corked writev); returns the bytes
   * written (0: nothing, or the socket is gone and the queue was discarded).
   */
  protected flushOut(): number {
    if (this.queued === 0) return 0;
    const sock = this.socket;
    if (sock.destroyed || !sock.writable) {
      this.discardQueued();
      return 0;
    }
    this.sealChunk();
    const list = this.outList;
    const done = this.outDone;
    const bytes = this.queued;
    if (list.length === 1) {
      sock.write(list[0]!, done[0]);
    } else {
      sock.cork();
      for (let i = 0; i < list.length; i++) sock.write(list[i]!, done[i]);
      sock.uncork();
    }
    list.length = 0;
    done.length = 0;
    this.queued = 0;
    this.written += bytes;
    this.lastFlush = bytes;
    // A pooled chunk goes back after every flush (no idle connection holds 64 KiB); a small one is
    // kept for the next flush unless nearly full.
    if (this.pooled !== null || (this.chunk !== null && this.chunk.length - this.chunkOff < 64)) this.dropChunk();
    if (sock.writableNeedDrain) this.armWriteDeadline();
    else if (this.stalled !== null) this.releaseStalled(); // the socket took it all: caught up
    return bytes;
  }

  /** The socket's 'drain': the write deadline is off, producers waiting for us go on. */
  protected onDrain(): void {
    if (this.wdTimer !== null) {
      clearTimeout(this.wdTimer);
      this.wdTimer = null;
    }
    this.releaseStalled();
  }

  // -------------------------------------------------------------------------------------------
  // Write deadline

  /**
   * Armed while the socket has more buffered than it wants (write() returned false), cleared on
   * 'drain'. When it fires, a socket that wrote nothing since it was armed is closed as a slow
   * consumer; one that made progress (slow but reading) gets another period.
   */
  private armWriteDeadline(): void {
    if (this.wdTimer !== null || this.isClosed) return;
    const dl = this.writeDeadlineMs;
    if (dl <= 0) return;
    this.wdMark = this.written - this.socket.writableLength;
    this.wdTimer = setTimeout(() => this.writeDeadlineTick(), dl);
  }

  private writeDeadlineTick(): void {
    this.wdTimer = null;
    if (this.isClosed) return;
    const sock = this.socket;
    if (!sock.writableNeedDrain) return;
    if (this.written - sock.writableLength > this.wdMark) {
      this.armWriteDeadline();
      return;
    }
    this.writeDeadlineExceeded();
  }

  // -------------------------------------------------------------------------------------------
  // Flow control: the fast-producer stall

  /**
   * This consumer is above the stall threshold while `producer` delivers to it: pause the
   * producer's reading until this connection drains (or the stall duration passes). The rest of the
   * producer's current read is still processed; reading stops after it.
   */
  protected stallProducer(producer: Producer, pending: number, maxPending: number): void {
    let st = producer.stall;
    let list = this.stalled;
    if (st !== null && list !== null && list.includes(st)) return;
    if (st === null) {
      st = new Stall(producer, stallDuration(pending, maxPending));
      producer.stall = st;
      producer.stallCount++;
      producer.updateReading();
    }
    st.waitFor();
    if (list === null) {
      list = this.stalled = [];
    } else if (list.length >= 8) {
      // Drop stalls that already ended (timed out) so a stuck consumer's list stays short.
      this.stalled = list = list.filter((s) => s.active);
    }
    list.push(st);
  }

  /** Lets every producer waiting for this consumer go on (it drained, or closed). */
  protected releaseStalled(): void {
    const list = this.stalled;
    if (list === null) return;
    this.stalled = null;
    for (let i = 0; i < list.length; i++) list[i]!.release();
  }

  /** Called by a Stall when it ends (all its consumers drained, or timeout). */
  stallEnded(st: Stall): void {
    if (this.stall !== st) return;
    this.stall = null;
    this.updateReading();
  }

  /** True while this connection's reading is paused by the stall gate (for tests and monitoring). */
  get isStalled(): boolean {
    return this.stall !== null;
  }

  // -------------------------------------------------------------------------------------------
  // Close

  /**
   * Close-time bookkeeping: the write deadline stops, producers waiting for us go on, our own stall
   * ends; what is queued is written (unless `discard`) and then dropped.
   */
  protected closeOutbound(discard: boolean): void {
    if (this.wdTimer !== null) {
      clearTimeout(this.wdTimer);
      this.wdTimer = null;
    }
    this.releaseStalled();
    if (this.stall !== null) this.stall.end();
    const sock = this.socket;
    if (!discard && this.queued > 0 && !sock.destroyed && sock.writable) {
      try {
        this.sealChunk();
        const list = this.outList;
        const done = this.outDone;
        sock.cork();
        for (let i = 0; i < list.length; i++) sock.write(list[i]!, done[i]);
        sock.uncork();
        this.outList = [];
        this.outDone = [];
      } catch {
        // the socket went away while closing
      }
    }
    this.discardQueued();
    this.dropChunk();
  }
}
