// A stream: its configuration, store, internal subscriptions, the publish pipeline (nats-server
// 2.9.10 stream.go processJetStreamMsg) and its consumers.

import type { Consumer } from './consumer.js';
import type { JetStream, JsAccount } from './engine.js';
import { ApiError, Err } from './errors.js';
import { getHeader, headerInt, removeHeader, appendHeaders } from './headers.js';
import { goJson, nsToTime, clockNs } from './json.js';
import type { InternalSub } from './port.js';
import { limitsFromConfig, StoreError, type MsgStore, type StoredMsg } from './store/types.js';
import { streamConfigJson, type StreamConfig } from './config.js';
import { subjectMatches, subjectsCollide, transformSubject } from './subject.js';
import { SourceLink, sourceHeaders } from './sources.js';

const MAX_HDR = 65535;

export class Stream {
  readonly consumers = new Map<string, Consumer>();
  /** Mirrors and sources copying from this stream. */
  readonly followers = new Set<SourceLink>();
  /** This stream's own mirror / sources. */
  links: SourceLink[] = [];
  private subs: InternalSub[] = [];
  private directSubs: InternalSub[] = [];
  /** Nats-Msg-Id → {seq, ms}, insertion (= time) ordered. */
  private readonly dedupe = new Map<string, { seq: number; ms: number }>();
  /** After a restart: first sequence whose msg id the dedupe map has not loaded yet (0 = loaded). */
  private dedupeFrom = 0;
  private lastMsgId = '';
  private closed = false;
  private readonly ackPrefix: string;

  constructor(
    readonly js: JetStream,
    readonly acc: JsAccount,
    public cfg: StreamConfig,
    readonly store: MsgStore,
    readonly created: bigint,
  ) {
    this.ackPrefix = js.domain ? `{"stream":${goJson(cfg.name)}, "domain":${goJson(js.domain)}, "seq":` : `{"stream":${goJson(cfg.name)}, "seq":`;
    store.onRemove = (seq, subject) => this.onStoreRemove(seq, subject);
  }

  get name(): string {
    return this.cfg.name;
  }

  /** Subscribes the stream subjects (and DIRECT.GET when allowed). */
  subscribe(): void {
    const port = this.acc.port;
    for (const s of this.subs) s.unsubscribe();
    this.subs = this.cfg.subjects.map((s) => port.subscribe(s, (subj, reply, hdr, data) => this.processInbound(subj, reply, hdr, data)));
    for (const s of this.directSubs) s.unsubscribe();
    this.directSubs = [];
    const direct = (name: string) => {
      const h = (subj: string, reply: string | undefined, hdr: Buffer | null, data: Buffer) => this.js.api.directGet(this, subj, reply, hdr, data, name);
      this.directSubs.push(port.subscribe(`$JS.API.DIRECT.GET.${name}`, h, '_sys_'));
      this.directSubs.push(port.subscribe(`$JS.API.DIRECT.GET.${name}.>`, h, '_sys_'));
    };
    if (this.cfg.allow_direct) direct(this.name);
    // a mirror of a stream with allow_direct answers direct gets for the origin too
    if (this.cfg.mirror_direct && this.cfg.mirror) direct(this.cfg.mirror.name);
  }

  /** Creates the mirror/source links and attaches those whose origin exists. */
  startLinks(): void {
    for (const l of this.links) l.detach();
    const specs = this.cfg.mirror ? [this.cfg.mirror] : (this.cfg.sources ?? []);
    const old = new Map(this.links.map((l) => [l.name, l]));
    this.links = specs.map((spec) => {
      const l = new SourceLink(this, spec, this.cfg.mirror !== undefined);
      const prev = old.get(spec.name);
      if (prev) l.lastOriginSeq = prev.lastOriginSeq;
      return l;
    });
    if (this.cfg.mirror && this.links[0]) this.links[0].lastOriginSeq = this.store.state().lastSeq;
    for (const l of this.links) {
      const o = this.acc.streams.get(l.name);
      if (o && o !== this) l.attach(o);
    }
  }

  /** After a restart: where each source stopped, from the Nats-Stream-Source headers. */
  recoverSourcePositions(): void {
    if (!this.cfg.sources) return;
    const pos = new Map<string, number>();
    let seq = 1;
    let m: StoredMsg | undefined;
    while ((m = this.store.loadNext('', seq)) !== undefined) {
      const v = getHeader(m.hdr, 'Nats-Stream-Source');
      if (v !== undefined) {
        const [name, n] = v.split(' ');
        if (name !== undefined && n !== undefined) pos.set(name, Number(n));
      }
      seq = m.seq + 1;
    }
    this.links = this.cfg.sources.map((spec) => {
      const l = new SourceLink(this, spec, false);
      l.lastOriginSeq = pos.get(spec.name) ?? 0;
      return l;
    });
  }

  /** A stream was created: links waiting for it attach. */
  originAppeared(o: Stream): void {
    for (const l of this.links) if (l.name === o.name && l.origin === undefined) l.attach(o);
  }

  /** A stream was deleted: links from it detach (and wait for it to come back). */
  originGone(o: Stream): void {
    for (const l of this.links) if (l.origin === o) l.detach();
  }

  /** A mirrored message: stored under the origin's sequence. */
  mirrorIngest(m: StoredMsg): void {
    if (this.closed) return;
    const st = this.store.state();
    if (m.seq <= st.lastSeq) return;
    if (m.seq > st.lastSeq + 1) this.store.skipTo(m.seq - 1);
    try {
      const r = this.store.store(m.subject, m.hdr, m.data, m.ts);
      // the account's limit applies to mirrored messages too (nats-server: processJetStreamMsg)
      if (this.acc.overLimit(this.cfg.storage)) {
        this.js.port.log.warn(`JetStream resource limits exceeded for account: "${this.acc.name}"`);
        this.store.remove(r.seq);
        return;
      }
      this.stored({ seq: r.seq, subject: m.subject, hdr: m.hdr, data: m.data, ts: r.ts });
    } catch (e) {
      this.js.port.log.warn(`JetStream mirror '${this.acc.name} > ${this.name}' could not store sequence ${m.seq}: ${(e as Error).message}`);
      this.store.skipTo(m.seq);
    }
  }

  /** A sourced message: published into this stream with `Nats-Stream-Source: <origin> <seq>`. */
  sourceIngest(m: StoredMsg, origin: string): void {
    const hdr = appendHeaders(sourceHeaders(m.hdr), [['Nats-Stream-Source', `${origin} ${m.seq}`]]);
    this.processInbound(m.subject, undefined, hdr, m.data);
  }

  /** After a message is stored: consumers and followers. */
  private stored(m: StoredMsg): void {
    for (const c of this.consumers.values()) c.signal(m.subject, m.seq);
    for (const f of this.followers) f.onOriginMsg(m);
  }

  unsubscribe(): void {
    for (const l of this.links) l.detach();
    for (const s of this.subs) s.unsubscribe();
    for (const s of this.directSubs) s.unsubscribe();
    this.subs = [];
    this.directSubs = [];
  }

  /** Applies an updated configuration (already checked). */
  update(cfg: StreamConfig): void {
    const subjectsChanged = JSON.stringify(cfg.subjects) !== JSON.stringify(this.cfg.subjects) || cfg.allow_direct !== this.cfg.allow_direct;
    this.cfg = cfg;
    this.store.updateLimits(limitsFromConfig(cfg));
    if (subjectsChanged) this.subscribe();
    this.pruneDedupe(Date.now());
  }

  async close(destroy: boolean): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    for (const c of this.consumers.values()) await c.close(destroy ? 'delete-stream' : 'stop');
    this.consumers.clear();
    if (destroy) await this.store.destroy();
    else await this.store.close();
  }

  // -----------------------------------------------------------------------------------------
  // Info

  stateJson(opts: { deletedDetails?: boolean; subjectsFilter?: string; offset?: number } = {}): { state: Record<string, unknown>; total: number; offset: number; limit: number } {
    const st = this.store.state();
    const state: Record<string, unknown> = {
      messages: st.msgs,
      bytes: st.bytes,
      first_seq: st.firstSeq,
      first_ts: nsToTime(st.firstTs),
      last_seq: st.lastSeq,
      last_ts: nsToTime(st.lastTs),
    };
    if (st.numSubjects) state.num_subjects = st.numSubjects;
    let total = 0;
    let offset = 0;
    let limit = 0;
    if (opts.subjectsFilter) {
      const m = this.store.subjectsState(opts.subjectsFilter === '>' ? '' : opts.subjectsFilter);
      const keys = [...m.keys()].sort();
      limit = 100_000;
      total = keys.length;
      offset = Math.min(opts.offset ?? 0, total);
      if (keys.length) {
        const subjects: Record<string, number> = {};
        for (const k of keys.slice(offset, offset + limit)) subjects[k] = m.get(k)!;
        state.subjects = subjects;
      }
    }
    if (st.numDeleted) state.num_deleted = st.numDeleted;
    if (opts.deletedDetails && st.numDeleted) state.deleted = this.store.deleted();
    state.consumer_count = this.consumers.size;
    return { state, total, offset, limit };
  }

  info(opts: { deletedDetails?: boolean; subjectsFilter?: string; offset?: number } = {}): Record<string, unknown> {
    const { state } = this.stateJson(opts);
    const o: Record<string, unknown> = { config: streamConfigJson(this.cfg), created: nsToTime(this.created), state };
    Object.assign(o, this.linksInfo());
    return o;
  }

  /** StreamInfo `mirror` / `sources`. */
  linksInfo(): Record<string, unknown> {
    if (this.cfg.mirror) return { mirror: this.links[0]?.info() ?? { name: this.cfg.mirror.name, lag: 0, active: -1 } };
    if (this.cfg.sources) return { sources: this.links.map((l) => l.info()) };
    return {};
  }

  // -----------------------------------------------------------------------------------------
  // Publish pipeline

  private ackError(reply: string | undefined, e: ApiError): void {
    if (reply === undefined || this.cfg.no_ack) return;
    this.js.reply(this.acc.port, reply, goJson({ error: e, stream: this.name, seq: 0 }));
  }

  private ackOk(reply: string | undefined, seq: number, duplicate = false): void {
    if (reply === undefined || this.cfg.no_ack) return;
    this.js.reply(this.acc.port, reply, this.ackPrefix + seq + (duplicate ? ',"duplicate": true}' : '}'));
  }

  private pruneDedupe(nowMs: number): void {
    const win = this.cfg.duplicate_window / 1e6;
    for (const [id, e] of this.dedupe) {
      if (nowMs - e.ms < win) break;
      this.dedupe.delete(id);
    }
  }

  /** A message published to one of the stream's subjects. */
  processInbound(subject: string, reply: string | undefined, hdr: Buffer | null, data: Buffer): void {
    if (this.closed) return;
    const cfg = this.cfg;
    if (cfg.sealed) return this.ackError(reply, Err.streamSealed());
    if (hdr !== null) hdr = removeHeader(hdr, 'Nats-Request-Info');
    let msgId: string | undefined;
    let rollup: string | undefined;
    const nowMs = Date.now();
    if (hdr !== null) {
      if (hdr.length > MAX_HDR) return this.ackError(reply, Err.headerTooLarge());
      const hs = hdr.toString('latin1'); // one conversion for every lookup below
      const es = getHeader(hs, 'Nats-Expected-Stream');
      if (es !== undefined && es !== this.name) return this.ackError(reply, Err.streamNotMatch());
      msgId = getHeader(hs, 'Nats-Msg-Id');
      if (msgId !== undefined) {
        if (this.dedupeFrom !== 0) this.loadDedupe();
        this.pruneDedupe(nowMs);
        const d = this.dedupe.get(msgId);
        if (d !== undefined) return this.ackOk(reply, d.seq, true);
      }
      const elss = headerInt(getHeader(hs, 'Nats-Expected-Last-Subject-Sequence'));
      if (elss !== undefined) {
        const last = this.store.loadLast(subject);
        const ls = last ? last.seq : 0;
        if (elss !== ls) return this.ackError(reply, Err.streamWrongLastSequence(ls));
      }
      const els = headerInt(getHeader(hs, 'Nats-Expected-Last-Sequence'));
      if (els !== undefined) {
        const ls = this.store.state().lastSeq;
        if (els !== ls) return this.ackError(reply, Err.streamWrongLastSequence(ls));
      }
      const elm = getHeader(hs, 'Nats-Expected-Last-Msg-Id');
      if (elm !== undefined && elm !== this.lastMsgId) return this.ackError(reply, Err.streamWrongLastMsgId(this.lastMsgId));
      const r = getHeader(hs, 'Nats-Rollup');
      if (r !== undefined) {
        if (!cfg.allow_rollup_hdrs || cfg.deny_purge) return this.ackError(reply, Err.streamRollupFailed());
        rollup = r.toLowerCase();
        if (rollup !== 'sub' && rollup !== 'all') return; // nats-server: dropped, no reply
      }
    }
    const size = (hdr ? hdr.length : 0) + data.length;
    if (cfg.max_msg_size > 0 && size > cfg.max_msg_size) return this.ackError(reply, Err.streamMessageExceedsMaximum());
    if (this.js.overLimit(cfg.storage)) return this.ackError(reply, Err.insufficientResources());

    if (cfg.retention === 'interest' && !this.hasInterestIn(subject)) {
      const seq = this.store.state().lastSeq + 1;
      this.store.skipTo(seq);
      if (msgId !== undefined) this.dedupe.set(msgId, { seq: 0, ms: nowMs });
      return this.ackOk(reply, seq);
    }
    let seq: number;
    let ts: bigint;
    const lastOnSubject = cfg.republish ? this.store.loadLast(subject)?.seq ?? 0 : 0;
    try {
      ({ seq, ts } = this.store.store(subject, hdr, data, clockNs()));
    } catch (e) {
      if (e instanceof StoreError) {
        if (e.code === 'io') this.js.port.log.error(`JetStream failed to store a msg on stream '${this.acc.name} > ${this.name}': ${e.message}`);
        return this.ackError(reply, e.code === 'max_msg_size' ? Err.streamMessageExceedsMaximum() : Err.streamStoreFailed(e.message));
      }
      throw e;
    }
    // the account's own limit (nats-server: checked after the store; the message is taken back)
    if (this.acc.overLimit(cfg.storage)) {
      this.js.port.log.warn(`JetStream resource limits exceeded for account: "${this.acc.name}"`);
      this.store.remove(seq);
      return this.ackError(reply, Err.resourcesExceeded());
    }
    this.lastMsgId = msgId ?? '';
    if (msgId !== undefined) this.dedupe.set(msgId, { seq, ms: nowMs });
    if (rollup === 'sub') this.purgeInternal({ subject, keep: 1 });
    else if (rollup === 'all') this.purgeInternal({ keep: 1 });
    if (cfg.republish) this.republish(subject, hdr, data, seq, lastOnSubject);
    this.ackOk(reply, seq);
    if (this.followers.size > 0) this.stored({ seq, subject, hdr, data, ts });
    else for (const c of this.consumers.values()) c.signal(subject, seq);
  }

  private republish(subject: string, hdr: Buffer | null, data: Buffer, seq: number, last: number): void {
    const rp = this.cfg.republish!;
    const src = rp.src === '' ? '>' : rp.src;
    if (!subjectMatches(subject, src)) return;
    const dest = transformSubject(src, rp.dest, subject);
    const pairs: [string, string][] = [
      ['Nats-Stream', this.name],
      ['Nats-Subject', subject],
      ['Nats-Sequence', String(seq)],
      ['Nats-Last-Sequence', String(last)],
    ];
    if (rp.headers_only) pairs.push(['Nats-Msg-Size', String(data.length)]);
    this.acc.port.publish(dest, undefined, appendHeaders(hdr, pairs), rp.headers_only ? Buffer.alloc(0) : data);
  }

  /** Does any consumer want a message on `subject` (interest retention)? */
  private hasInterestIn(subject: string): boolean {
    for (const c of this.consumers.values()) if (c.filterMatches(subject)) return true;
    return false;
  }

  /** Interest/workqueue retention: remove `seq` when no consumer still needs it. */
  checkInterestRemoval(seq: number, subject?: string): void {
    if (this.cfg.retention === 'limits') return;
    if (this.cfg.retention === 'interest') {
      let subj = subject;
      if (subj === undefined) {
        const m = this.store.load(seq);
        if (!m) return;
        subj = m.subject;
      }
      for (const c of this.consumers.values()) if (c.needs(seq, subj)) return;
    }
    this.store.remove(seq);
  }

  /** Purge and move consumers past it. */
  purgeInternal(opts: { subject?: string; seq?: number; keep?: number }): number {
    const n = this.store.purge(opts);
    // stream.go purge: consumers matching the filter move to the first remaining message
    const st = this.store.state();
    let fseq = st.firstSeq;
    if (opts.subject !== undefined) fseq = this.store.loadNext(opts.subject, st.firstSeq)?.seq ?? 0;
    for (const c of this.consumers.values()) c.purged(opts.subject, fseq, st.lastSeq);
    return n;
  }

  private onStoreRemove(seq: number, subject: string): void {
    for (const c of this.consumers.values()) c.removedMsg(seq, subject);
  }

  /** A message was deleted through the API: consumers holding it pending drop it (like TERM). */
  msgDeleted(seq: number): void {
    for (const c of this.consumers.values()) c.removedMsg(seq);
  }

  /**
   * Recovery: the last msg id at once; the dedupe map lazily, on the first publish that carries a
   * Nats-Msg-Id (as nats-server's rebuildDedupe), since rebuilding it reads every message stored
   * within the duplicate window (1 M messages: about 1.3 s of a 1.5 s restart).
   */
  recoverDedupe(): void {
    const win = this.cfg.duplicate_window;
    const st = this.store.state();
    if (st.msgs === 0) return;
    const last = this.store.load(st.lastSeq);
    if (last) this.lastMsgId = getHeader(last.hdr, 'Nats-Msg-Id') ?? '';
    if (win <= 0) return;
    const since = BigInt(Date.now()) * 1_000_000n - BigInt(win);
    this.dedupeFrom = Math.max(1, this.store.seqFromTime(since));
  }

  /** Loads the dedupe entries of the messages stored before a restart (see recoverDedupe). */
  private loadDedupe(): void {
    let seq = this.dedupeFrom;
    this.dedupeFrom = 0;
    let m: StoredMsg | undefined;
    while ((m = this.store.loadNext('', seq)) !== undefined) {
      const id = getHeader(m.hdr, 'Nats-Msg-Id');
      if (id !== undefined) this.dedupe.set(id, { seq: m.seq, ms: Number(m.ts / 1_000_000n) });
      seq = m.seq + 1;
    }
  }

  /** Subjects of this stream collide with `subject`? */
  collides(subject: string): boolean {
    return this.cfg.subjects.some((s) => subjectsCollide(s, subject));
  }
}
