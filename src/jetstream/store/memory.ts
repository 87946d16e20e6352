// MemoryStore: messages in a Map keyed by sequence (nats-server memstore.go semantics and
// accounting: len(subject)+len(hdr)+len(data)+16 per message). Gone on restart.

import { BaseStore } from './base.js';
import {
  type ConsumerState,
  type ConsumerStore,
  type StoreLimits,
  type StoredMsg,
  UNLIMITED,
  cloneConsumerState,
  memMsgSize,
  StoreError,
} from './types.js';

interface MemMsg {
  subject: string;
  hdr: Buffer | null;
  data: Buffer;
  ts: bigint;
  size: number;
}

export class MemoryStore extends BaseStore {
  readonly kind = 'memory' as const;
  private m = new Map<number, MemMsg>();

  constructor(limits: StoreLimits = UNLIMITED) {
    super(limits);
  }

  protected _append(seq: number, subject: string, hdr: Buffer | null, data: Buffer, ts: bigint): number {
    const size = memMsgSize(subject, hdr, data);
    // copy: the caller's buffers usually view a connection's read buffer
    const buf = Buffer.allocUnsafe((hdr ? hdr.length : 0) + data.length);
    let h: Buffer | null = null;
    if (hdr) {
      hdr.copy(buf, 0);
      h = buf.subarray(0, hdr.length);
    }
    data.copy(buf, hdr ? hdr.length : 0);
    this.m.set(seq, { subject, hdr: h, data: buf.subarray(hdr ? hdr.length : 0), ts, size });
    return size;
  }
  protected _has(seq: number): boolean {
    return this.m.has(seq);
  }
  protected _subject(seq: number): string | undefined {
    return this.m.get(seq)?.subject;
  }
  protected _size(seq: number): number {
    return this.m.get(seq)?.size ?? 0;
  }
  protected _read(seq: number): StoredMsg | undefined {
    const e = this.m.get(seq);
    return e ? { seq, subject: e.subject, hdr: e.hdr, data: e.data, ts: e.ts } : undefined;
  }
  protected _ts(seq: number): bigint {
    return this.m.get(seq)?.ts ?? 0n;
  }
  protected _unindex(seq: number): void {
    this.m.delete(seq);
  }
  protected _persistRemoval(_seqs: number[], _floor: number): void {
    /* nothing to persist */
  }
  protected _persistSkip(_last: number, _lastTs: bigint): void {
    /* nothing to persist */
  }
  protected _nextLive(from: number, to: number): number {
    if (this.m.size === 0) return -1;
    for (let s = from; s <= to; s++) if (this.m.has(s)) return s;
    return -1;
  }
  protected _prevLive(from: number, to: number): number {
    for (let s = from; s >= to; s--) if (this.m.has(s)) return s;
    return -1;
  }

  async flush(): Promise<void> {
    if (this.closed) throw new StoreError('store_closed');
  }
  async close(): Promise<void> {
    if (this.closed) return;
    this.stopTimers();
    this.closed = true;
  }
  async destroy(): Promise<void> {
    this.stopTimers();
    this.m.clear();
    this.subjects.clear();
    this.closed = true;
  }
}

/** Consumer state kept in memory (memory streams, mem_storage consumers). */
export class MemoryConsumerStore implements ConsumerStore {
  private s: ConsumerState | undefined;
  private closed = false;
  update(s: ConsumerState): void {
    if (this.closed) return; // a late update (consumer being deleted) is dropped, never thrown
    this.s = s; // a reference (the engine keeps updating it); state() returns a copy
  }
  state(): ConsumerState | undefined {
    return this.s ? cloneConsumerState(this.s) : undefined;
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {
    this.closed = true;
  }
  async destroy(): Promise<void> {
    this.closed = true;
    this.s = undefined;
  }
}
