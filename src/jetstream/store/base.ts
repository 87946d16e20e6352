// Shared store logic: sequence bookkeeping, per-subject index, limits, discard policies, purge,
// compact, filters and pending counts. MemoryStore and FileStore supply the primitives that
// hold the messages (a Map, or blocks on disk with an in-memory offset index).

import {
  type MsgStore,
  type PurgeOptions,
  type StoreLimits,
  type StoreState,
  type StoredMsg,
  StoreError,
} from './types.js';
import { hasWildcard, isAllFilter, makeMatcher, nowNs } from './subject.js';

/** the sequences of one subject, ascending (a deque: removals at the front are O(1)) */
class SubjInfo {
  private seqs: number[];
  private head = 0;
  constructor(seq: number) {
    this.seqs = [seq];
  }
  get msgs(): number {
    return this.seqs.length - this.head;
  }
  get first(): number {
    return this.seqs[this.head];
  }
  get last(): number {
    return this.seqs[this.seqs.length - 1];
  }
  push(seq: number): void {
    const l = this.seqs.length;
    if (l === this.head || this.seqs[l - 1] < seq) this.seqs.push(seq);
    else this.seqs.splice(this.lowerBound(seq), 0, seq);
  }
  /** index of the first element >= seq */
  lowerBound(seq: number): number {
    let lo = this.head;
    let hi = this.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.seqs[mid] < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  remove(seq: number): void {
    if (this.seqs[this.head] === seq) {
      this.head++;
      this.compactHead();
      return;
    }
    const l = this.seqs.length;
    if (this.seqs[l - 1] === seq) {
      this.seqs.pop();
      return;
    }
    const i = this.lowerBound(seq);
    if (this.seqs[i] !== seq) return;
    // move the shorter side: removals near the front (out-of-order acks) stay cheap
    if (i - this.head < l - i) {
      this.seqs.copyWithin(this.head + 1, this.head, i);
      this.head++;
      this.compactHead();
    } else this.seqs.splice(i, 1);
  }
  private compactHead(): void {
    if (this.head > 64 && this.head * 2 > this.seqs.length) {
      this.seqs = this.seqs.slice(this.head);
      this.head = 0;
    }
  }
  /** number of sequences >= seq */
  countFrom(seq: number): number {
    return this.seqs.length - this.lowerBound(seq);
  }
  /** first sequence >= seq, or -1 */
  nextFrom(seq: number): number {
    const i = this.lowerBound(seq);
    return i < this.seqs.length ? this.seqs[i] : -1;
  }
  /** the oldest n sequences (n <= msgs), optionally only those < below */
  oldest(n: number, below = Infinity): number[] {
    const out: number[] = [];
    for (let i = this.head; i < this.seqs.length && out.length < n && this.seqs[i] < below; i++) out.push(this.seqs[i]);
    return out;
  }
}

export abstract class BaseStore implements MsgStore {
  abstract readonly kind: 'file' | 'memory';
  onRemove?: (seq: number, subject: string) => void;

  protected limits: StoreLimits;
  protected first = 0;
  protected firstTs = 0n;
  protected firstTsStale = false;
  protected last = 0;
  protected lastTs = 0n;
  protected msgs = 0;
  protected bytes = 0;
  protected subjects = new Map<string, SubjInfo>();
  protected closed = false;
  private ageTimer: NodeJS.Timeout | undefined;

  constructor(limits: StoreLimits) {
    this.limits = { ...limits };
  }

  // ---- primitives supplied by the implementation ----
  /** persists and indexes one message at seq (= last+1 or later); returns its accounting size. Throws StoreError('io') leaving nothing indexed. */
  protected abstract _append(seq: number, subject: string, hdr: Buffer | null, data: Buffer, ts: bigint): number;
  protected abstract _has(seq: number): boolean;
  protected abstract _subject(seq: number): string | undefined;
  /** accounting size of a stored message */
  protected abstract _size(seq: number): number;
  protected abstract _read(seq: number): StoredMsg | undefined;
  protected abstract _ts(seq: number): bigint;
  /** drops seq from the index (no persistence yet) */
  protected abstract _unindex(seq: number): void;
  /** makes removals durable (before they are dropped from memory): `seqs` removed individually; every seq <= floor (if > 0) is gone too. */
  protected abstract _persistRemoval(seqs: number[], floor: number): void;
  /** makes a jump of the last sequence durable (skip / compact past the end) */
  protected abstract _persistSkip(last: number, lastTs: bigint): void;
  /** first live seq in [from, to], or -1 */
  protected abstract _nextLive(from: number, to: number): number;
  /** last live seq in [from, to] scanning down, or -1 */
  protected abstract _prevLive(from: number, to: number): number;

  // ---- helpers ----
  protected checkOpen(): void {
    if (this.closed) throw new StoreError('store_closed');
  }

  /** rebuilds subjects/msgs/bytes/first/last from the primitives (FileStore recovery) */
  protected indexMsg(seq: number, subject: string, size: number): void {
    this.msgs++;
    this.bytes += size;
    const ss = this.subjects.get(subject);
    if (ss) ss.push(seq);
    else this.subjects.set(subject, new SubjInfo(seq));
  }

  private subjFirst(_subject: string, ss: SubjInfo): number {
    return ss.first;
  }
  private subjLast(_subject: string, ss: SubjInfo): number {
    return ss.last;
  }

  /** removes from memory state; returns the floor to persist (> 0 when seq was the first message) */
  private unlinkMsg(seq: number): { subject: string; floor: number } | undefined {
    if (!this._has(seq)) return undefined;
    const subject = this._subject(seq)!;
    const size = this._size(seq);
    this._unindex(seq);
    this.msgs--;
    this.bytes -= size;
    const ss = this.subjects.get(subject);
    if (ss) {
      ss.remove(seq);
      if (ss.msgs <= 0) this.subjects.delete(subject);
    }
    let floor = 0;
    if (seq === this.first) {
      if (this.msgs === 0) {
        this.first = this.last + 1;
        this.firstTs = 0n;
        this.firstTsStale = false;
      } else {
        const n = this._nextLive(seq + 1, this.last);
        this.first = n < 0 ? this.last + 1 : n;
        this.firstTsStale = true;
      }
      floor = this.first - 1;
    }
    return { subject, floor };
  }

  /**
   * Removes a batch: first made durable (one floor and/or tombstones), then dropped from memory, so a
   * failed write (StoreError 'io') leaves the store exactly as it was.
   */
  protected removeBatch(seqs: Iterable<number>, notify: boolean): number {
    const present: number[] = [];
    const seen = new Set<number>();
    for (const s of seqs) if (!seen.has(s) && this._has(s)) {
      seen.add(s);
      present.push(s);
    }
    if (present.length === 0) return 0;
    // the floor after the batch: everything below the first message that stays
    let floor = 0;
    if (seen.has(this.first)) {
      let n = this.first;
      while (n >= 0 && seen.has(n)) n = this._nextLive(n + 1, this.last);
      floor = (n < 0 ? this.last + 1 : n) - 1;
    }
    this._persistRemoval(floor > 0 ? present.filter((s) => s > floor) : present, floor);
    const notes: Array<[number, string]> = [];
    for (const seq of present) {
      const r = this.unlinkMsg(seq);
      if (r && notify) notes.push([seq, r.subject]);
    }
    this._afterRemoval();
    if (notify && this.onRemove) for (const [s, subj] of notes) this.onRemove(s, subj);
    return present.length;
  }

  /** housekeeping once removals are in memory (FileStore: drop emptied blocks, compact sparse ones) */
  protected _afterRemoval(): void {}

  // ---- MsgStore ----
  store(subject: string, hdr: Buffer | null, data: Buffer, ts?: bigint): { seq: number; ts: bigint } {
    this.checkOpen();
    if (hdr && hdr.length === 0) hdr = null;
    const l = this.limits;
    const raw = (hdr ? hdr.length : 0) + data.length;
    if (l.maxMsgSize > 0 && raw > l.maxMsgSize) throw new StoreError('max_msg_size');
    const ss = this.subjects.get(subject);
    const asl = l.maxMsgsPerSubject > 0 && ss !== undefined && ss.msgs >= l.maxMsgsPerSubject;
    if (l.discard === 'new') {
      if (asl && l.discardNewPerSubject) throw new StoreError('max_msgs_per_subject');
      if (l.maxMsgs > 0 && this.msgs >= l.maxMsgs && !asl) throw new StoreError('max_msgs');
      if (l.maxBytes > 0 && this.bytes + raw >= l.maxBytes) {
        if (!asl) throw new StoreError('max_bytes');
        const f = this.subjFirst(subject, ss!);
        if (!this._has(f) || this._size(f) < raw) throw new StoreError('max_bytes');
      }
    }
    const seq = this.last + 1;
    const t = ts ?? nowNs();
    const size = this._append(seq, subject, hdr, data, t);
    if (this.msgs === 0) {
      this.first = seq;
      this.firstTs = t;
      this.firstTsStale = false;
    }
    this.last = seq;
    this.lastTs = t;
    this.indexMsg(seq, subject, size);
    this.enforceLimits(subject);
    if (l.maxAgeNs > 0n && !this.ageTimer) this.armAge(l.maxAgeNs);
    return { seq, ts: t };
  }

  protected enforceLimits(subject?: string): void {
    const l = this.limits;
    const evict: number[] = [];
    if (l.maxMsgsPerSubject > 0) {
      const check = (subj: string) => {
        const ss = this.subjects.get(subj);
        if (!ss || ss.msgs <= l.maxMsgsPerSubject) return;
        evict.push(...ss.oldest(ss.msgs - l.maxMsgsPerSubject));
      };
      if (subject !== undefined) check(subject);
      else for (const subj of [...this.subjects.keys()]) check(subj);
      if (evict.length > 0) this.removeBatch(evict, true);
    }
    const fifo: number[] = [];
    let msgs = this.msgs;
    let bytes = this.bytes;
    let s = this.first;
    while (msgs > 0 && ((l.maxMsgs > 0 && msgs > l.maxMsgs) || (l.maxBytes > 0 && bytes > l.maxBytes))) {
      s = this._nextLive(s, this.last);
      if (s < 0) break;
      fifo.push(s);
      msgs--;
      bytes -= this._size(s);
      s++;
    }
    if (fifo.length > 0) this.removeBatch(fifo, true);
  }

  skipTo(seq: number): void {
    this.checkOpen();
    if (seq <= this.last) return;
    this.last = seq;
    this.lastTs = nowNs();
    if (this.msgs === 0) {
      this.first = seq + 1;
      this.firstTs = 0n;
    }
    this._persistSkip(this.last, this.lastTs);
  }

  load(seq: number): StoredMsg | undefined {
    this.checkOpen();
    if (!Number.isInteger(seq) || seq < this.first || seq > this.last) return undefined;
    return this._read(seq);
  }

  loadNext(filter: string, fromSeq: number): StoredMsg | undefined {
    this.checkOpen();
    let from = Math.max(fromSeq, this.first, 1);
    if (this.msgs === 0 || from > this.last) return undefined;
    if (isAllFilter(filter)) {
      const s = this._nextLive(from, this.last);
      return s < 0 ? undefined : this._read(s);
    }
    let to = this.last;
    if (!hasWildcard(filter)) {
      const ss = this.subjects.get(filter);
      if (!ss) return undefined;
      const n = ss.nextFrom(from);
      return n < 0 ? undefined : this._read(n);
    }
    const match = makeMatcher(filter);
    if (this.subjects.size > 64) {
      // many subjects: scan the messages (never the subject index per call)
      for (let s = this._nextLive(from, to); s >= 0; s = this._nextLive(s + 1, to)) if (match(this._subject(s)!)) return this._read(s);
      return undefined;
    }
    // few subjects: the next match of each
    let best = -1;
    for (const [subj, ss] of this.subjects) {
      if (!match(subj)) continue;
      const n = ss.nextFrom(from);
      if (n >= 0 && (best < 0 || n < best)) best = n;
    }
    return best < 0 ? undefined : this._read(best);
  }

  loadLast(filter: string): StoredMsg | undefined {
    this.checkOpen();
    if (this.msgs === 0) return undefined;
    if (isAllFilter(filter)) {
      const s = this._prevLive(this.last, this.first);
      return s < 0 ? undefined : this._read(s);
    }
    if (!hasWildcard(filter)) {
      const ss = this.subjects.get(filter);
      return ss ? this._read(this.subjLast(filter, ss)) : undefined;
    }
    const match = makeMatcher(filter);
    let best = -1;
    for (const [subj, ss] of this.subjects) {
      if (match(subj)) best = Math.max(best, this.subjLast(subj, ss));
    }
    return best < 0 ? undefined : this._read(best);
  }

  remove(seq: number, erase = false): boolean {
    this.checkOpen();
    if (!Number.isInteger(seq) || seq < this.first || seq > this.last || !this._has(seq)) return false;
    if (erase) this._erase(seq);
    return this.removeBatch([seq], false) === 1;
  }

  /** number of stored messages with seq in [from, to] */
  protected _countLive(from: number, to: number): number {
    let n = 0;
    for (let s = this._nextLive(from, to); s >= 0; s = this._nextLive(s + 1, to)) n++;
    return n;
  }

  /** overwrites the stored bytes of seq (secure delete); default: nothing on disk to erase */
  protected _erase(_seq: number): void {}

  purge(opts: PurgeOptions = {}): number {
    this.checkOpen();
    const subject = opts.subject ?? '';
    const seq = opts.seq ?? 0;
    const keep = opts.keep ?? 0;
    if (seq > 1 && keep > 0) throw new StoreError('bad_request', 'sequence and keep can not both be set');
    if (isAllFilter(subject)) {
      if (keep === 0 && seq <= 1) return this.purgeAll();
      if (seq > 1) return this.compact(seq);
      if (keep >= this.msgs) return 0;
      return this.compact(this.last - keep + 1);
    }
    const match = makeMatcher(subject);
    let total = 0;
    const lists: number[][] = [];
    const below = seq > 1 ? seq : Infinity;
    const matched: SubjInfo[] = [];
    for (const [subj, ss] of this.subjects) {
      if (!match(subj)) continue;
      total += ss.msgs;
      matched.push(ss);
    }
    if (total === 0) return 0;
    let want = total;
    if (keep > 0) {
      if (keep >= total) return 0;
      want = total - keep;
    }
    for (const ss of matched) lists.push(ss.oldest(want, below));
    let victims = lists.length === 1 ? lists[0] : lists.flat().sort((x, y) => x - y);
    if (victims.length > want) victims = victims.slice(0, want);
    return this.removeBatch(victims, false);
  }

  private purgeAll(): number {
    const n = this.msgs;
    if (n === 0 && (this.last === 0 || this.first === this.last + 1)) return 0;
    this._persistRemoval([], this.last);
    const victims: number[] = [];
    for (let s = this._nextLive(this.first, this.last); s >= 0; s = this._nextLive(s + 1, this.last)) victims.push(s);
    for (const s of victims) this._unindex(s);
    this.msgs = 0;
    this.bytes = 0;
    this.subjects.clear();
    this.first = this.last + 1;
    this.firstTs = 0n;
    this.firstTsStale = false;
    this._afterRemoval();
    return n;
  }


  compact(seq: number): number {
    this.checkOpen();
    if (seq <= 0) return this.purgeAll();
    if (seq <= this.first || (this.last === 0 && seq === 1)) return 0;
    if (seq > this.last) {
      const n = this.purgeAll();
      if (seq - 1 > this.last) {
        this.last = seq - 1;
        this._persistSkip(this.last, this.lastTs);
      }
      this.first = seq;
      this.firstTs = 0n;
      return n;
    }
    const victims: number[] = [];
    for (let s = this._nextLive(this.first, seq - 1); s >= 0; s = this._nextLive(s + 1, seq - 1)) victims.push(s);
    const n = this.removeBatch(victims, false);
    if (this.msgs === 0) {
      this.first = this.last + 1;
    }
    return n;
  }

  state(): StoreState {
    this.checkOpen();
    if (this.firstTsStale) {
      this.firstTs = this.msgs > 0 ? this._ts(this.first) : 0n;
      this.firstTsStale = false;
    }
    const span = this.msgs > 0 ? this.last - this.first + 1 : 0;
    return {
      msgs: this.msgs,
      bytes: this.bytes,
      firstSeq: this.first,
      firstTs: this.firstTs,
      lastSeq: this.last,
      lastTs: this.lastTs,
      numDeleted: Math.max(0, span - this.msgs),
      numSubjects: this.subjects.size,
    };
  }

  subjectsState(filter: string): Map<string, number> {
    this.checkOpen();
    const out = new Map<string, number>();
    const match = makeMatcher(filter);
    for (const [subj, ss] of this.subjects) if (match(subj)) out.set(subj, ss.msgs);
    return out;
  }

  numPending(filter: string, fromSeq: number, lastPerSubject: boolean): number {
    this.checkOpen();
    const from = Math.max(fromSeq, this.first, 1);
    if (this.msgs === 0 || from > this.last) return 0;
    const all = isAllFilter(filter);
    const match = makeMatcher(filter);
    if (lastPerSubject) {
      let n = 0;
      if (!all && !hasWildcard(filter)) {
        const ss = this.subjects.get(filter);
        return ss && this.subjLast(filter, ss) >= from ? 1 : 0;
      }
      for (const [subj, ss] of this.subjects) if (match(subj) && this.subjLast(subj, ss) >= from) n++;
      return n;
    }
    if (all) {
      if (from <= this.first) return this.msgs;
      // no gaps: plain arithmetic
      if (this.last - this.first + 1 === this.msgs) return this.last - from + 1;
      return this._countLive(from, this.last);
    }
    let n = 0;
    const consider = (_subj: string, ss: SubjInfo) => {
      if (ss.last < from) return;
      n += ss.first >= from ? ss.msgs : ss.countFrom(from);
    };
    if (!hasWildcard(filter)) {
      const ss = this.subjects.get(filter);
      if (ss) consider(filter, ss);
    } else for (const [subj, ss] of this.subjects) if (match(subj)) consider(subj, ss);
    return n;
  }

  seqFromTime(ts: bigint): number {
    this.checkOpen();
    if (this.msgs === 0) return this.last + 1;
    if (this.lastTs < ts) return this.last + 1;
    // smallest live seq whose ts >= ts (ts are non-decreasing with seq)
    let lo = this.first;
    let hi = this.last + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const s = this._nextLive(mid, this.last);
      if (s < 0 || this._ts(s) >= ts) hi = mid;
      else lo = s + 1;
    }
    const r = this._nextLive(lo, this.last);
    return r < 0 ? this.last + 1 : r;
  }

  deleted(): number[] {
    this.checkOpen();
    const out: number[] = [];
    if (this.msgs === 0) return out;
    let expect = this.first;
    for (let s = this._nextLive(this.first, this.last); s >= 0; s = this._nextLive(s + 1, this.last)) {
      for (let d = expect; d < s; d++) out.push(d);
      expect = s + 1;
    }
    // like nats-server: removed sequences at the tail (up to last_seq) count as deleted
    for (let d = expect; d <= this.last; d++) out.push(d);
    return out;
  }

  updateLimits(l: StoreLimits): void {
    this.checkOpen();
    this.limits = { ...l };
    this.enforceLimits();
    if (this.ageTimer) {
      clearTimeout(this.ageTimer);
      this.ageTimer = undefined;
    }
    if (l.maxAgeNs > 0n) this.expireAged();
  }

  private armAge(delayNs: bigint): void {
    let ms = Number(delayNs / 1_000_000n) + 1;
    if (ms < 1) ms = 1;
    if (ms > 2_000_000_000) ms = 2_000_000_000;
    this.ageTimer = setTimeout(() => {
      this.ageTimer = undefined;
      if (this.closed) return;
      try {
        this.expireAged();
      } catch (e) {
        // a failing disk must not take the process down from a timer: report and retry in a second
        this.reportError(e);
        if (!this.ageTimer && !this.closed) this.armAge(1_000_000_000n);
      }
    }, ms);
    this.ageTimer.unref();
  }

  /** removes every message older than max_age and re-arms the timer for the next one */
  protected expireAged(): void {
    const maxAge = this.limits.maxAgeNs;
    if (maxAge <= 0n || this.closed) return;
    const cutoff = nowNs() - maxAge;
    const victims: number[] = [];
    let next = 0n;
    for (let s = this._nextLive(this.first, this.last); s >= 0; s = this._nextLive(s + 1, this.last)) {
      const t = this._ts(s);
      if (t <= cutoff) victims.push(s);
      else {
        next = t - cutoff;
        break;
      }
    }
    if (victims.length > 0) this.removeBatch(victims, true);
    if (this.msgs > 0 && !this.ageTimer) this.armAge(next > 0n ? next : maxAge);
  }

  /** errors raised outside any call (timers); FileStore logs them through its warn callback */
  protected reportError(_e: unknown): void {}

  protected stopTimers(): void {
    if (this.ageTimer) clearTimeout(this.ageTimer);
    this.ageTimer = undefined;
  }

  abstract flush(): Promise<void>;
  abstract close(): Promise<void>;
  abstract destroy(): Promise<void>;
}
