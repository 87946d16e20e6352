// A server-to-server connection kind (route, leaf) on the connection core: log lines behind the
// connection's prefix (`ip:port - rid:N - ` / `lid:N`), and the PING keepalive with stale
// detection and RTT, which both kinds run as nats-server does (first PING after about 1 s, then
// every ping_interval; closed after ping_max unanswered).

import type { Logger } from '../logger.js';
import { decimalLength, writeDecimal, writeLatin1 } from '../../protocol/encode.js';
import { COPY_MAX, ConnCore } from './core.js';

const PING_FRAME = Buffer.from('PING\r\n');

export abstract class ServerLink extends ConnCore {
  closed = false;
  /** Round trip of the last answered PING, in ns (/routez, /leafz `rtt`). */
  rttNs = 0;
  // Counters (/routez, /leafz).
  inMsgs = 0;
  outMsgs = 0;
  inBytes = 0;
  outBytes = 0;
  /** The peer negotiated headers (else a message's header block is dropped when sent to it). */
  headers = false;
  /** Set by the kind's constructor. */
  protected prefix = '';
  // `RMSG <acc> <subject> ` / `LMSG <subject> ` of the last message sent (a run of messages to one
  // subject reuses it).
  private lastSubject = '';
  private lastAccount: string | null = null;
  private lastHead: Buffer | null = null;
  private pingStart = 0;
  private pingsOut = 0;
  private pingTimer: NodeJS.Timeout | null = null;

  protected abstract get log(): Logger;
  protected abstract get pingOptions(): { readonly pingIntervalMs: number; readonly pingMax: number };
  /** ping_max PINGs went unanswered: the kind's log line, `-ERR` and close reason. */
  protected abstract closeStale(): void;

  get isClosed(): boolean {
    return this.closed;
  }

  debug(msg: string): void {
    const l = this.log;
    if (l.debugEnabled) l.debug(this.prefix + msg);
  }
  notice(msg: string): void {
    this.log.notice(this.prefix + msg);
  }
  warn(msg: string): void {
    this.log.warn(this.prefix + msg);
  }
  error(msg: string): void {
    this.log.error(this.prefix + msg);
  }
  protected trace(dir: '<<-' | '->>', op: string): void {
    this.log.trace(`${this.prefix}${dir} [${op}]`);
  }

  protected enqueue(b: Buffer): void {
    this.enqueueBytes(b);
  }

  flushNow(): void {
    this.flushOut();
  }

  /**
   * Writes one message to the peer: `RMSG <account> <subject>` (routes) or `LMSG <subject>` (leafs,
   * `account` null), `HMSG` with headers, then `+ <reply> <queues...>` / `| <queues...>` or the
   * reply, the sizes and the payload (copied when small, else queued by reference, copied first when
   * `copyLarge`: its reader reuses the buffer). Returns the payload size written.
   */
  protected writeMsg(
    account: string | null,
    subject: string,
    reply: string | undefined,
    queues: string[] | null,
    headerSize: number,
    data: Buffer,
    start: number,
    end: number,
    copyLarge: boolean,
  ): number {
    let from = start;
    let hdr = headerSize;
    if (hdr >= 0 && !this.headers) {
      from += hdr;
      hdr = -1;
    }
    const size = end - from;
    let head = this.lastHead;
    if (head === null || subject !== this.lastSubject || account !== this.lastAccount) {
      head = this.lastHead = Buffer.from(account !== null ? `RMSG ${account} ${subject} ` : `LMSG ${subject} `, 'latin1');
      this.lastSubject = subject;
      this.lastAccount = account;
    }
    const withQueues = queues !== null && queues.length > 0;
    let n = head.length;
    if (withQueues) {
      n += reply !== undefined ? 2 + reply.length + 1 : 2;
      for (const q of queues) n += q.length + 1;
    } else if (reply !== undefined) n += reply.length + 1;
    if (hdr >= 0) n += decimalLength(hdr) + 1;
    n += decimalLength(size) + 2;
    const copy = size <= COPY_MAX;
    const buf = this.reserve(copy ? n + size + 2 : n);
    let k = this.chunkOff;
    buf.set(head, k);
    if (hdr >= 0) buf[k] = 0x48; // HMSG
    k += head.length;
    if (withQueues) {
      if (reply !== undefined) {
        buf[k++] = 0x2b; // +
        buf[k++] = 0x20;
        k += writeLatin1(buf, k, reply);
        buf[k++] = 0x20;
      } else {
        buf[k++] = 0x7c; // |
        buf[k++] = 0x20;
      }
      for (const q of queues) {
        k += writeLatin1(buf, k, q);
        buf[k++] = 0x20;
      }
    } else if (reply !== undefined) {
      k += writeLatin1(buf, k, reply);
      buf[k++] = 0x20;
    }
    if (hdr >= 0) {
      k += writeDecimal(buf, k, hdr);
      buf[k++] = 0x20;
    }
    k += writeDecimal(buf, k, size);
    buf[k++] = 13;
    buf[k++] = 10;
    if (copy) {
      if (size <= 64) for (let i = from; i < end; i++) buf[k++] = data[i]!;
      else {
        buf.set(data.subarray(from, end), k);
        k += size;
      }
      buf[k++] = 13;
      buf[k++] = 10;
      this.commit(k);
    } else {
      this.commit(k);
      const body = data.subarray(from, end);
      this.queueRef(copyLarge ? Buffer.from(body) : body);
    }
    this.outMsgs++;
    this.outBytes += size;
    return size;
  }

  /** Starts the keepalive: the first PING after about 1 s (+ up to 20 %). */
  protected startPing(): void {
    this.armPing(1000 + Math.floor(Math.random() * 200));
  }

  /** Whether this tick sends a PING (routes skip it while traffic arrives). */
  protected pingDue(_intervalMs: number): boolean {
    return true;
  }

  /** A PONG arrived: nothing outstanding, and the RTT of our last PING. */
  protected gotPong(): void {
    this.pingsOut = 0;
    if (this.pingStart > 0) this.rttNs = Math.round((performance.now() - this.pingStart) * 1e6);
  }

  protected stopPing(): void {
    if (this.pingTimer !== null) clearTimeout(this.pingTimer);
    this.pingTimer = null;
  }

  private armPing(ms: number): void {
    this.stopPing();
    this.pingTimer = setTimeout(() => this.pingTick(), ms);
    this.pingTimer.unref?.();
  }

  private pingTick(): void {
    this.pingTimer = null;
    if (this.closed) return;
    const o = this.pingOptions;
    if (this.pingsOut + 1 > o.pingMax) {
      this.closeStale();
      return;
    }
    if (this.pingStart === 0 || this.pingDue(o.pingIntervalMs)) {
      this.pingsOut++;
      this.pingStart = performance.now();
      if (this.log.traceEnabled) this.trace('->>', 'PING');
      this.enqueue(PING_FRAME);
      this.flushNow();
    }
    this.armPing(o.pingIntervalMs);
  }
}
