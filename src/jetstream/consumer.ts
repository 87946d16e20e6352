// A consumer: delivery state machine (push and pull), acks, redelivery, flow control, idle
// heartbeats, inactivity (nats-server 2.9.10 consumer.go).

import { consumerConfigJson, type ConsumerConfig } from './config.js';
import { appendHeaders, statusHeader, EMPTY } from './headers.js';
import { goDurationNs, goJson, nsToTime, timeToNs } from './json.js';
import type { InternalSub } from './port.js';
import type { Stream } from './stream.js';
import type { ConsumerState, ConsumerStore, StoredMsg } from './store/types.js';
import { subjectIsSubset, subjectMatches } from './subject.js';

interface Pending {
  dseq: number;
  /** delivery time, ms since the epoch (ns only when persisted) */
  ts: number;
  /** redelivery deadline (ms since epoch) */
  deadline: number;
}

interface PullRequest {
  reply: string;
  batch: number;
  maxBytes: number;
  bytesLeft: number;
  noWait: boolean;
  expiresAt: number;
  hbMs: number;
  delivered: number;
  timer?: NodeJS.Timeout;
  hbTimer?: NodeJS.Timeout;
  lastActivity: number;
}

const FC_MAX_WINDOW = 32 * 1024 * 1024;
/** Node timers overflow above 2^31-1 ms (they would fire at once): clamp. */
const MAX_DELAY = 2_147_483_647;
function delay(ms: number): number {
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 1), MAX_DELAY) : MAX_DELAY;
}

export class Consumer {
  // state
  /** next stream sequence to look at */
  sseq = 1;
  /** next delivery (consumer) sequence */
  dseq = 1;
  ackFloor = { consumerSeq: 0, streamSeq: 0 };
  readonly pending = new Map<number, Pending>();
  readonly redelivered = new Map<number, number>();
  private rdq: number[] = [];
  private readonly waiting: PullRequest[] = [];
  /** last_per_subject: sequences still to deliver before continuing at lpsResume */
  private lps: number[] = [];
  private lpsResume = 0;

  private ackSub: InternalSub | undefined;
  private fcSub: InternalSub | undefined;
  private nextSub: InternalSub | undefined;
  private ackTimer: NodeJS.Timeout | undefined;
  private ackTimerAt = 0;
  private hbTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private inactiveTimer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private closed = false;
  private lastActive = Date.now();
  private lastDeliveredAt = 0;
  /** ms since the epoch */
  private deliveredActive: number | undefined;
  private ackActive: number | undefined;
  // flow control
  private fcWindow = 2 * 1024 * 1024;
  private fcInFlight = 0;
  private fcPendingReply = '';
  private fcSentAt = 0;
  private readonly isPull: boolean;

  constructor(
    readonly stream: Stream,
    readonly name: string,
    public cfg: ConsumerConfig,
    readonly created: bigint,
    readonly cstore: ConsumerStore | undefined,
    restored?: ConsumerState,
  ) {
    this.isPull = cfg.deliver_subject === '';
    if (restored) this.restore(restored);
    else this.setStart();
  }

  get filter(): string {
    return this.cfg.filter_subject === '>' ? '' : this.cfg.filter_subject;
  }

  filterMatches(subject: string): boolean {
    return subjectMatches(subject, this.filter);
  }

  get isDurable(): boolean {
    return this.cfg.durable_name !== '';
  }

  get pushBound(): boolean {
    return !this.isPull && this.hasInterest();
  }

  private get ackNone(): boolean {
    return this.cfg.ack_policy === 'none';
  }

  // -----------------------------------------------------------------------------------------
  // Start position (consumer.go selectStartingSeqNo)

  private setStart(): void {
    const store = this.stream.store;
    const st = store.state();
    const c = this.cfg;
    const f = this.filter;
    let seq: number;
    switch (c.deliver_policy) {
      case 'all':
        seq = st.firstSeq;
        break;
      case 'last': {
        const m = f === '' ? store.load(st.lastSeq) : store.loadLast(f);
        seq = m ? m.seq : st.lastSeq + 1;
        break;
      }
      case 'new':
        seq = st.lastSeq + 1;
        break;
      case 'by_start_sequence':
        seq = c.opt_start_seq;
        break;
      case 'by_start_time':
        seq = store.seqFromTime(timeToNs(c.opt_start_time) ?? 0n);
        break;
      case 'last_per_subject': {
        const subs = store.subjectsState(f);
        const seqs: number[] = [];
        for (const s of subs.keys()) {
          const m = store.loadLast(s);
          if (m) seqs.push(m.seq);
        }
        seqs.sort((a, b) => a - b);
        this.lps = seqs;
        this.lpsResume = st.lastSeq + 1;
        seq = seqs.length > 0 ? seqs[0]! : st.lastSeq + 1;
        break;
      }
    }
    if (seq < st.firstSeq) seq = st.firstSeq;
    if (seq > st.lastSeq + 1) seq = st.lastSeq + 1;
    if (seq < 1) seq = 1;
    this.sseq = seq;
    // nats-server reports the stored ack floor of a new consumer: 0/0 whatever the start
    this.ackFloor = { consumerSeq: 0, streamSeq: 0 };
  }

  private restore(s: ConsumerState): void {
    this.dseq = s.delivered.consumerSeq + 1;
    this.sseq = s.delivered.streamSeq + 1;
    this.ackFloor = { ...s.ackFloor };
    const now = Date.now();
    for (const [seq, n] of s.redelivered) this.redelivered.set(seq, n);
    // kept in ascending stream order (ack() relies on it). A restored delivery is due when its ack
    // wait (from the original delivery) ends, checked no sooner than 0.5-1.5 s after start.
    for (const [seq, p] of [...s.pending].sort((a, b) => a[0] - b[0])) {
      const ts = Number(p.ts / 1_000_000n);
      const due = this.cfg.ack_policy === 'none' ? Infinity : ts + this.ackWaitMs(this.redelivered.get(seq) ?? 1);
      this.pending.set(seq, { dseq: p.consumerSeq, ts, deadline: Math.max(due, now + 500 + Math.random() * 1000) });
    }
    const first = this.stream.store.state().firstSeq;
    if (this.sseq < first) this.sseq = first;
  }

  /** A live view of the state: the consumer store reads it when it writes (coalesced). */
  private readonly stateView: ConsumerState = (() => {
    const self = this;
    return {
      get delivered() {
        return { consumerSeq: self.dseq - 1, streamSeq: self.sseq - 1 };
      },
      get ackFloor() {
        return { ...self.ackFloor };
      },
      get pending() {
        const m = new Map<number, { consumerSeq: number; ts: bigint }>();
        for (const [seq, p] of self.pending) m.set(seq, { consumerSeq: p.dseq, ts: BigInt(p.ts) * 1_000_000n });
        return m;
      },
      get redelivered() {
        return new Map(self.redelivered);
      },
    };
  })();

  private persist(): void {
    if (this.cstore) this.cstore.update(this.stateView);
  }

  // -----------------------------------------------------------------------------------------
  // Lifecycle

  start(): void {
    const port = this.stream.acc.port;
    const s = this.stream.name;
    this.ackSub = port.subscribe(`$JS.ACK.${s}.${this.name}.*.*.*.*.*`, (subj, reply, _h, data) => this.processAck(subj, reply, data));
    this.nextSub = port.subscribe(`$JS.API.CONSUMER.MSG.NEXT.${s}.${this.name}`, (_subj, reply, _h, data) => {
      if (reply !== undefined) this.processNextRequest(reply, data);
    });
    if (!this.isPull) {
      this.fcSub = port.subscribe(`$JS.FC.${s}.${this.name}.*`, (subj) => this.processFc(subj));
      if (this.cfg.idle_heartbeat > 0) this.startHeartbeats();
    }
    if (this.cfg.inactive_threshold > 0) this.startInactivityCheck();
    if (this.pending.size > 0) this.armAckTimer();
    this.kick();
  }

  async close(why: 'delete' | 'delete-stream' | 'stop'): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ackSub?.unsubscribe();
    this.fcSub?.unsubscribe();
    this.nextSub?.unsubscribe();
    clearTimeout(this.ackTimer);
    clearTimeout(this.replayTimer);
    clearTimeout(this.rateTimer);
    clearTimeout(this.hbTimer);
    clearTimeout(this.pollTimer);
    clearInterval(this.inactiveTimer);
    for (const r of this.waiting) {
      if (why !== 'stop') this.sendStatus(r.reply, 409, 'Consumer Deleted');
      this.clearRequest(r);
    }
    this.waiting.length = 0;
    if (this.cstore) {
      if (why === 'stop') {
        this.persist();
        await this.cstore.close();
      } else await this.cstore.destroy();
    }
  }

  /** Applies an update of mutable fields. */
  update(cfg: ConsumerConfig): void {
    if (!this.isPull && cfg.deliver_subject !== this.cfg.deliver_subject) this.fcInFlight = 0;
    const threshold = cfg.inactive_threshold !== this.cfg.inactive_threshold;
    this.cfg = cfg;
    this.pendingCache = undefined;
    if (threshold) {
      clearInterval(this.inactiveTimer);
      this.inactiveTimer = undefined;
      this.lastActive = Date.now();
      if (cfg.inactive_threshold > 0) this.startInactivityCheck();
    }
    this.kick();
  }

  // -----------------------------------------------------------------------------------------
  // Info

  /** num_pending, maintained incrementally (recounted by the store after purges and deletes). */
  private pendingCache: number | undefined;

  numPending(): number {
    if (this.pendingCache !== undefined) return this.pendingCache;
    return (this.pendingCache = this.countPending());
  }

  private countPending(): number {
    const store = this.stream.store;
    if (this.lps.length > 0) {
      let n = 0;
      for (const s of this.lps) if (s >= this.sseq) n++;
      return n + store.numPending(this.filter, Math.max(this.lpsResume, this.sseq), false);
    }
    return store.numPending(this.filter, this.sseq, false);
  }

  info(): Record<string, unknown> {
    const delivered: Record<string, unknown> = { consumer_seq: this.dseq - 1, stream_seq: this.sseq - 1 };
    if (this.deliveredActive !== undefined) delivered.last_active = nsToTime(BigInt(this.deliveredActive) * 1_000_000n);
    const ack: Record<string, unknown> = { consumer_seq: this.ackFloor.consumerSeq, stream_seq: this.ackFloor.streamSeq };
    if (this.ackActive !== undefined) ack.last_active = nsToTime(BigInt(this.ackActive) * 1_000_000n);
    let numRedelivered = 0;
    for (const n of this.redelivered.values()) if (n > 1) numRedelivered++;
    const o: Record<string, unknown> = {
      stream_name: this.stream.name,
      name: this.name,
      created: nsToTime(this.created),
      config: consumerConfigJson(this.cfg),
      delivered,
      ack_floor: ack,
      num_ack_pending: this.pending.size,
      num_redelivered: numRedelivered,
      num_waiting: this.waiting.length,
      num_pending: this.numPending(),
    };
    if (this.pushBound) o.push_bound = true;
    return o;
  }

  // -----------------------------------------------------------------------------------------
  // Stream events

  /** A new message was stored. */
  signal(subject: string, _seq: number): void {
    if (this.filter !== '' && !subjectMatches(subject, this.filter)) return;
    if (this.pendingCache !== undefined) this.pendingCache++;
    this.kick();
  }

  /** Does this consumer still need `seq` (interest retention)? */
  needs(seq: number, subject: string): boolean {
    if (!this.filterMatches(subject)) return false;
    if (seq <= this.ackFloor.streamSeq) return false;
    // consumer.go needAck: explicit needs what is undelivered or pending; none/all what is above the floor
    if (this.cfg.ack_policy === 'explicit') return seq >= this.sseq || this.pending.has(seq);
    return true;
  }

  /** consumer.go isFilteredMatch: does a purge of `subject` concern this consumer? */
  private isFilteredMatch(subject: string): boolean {
    const f = this.cfg.filter_subject;
    if (f === '') return true;
    if (!f.includes('*') && !f.includes('>')) return subject === f;
    return subjectIsSubset(subject, f);
  }

  /**
   * After a purge (consumer.go purge): `fseq` is the first remaining message (matching the purge
   * filter; 0 when none), `lseq` the stream's last. Jumps forward, drops every pending message.
   */
  purged(subject: string | undefined, fseq: number, lseq: number): void {
    if (subject !== undefined && !this.isFilteredMatch(subject)) return;
    if (fseq === 0) fseq = lseq + 1;
    if (this.sseq < fseq) this.sseq = fseq;
    if (this.ackFloor.streamSeq < fseq) {
      this.ackFloor = { consumerSeq: this.dseq > 0 ? this.dseq - 1 : this.ackFloor.consumerSeq, streamSeq: fseq - 1 };
    }
    this.pending.clear();
    this.rdq = this.rdq.filter((q) => q >= this.sseq);
    const store = this.stream.store;
    this.lps = this.lps.filter((q) => q >= this.sseq && store.load(q) !== undefined);
    this.pendingCache = undefined;
    this.persist();
    this.kick();
  }

  /** A message was removed (limits, age, API delete). */
  removedMsg(seq: number, subject?: string): void {
    if (this.pendingCache !== undefined && seq >= this.sseq) {
      if (subject === undefined || this.lps.length > 0) this.pendingCache = undefined;
      else if (this.filterMatches(subject)) this.pendingCache = Math.max(0, this.pendingCache - 1);
    }
    if (this.pending.has(seq)) {
      this.dropPending(seq);
      this.updateFloorFromPending();
    }
  }

  private dropPending(seq: number): void {
    this.pending.delete(seq);
    this.redelivered.delete(seq);
    const i = this.rdq.indexOf(seq);
    if (i >= 0) this.rdq.splice(i, 1);
  }

  // -----------------------------------------------------------------------------------------
  // Delivery

  /** Schedules a delivery pass (coalesced). */
  kick(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.deliverLoop();
    });
  }

  private hasInterest(): boolean {
    const port = this.stream.acc.port;
    return this.cfg.deliver_group ? port.hasInterest(this.cfg.deliver_subject, this.cfg.deliver_group) : port.hasInterest(this.cfg.deliver_subject);
  }

  /** Next message to deliver: redeliveries first, then new ones. */
  private nextMsg(): { msg: StoredMsg; dc: number } | undefined {
    const store = this.stream.store;
    while (this.rdq.length > 0) {
      const seq = this.rdq[0]!;
      const m = store.load(seq);
      if (!m) {
        this.rdq.shift();
        this.dropPending(seq);
        continue;
      }
      return { msg: m, dc: (this.redelivered.get(seq) ?? 1) + 1 };
    }
    if (!this.ackNone && this.cfg.max_ack_pending > 0 && this.pending.size >= this.cfg.max_ack_pending) return undefined;
    while (this.lps.length > 0) {
      const seq = this.lps[0]!;
      if (seq < this.sseq) {
        this.lps.shift();
        continue;
      }
      const m = store.load(seq);
      if (!m) {
        this.lps.shift();
        continue;
      }
      return { msg: m, dc: 1 };
    }
    if (this.lpsResume > this.sseq) this.sseq = this.lpsResume;
    const m = store.loadNext(this.filter, this.sseq);
    if (!m) return undefined;
    return { msg: m, dc: 1 };
  }

  private deliverLoop(): void {
    if (this.closed) return;
    if (this.isPull) {
      this.expireRequests();
      while (this.waiting.length > 0) {
        const next = this.nextMsg();
        if (!next) break;
        const req = this.waiting[0]!;
        // a request whose inbox lost its subscriber is dropped silently (consumer.go processWaiting)
        if (!this.stream.acc.port.hasInterest(req.reply)) {
          this.waiting.shift();
          this.clearRequest(req);
          continue;
        }
        if (this.replayWait(next.msg, next.dc)) break;
        const ackReply = this.ackReply(next.msg, next.dc);
        const size = next.msg.subject.length + ackReply.length + (next.msg.hdr?.length ?? 0) + next.msg.data.length;
        if (req.maxBytes > 0 && size > req.bytesLeft) {
          this.waiting.shift();
          this.sendStatus(req.reply, 409, 'Message Size Exceeds MaxBytes', this.pendingHeaders(req));
          this.clearRequest(req);
          continue;
        }
        this.deliver(next.msg, next.dc, req.reply, ackReply);
        req.lastActivity = Date.now();
        req.delivered++;
        req.batch--;
        if (req.maxBytes > 0) req.bytesLeft -= size;
        this.waiting.shift();
        if (req.batch > 0 && !(req.maxBytes > 0 && req.bytesLeft <= 0)) this.waiting.push(req);
        else this.clearRequest(req);
      }
      // no_wait requests end once nothing more is available
      for (let i = 0; i < this.waiting.length; i++) {
        const r = this.waiting[i]!;
        if (!r.noWait) continue;
        if (r.delivered > 0) this.sendStatus(r.reply, 408, 'Request Timeout', this.pendingHeaders(r));
        else if (r.expiresAt === 0) this.sendStatus(r.reply, 404, 'No Messages');
        else continue;
        this.waiting.splice(i--, 1);
        this.clearRequest(r);
      }
      return;
    }
    // push
    if (!this.hasInterest()) {
      this.pollInterest();
      return;
    }
    this.lastActive = Date.now();
    let n = 0;
    while (!this.closed) {
      if (this.cfg.flow_control && this.fcInFlight > this.fcWindow) break;
      const next = this.nextMsg();
      if (!next) break;
      if (this.replayWait(next.msg, next.dc)) break;
      if (this.cfg.rate_limit_bps > 0 && this.rateWait(next.msg)) break;
      this.deliver(next.msg, next.dc, this.cfg.deliver_subject, this.ackReply(next.msg, next.dc));
      if (++n >= 10_000) {
        // yield to the event loop on big backlogs
        setImmediate(() => this.kick());
        break;
      }
    }
  }

  /** rate_limit_bps: a token bucket of bytes (one second of burst). */
  private rateTokens = 0;
  private rateAt = 0;
  private rateTimer: NodeJS.Timeout | undefined;

  private rateWait(m: StoredMsg): boolean {
    const bytesPerSec = this.cfg.rate_limit_bps / 8;
    const now = Date.now();
    if (this.rateAt === 0) {
      this.rateAt = now;
      this.rateTokens = bytesPerSec;
    }
    this.rateTokens = Math.min(bytesPerSec, this.rateTokens + ((now - this.rateAt) / 1000) * bytesPerSec);
    this.rateAt = now;
    const size = m.subject.length + (m.hdr?.length ?? 0) + m.data.length;
    if (this.rateTokens >= Math.min(size, bytesPerSec)) {
      this.rateTokens -= size;
      return false;
    }
    if (!this.rateTimer) {
      const waitMs = ((Math.min(size, bytesPerSec) - this.rateTokens) / bytesPerSec) * 1000;
      this.rateTimer = setTimeout(() => {
        this.rateTimer = undefined;
        this.kick();
      }, delay(waitMs));
      this.rateTimer.unref();
    }
    return true;
  }

  private replayLast: { ts: bigint; at: number } | undefined;
  private replayTimer: NodeJS.Timeout | undefined;

  /**
   * `replay_policy: original`: messages stored before the consumer existed go out with their
   * original gaps (first-time deliveries only). True when the next one must wait.
   */
  private replayWait(m: StoredMsg, dc: number): boolean {
    if (this.cfg.replay_policy !== 'original' || dc > 1 || m.ts >= this.created) return false;
    const now = Date.now();
    const last = this.replayLast;
    if (last !== undefined) {
      const gapMs = Number((m.ts - last.ts) / 1_000_000n);
      const due = last.at + gapMs;
      if (due > now) {
        if (!this.replayTimer) {
          this.replayTimer = setTimeout(() => {
            this.replayTimer = undefined;
            this.kick();
          }, delay(due - now));
          this.replayTimer.unref();
        }
        return true;
      }
    }
    this.replayLast = { ts: m.ts, at: last === undefined ? now : Math.max(now, last.at) };
    return false;
  }

  /** The ack reply of the next delivery of `m` (its dseq is the next one; pending counts after it). */
  private ackReply(m: StoredMsg, dc: number): string {
    const pending = dc > 1 ? this.numPending() : Math.max(0, this.numPending() - 1);
    return `$JS.ACK.${this.stream.name}.${this.name}.${dc}.${m.seq}.${this.dseq}.${m.ts}.${pending}`;
  }

  /** Sends one message to `to` with the ack reply built by ackReply(). */
  private deliver(m: StoredMsg, dc: number, to: string, ackReply: string): void {
    const seq = m.seq;
    const dseq = this.dseq++;
    const isRedelivery = dc > 1;
    if (!isRedelivery) {
      if (this.pendingCache !== undefined) this.pendingCache = Math.max(0, this.pendingCache - 1);
      this.sseq = seq + 1;
      if (this.lps.length > 0 && this.lps[0] === seq) this.lps.shift();
    } else {
      this.rdq.shift();
      this.redelivered.set(seq, dc);
    }
    const now = Date.now();
    this.deliveredActive = now;
    this.lastDeliveredAt = now;
    this.lastActive = now;
    if (this.ackNone) {
      this.ackFloor.consumerSeq = dseq;
      this.ackFloor.streamSeq = seq;
      if (this.stream.cfg.retention !== 'limits') this.stream.checkInterestRemoval(seq, m.subject);
    } else {
      const deadline = now + this.ackWaitMs(dc);
      this.pending.set(seq, { dseq, ts: now, deadline });
      this.armAckTimer(deadline);
    }
    let hdr = m.hdr;
    let data = m.data;
    if (this.cfg.headers_only) {
      hdr = appendHeaders(hdr, [['Nats-Msg-Size', String(m.data.length)]]);
      data = EMPTY;
    }
    this.stream.acc.port.publish(to, ackReply, hdr, data, m.subject);
    if (!this.isPull && this.cfg.flow_control) {
      this.fcInFlight += (hdr?.length ?? 0) + data.length + m.subject.length;
      if (this.fcPendingReply === '' && this.fcInFlight >= this.fcWindow / 2) this.sendFlowControl();
    }
    this.persist();
  }

  private ackWaitMs(dc: number): number {
    const b = this.cfg.backoff;
    if (b.length > 0) return b[Math.min(dc - 1, b.length - 1)]! / 1e6;
    return this.cfg.ack_wait / 1e6;
  }

  private sendFlowControl(): void {
    const rand = Math.random().toString(36).slice(2, 6).padEnd(4, 'x');
    this.fcPendingReply = `$JS.FC.${this.stream.name}.${this.name}.${rand}`;
    this.fcSentAt = this.fcInFlight;
    this.stream.acc.port.publish(this.cfg.deliver_subject, this.fcPendingReply, statusHeader(100, 'FlowControl Request'), EMPTY);
  }

  private processFc(subject: string): void {
    if (subject !== this.fcPendingReply) return;
    this.fcPendingReply = '';
    this.fcInFlight = Math.max(0, this.fcInFlight - this.fcSentAt);
    this.fcSentAt = 0;
    if (this.fcWindow < FC_MAX_WINDOW) this.fcWindow *= 2;
    this.kick();
  }

  private pollInterest(): void {
    if (this.pollTimer || this.closed) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      if (this.closed) return;
      if (this.hasInterest()) this.kick();
      else this.pollInterest();
    }, 100);
    this.pollTimer.unref();
  }

  /** Idle heartbeat `idle_heartbeat` after the last delivery (or the last heartbeat). */
  private startHeartbeats(): void {
    const ms = this.cfg.idle_heartbeat / 1e6;
    const fire = (): void => {
      if (this.closed) return;
      const idle = Date.now() - this.lastDeliveredAt;
      if (idle < ms) {
        this.hbTimer = setTimeout(fire, delay(ms - idle));
        this.hbTimer.unref();
        return;
      }
      const pairs: [string, string][] = [
        ['Nats-Last-Consumer', String(this.dseq - 1)],
        ['Nats-Last-Stream', String(this.sseq - 1)],
      ];
      if (this.fcPendingReply !== '' && this.fcInFlight > this.fcWindow) pairs.push(['Nats-Consumer-Stalled', this.fcPendingReply]);
      this.stream.acc.port.publish(this.cfg.deliver_subject, undefined, statusHeader(100, 'Idle Heartbeat', pairs), EMPTY);
      this.hbTimer = setTimeout(fire, delay(ms));
      this.hbTimer.unref();
    };
    this.hbTimer = setTimeout(fire, delay(ms));
    this.hbTimer.unref();
  }

  private startInactivityCheck(): void {
    const ms = this.cfg.inactive_threshold / 1e6;
    this.inactiveTimer = setInterval(() => {
      if (this.closed) return;
      if (this.isPull ? this.waiting.length > 0 : this.hasInterest()) {
        this.lastActive = Date.now();
        return;
      }
      if (Date.now() - this.lastActive >= ms) void this.stream.js.deleteConsumer(this.stream, this.name, 'inactive');
    }, delay(Math.max(50, Math.min(ms / 4, 1000))));
    this.inactiveTimer.unref();
  }

  // -----------------------------------------------------------------------------------------
  // Redelivery timer

  private armAckTimer(hint?: number): void {
    if (this.ackNone || this.pending.size === 0) return;
    // a new delivery's deadline is never earlier than an armed timer's: nothing to do
    if (hint !== undefined && this.ackTimer && this.ackTimerAt <= hint) return;
    let earliest = Infinity;
    for (const p of this.pending.values()) if (p.deadline < earliest) earliest = p.deadline;
    if (this.ackTimer && this.ackTimerAt <= earliest) return;
    clearTimeout(this.ackTimer);
    this.ackTimerAt = earliest;
    this.ackTimer = setTimeout(() => this.checkPending(), delay(earliest - Date.now() + 1));
    this.ackTimer.unref();
  }

  private checkPending(): void {
    this.ackTimer = undefined;
    this.ackTimerAt = 0;
    if (this.closed) return;
    const now = Date.now();
    const expired: number[] = [];
    for (const [seq, p] of this.pending) if (p.deadline <= now && !this.rdq.includes(seq)) expired.push(seq);
    expired.sort((a, b) => a - b);
    for (const seq of expired) {
      const dc = this.redelivered.get(seq) ?? 1;
      if (this.cfg.max_deliver > 0 && dc >= this.cfg.max_deliver) {
        this.pending.delete(seq);
        this.stream.js.advisory(this.stream.acc.port, `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${this.stream.name}.${this.name}`, 'io.nats.jetstream.advisory.v1.max_deliver', {
          stream: this.stream.name,
          consumer: this.name,
          stream_seq: seq,
          deliveries: dc,
        });
        continue;
      }
      this.pending.get(seq)!.deadline = Infinity;
      this.rdq.push(seq);
    }
    this.rdq.sort((a, b) => a - b);
    this.armAckTimer();
    if (this.rdq.length > 0) this.kick();
  }

  // -----------------------------------------------------------------------------------------
  // Acks

  private processAck(subject: string, reply: string | undefined, data: Buffer): void {
    const t = subject.split('.');
    const dc = Number(t[t.length - 5]);
    const sseq = Number(t[t.length - 4]);
    const dseq = Number(t[t.length - 3]);
    // a forged ack subject with non-numeric tokens is ignored (it must not corrupt the floor)
    if (!Number.isSafeInteger(dc) || !Number.isSafeInteger(sseq) || !Number.isSafeInteger(dseq) || sseq < 1 || dseq < 1) return;
    const body = data.toString('latin1');
    this.lastActive = Date.now();
    let sendReply = true;
    if (body === '' || body === '+ACK' || body === '+OK') this.ack(sseq, dseq, dc);
    else if (body.startsWith('-NAK')) this.nak(sseq, body.slice(4).trim());
    else if (body === '+WPI') this.progress(sseq);
    else if (body === '+TERM') this.term(sseq, dseq, dc);
    else if (body.startsWith('+NXT')) {
      sendReply = false;
      this.ack(sseq, dseq);
      if (reply !== undefined && this.isPull) this.processNextRequest(reply, Buffer.from(body.slice(4).trim()));
    } else sendReply = false;
    if (sendReply && reply !== undefined) this.stream.acc.port.publish(reply, undefined, null, EMPTY);
  }

  /** `$JS.EVENT.METRIC.CONSUMER.ACK.<s>.<c>` for a `sample_freq` share of acks (consumer.go sampleAck). */
  private sampleAck(sseq: number, p: Pending, dc: number): void {
    const pct = Number(this.cfg.sample_freq.trim().replace(/%$/, ''));
    if (!(pct > 0) || Math.random() * 100 >= pct) return;
    this.stream.js.advisory(this.stream.acc.port, `$JS.EVENT.METRIC.CONSUMER.ACK.${this.stream.name}.${this.name}`, 'io.nats.jetstream.metric.v1.consumer_ack', {
      stream: this.stream.name,
      consumer: this.name,
      consumer_seq: p.dseq,
      stream_seq: sseq,
      ack_time: (Date.now() - p.ts) * 1e6,
      deliveries: dc,
    });
  }

  private ack(sseq: number, dseq: number, dcOf = 1): void {
    if (this.ackNone) return;
    this.ackActive = Date.now();
    const removed: number[] = [];
    if (this.cfg.ack_policy === 'explicit') {
      // consumer.go processAckMsg (AckExplicit)
      const p = this.pending.get(sseq);
      if (p && this.cfg.sample_freq !== '') this.sampleAck(sseq, p, dcOf);
      if (p) {
        this.pending.delete(sseq);
        dseq = p.dseq;
        removed.push(sseq);
      }
      if (this.pending.size === 0) {
        this.ackFloor = { consumerSeq: this.dseq - 1, streamSeq: this.sseq - 1 };
      } else if (dseq === this.ackFloor.consumerSeq + 1) {
        this.ackFloor = { consumerSeq: dseq, streamSeq: sseq };
        // pending is in delivery order (ascending stream seq): its first key is usually the answer
        let next = Infinity;
        const first = this.pending.keys().next().value as number;
        if (first > sseq) next = first;
        else for (const s of this.pending.keys()) if (s > sseq && s < next) next = s;
        if (next !== Infinity) {
          const q = this.pending.get(next)!;
          this.ackFloor = { consumerSeq: q.dseq - 1, streamSeq: next - 1 };
        }
      }
      this.redelivered.delete(sseq);
      const i = this.rdq.indexOf(sseq);
      if (i >= 0) this.rdq.splice(i, 1);
    } else {
      if (dseq <= this.ackFloor.consumerSeq || sseq <= this.ackFloor.streamSeq) return;
      for (let s = this.ackFloor.streamSeq + 1; s <= sseq; s++) {
        this.pending.delete(s);
        this.redelivered.delete(s);
        removed.push(s);
      }
      this.rdq = this.rdq.filter((s) => s > sseq);
      this.ackFloor = { consumerSeq: dseq, streamSeq: sseq };
    }
    this.persist();
    if (this.stream.cfg.retention !== 'limits') for (const s of removed) this.stream.checkInterestRemoval(s);
    this.kick();
  }

  private updateFloorFromPending(): void {
    if (this.ackNone) return;
    if (this.pending.size === 0) {
      if (this.cfg.ack_policy === 'explicit' || this.ackFloor.streamSeq < this.sseq - 1) {
        this.ackFloor = { consumerSeq: this.dseq - 1, streamSeq: this.sseq - 1 };
      }
      return;
    }
    let min = Infinity;
    for (const s of this.pending.keys()) if (s < min) min = s;
    const p = this.pending.get(min)!;
    if (min - 1 > this.ackFloor.streamSeq) this.ackFloor = { consumerSeq: p.dseq - 1, streamSeq: min - 1 };
  }

  private nak(sseq: number, arg: string): void {
    const p = this.pending.get(sseq);
    if (!p || this.rdq.includes(sseq)) return;
    let delayMs = 0;
    if (arg !== '') {
      try {
        if (arg.startsWith('{')) delayMs = Number(JSON.parse(arg).delay ?? 0) / 1e6;
        else delayMs = parseGoDurationMs(arg);
      } catch {
        delayMs = 0;
      }
    }
    if (delayMs > 0) {
      p.deadline = Date.now() + Math.min(delayMs, MAX_DELAY);
      this.armAckTimer();
    } else {
      p.deadline = Infinity;
      this.rdq.push(sseq);
      this.rdq.sort((a, b) => a - b);
      this.kick();
    }
  }

  private progress(sseq: number): void {
    const p = this.pending.get(sseq);
    if (!p || this.rdq.includes(sseq)) return;
    p.deadline = Date.now() + this.ackWaitMs(this.redelivered.get(sseq) ?? 1);
    this.armAckTimer();
  }

  private term(sseq: number, dseq: number, dc: number): void {
    if (!this.pending.has(sseq)) return;
    this.ack(sseq, dseq);
    this.stream.js.advisory(this.stream.acc.port, `$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${this.stream.name}.${this.name}`, 'io.nats.jetstream.advisory.v1.terminated', {
      stream: this.stream.name,
      consumer: this.name,
      consumer_seq: dseq,
      stream_seq: sseq,
      deliveries: dc,
    });
  }

  // -----------------------------------------------------------------------------------------
  // Pull requests

  private sendStatus(to: string, code: number, text: string, pairs: [string, string][] = []): void {
    this.stream.acc.port.publish(to, undefined, statusHeader(code, text, pairs), EMPTY);
  }

  private pendingHeaders(r: PullRequest): [string, string][] {
    return [
      ['Nats-Pending-Messages', String(r.batch)],
      ['Nats-Pending-Bytes', String(r.maxBytes > 0 ? Math.max(0, r.bytesLeft) : 0)],
    ];
  }

  private clearRequest(r: PullRequest): void {
    clearTimeout(r.timer);
    clearInterval(r.hbTimer);
  }

  private expireRequests(): void {
    const now = Date.now();
    for (let i = 0; i < this.waiting.length; i++) {
      const r = this.waiting[i]!;
      if (r.expiresAt > 0 && r.expiresAt <= now) {
        this.waiting.splice(i--, 1);
        this.sendStatus(r.reply, 408, 'Request Timeout', this.pendingHeaders(r));
        this.clearRequest(r);
      }
    }
  }

  processNextRequest(reply: string, data: Buffer): void {
    if (this.closed) return;
    if (!this.isPull) return this.sendStatus(reply, 409, 'Consumer is push based');
    this.lastActive = Date.now();
    let batch = 1;
    let expires = 0;
    let maxBytes = 0;
    let noWait = false;
    let hb = 0;
    const s = data.toString('utf8').trim();
    if (s !== '') {
      if (/^\d+$/.test(s)) batch = Number(s);
      else {
        let o: Record<string, unknown>;
        try {
          const v = JSON.parse(s);
          if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('cannot unmarshal into Go value of type server.JSApiConsumerGetNextRequest');
          o = v as Record<string, unknown>;
          const num = (k: string): number => {
            const x = o[k];
            if (x === undefined || x === null) return 0;
            if (typeof x !== 'number' || !Number.isInteger(x)) throw new Error(`json: cannot unmarshal ${typeof x} into Go struct field JSApiConsumerGetNextRequest.${k} of type int`);
            return x;
          };
          batch = num('batch');
          expires = num('expires');
          maxBytes = num('max_bytes');
          hb = num('idle_heartbeat');
          const nw = o.no_wait;
          if (nw !== undefined && nw !== null && typeof nw !== 'boolean') throw new Error('json: cannot unmarshal into Go struct field JSApiConsumerGetNextRequest.no_wait of type bool');
          noWait = nw === true;
        } catch (e) {
          return this.sendStatus(reply, 400, `Bad Request - ${(e as Error).message}`);
        }
      }
    }
    const c = this.cfg;
    if (c.max_batch > 0 && batch > c.max_batch) return this.sendStatus(reply, 409, `Exceeded MaxRequestBatch of ${c.max_batch}`);
    if (c.max_expires > 0 && expires > c.max_expires) return this.sendStatus(reply, 409, `Exceeded MaxRequestExpires of ${goDurationNs(c.max_expires)}`);
    if (c.max_bytes > 0 && maxBytes > c.max_bytes) return this.sendStatus(reply, 409, `Exceeded MaxRequestMaxBytes of ${c.max_bytes}`);
    if (hb > 0 && hb * 2 > expires) return this.sendStatus(reply, 400, 'Bad Request - heartbeat value too large');
    if (batch <= 0) batch = 1;
    if (noWait) {
      const msgsPending = this.numPending() + this.rdq.length;
      if (msgsPending === 0 && expires === 0) return this.sendStatus(reply, 404, 'No Messages');
      if (msgsPending > 0) {
        // waiting requests already claim more than what is pending (consumer.go processNextMsgReq)
        let batchPending = 0;
        for (const w of this.waiting) batchPending += w.batch;
        if (msgsPending < batchPending) return this.sendStatus(reply, 408, 'Requests Pending');
      }
    }
    if (this.waiting.length >= c.max_waiting) return this.sendStatus(reply, 409, 'Exceeded MaxWaiting');
    const now = Date.now();
    const r: PullRequest = {
      reply,
      batch,
      maxBytes,
      bytesLeft: maxBytes,
      noWait,
      expiresAt: expires > 0 ? now + Math.min(expires / 1e6, MAX_DELAY) : 0,
      hbMs: hb / 1e6,
      delivered: 0,
      lastActivity: now,
    };
    if (r.expiresAt > 0) {
      r.timer = setTimeout(() => {
        const i = this.waiting.indexOf(r);
        if (i < 0) return;
        this.waiting.splice(i, 1);
        this.sendStatus(r.reply, 408, 'Request Timeout', this.pendingHeaders(r));
        this.clearRequest(r);
        this.lastActive = Date.now();
      }, delay(expires / 1e6));
      r.timer.unref();
    }
    if (r.hbMs > 0) {
      r.hbTimer = setInterval(() => {
        if (Date.now() - r.lastActivity < r.hbMs * 0.9) return; // deliveries count as activity
        this.sendStatus(r.reply, 100, 'Idle Heartbeat', [
          ['Nats-Last-Consumer', String(this.dseq - 1)],
          ['Nats-Last-Stream', String(this.sseq - 1)],
        ]);
      }, delay(r.hbMs));
      r.hbTimer.unref();
    }
    this.waiting.push(r);
    this.scheduled = false;
    this.deliverLoop();
  }
}

/** `5s`, `100ms`, `1m30s` → ms; throws when malformed. */
function parseGoDurationMs(s: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let used = 0;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * unit[m[2]!]!;
    used = re.lastIndex;
  }
  if (used !== s.length || s.length === 0) throw new Error('bad duration');
  return total;
}

export { goJson };
