// A server-to-server connection kind (route, leaf) on the connection core: log lines behind the
// connection's prefix (`ip:port - rid:N - ` / `lid:N`), and the PING keepalive with stale
// detection and RTT, which both kinds run as nats-server does (first PING after about 1 s, then
// every ping_interval; closed after ping_max unanswered).

import type { Logger } from '../logger.js';
import { ConnCore } from './core.js';

const PING_FRAME = Buffer.from('PING\r\n');

export abstract class ServerLink extends ConnCore {
  closed = false;
  /** Round trip of the last answered PING, in ns (/routez, /leafz `rtt`). */
  rttNs = 0;
  /** Set by the kind's constructor. */
  protected prefix = '';
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
