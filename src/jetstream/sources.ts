// Mirrors and sources on one server (nats-server 2.9.10 stream.go processInboundMirrorMsg /
// processInboundSourceMsg): instead of an internal push consumer over the wire, a link reads the
// origin's store to catch up and then receives each message the origin stores.

import type { StreamSource } from './config.js';
import { getHeader, removeHeader } from './headers.js';
import { timeToNs } from './json.js';
import type { StoredMsg } from './store/types.js';
import type { Stream } from './stream.js';
import { subjectMatches } from './subject.js';

export class SourceLink {
  /** Last origin sequence copied (0 = none yet). */
  lastOriginSeq = 0;
  private lastActive = Date.now();
  origin: Stream | undefined;

  constructor(
    readonly target: Stream,
    readonly spec: StreamSource,
    readonly mirror: boolean,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  private get filter(): string {
    return this.spec.filter_subject === '>' ? '' : this.spec.filter_subject;
  }

  /** Connects to the origin: copies what is missing, then follows new messages. */
  attach(origin: Stream): void {
    if (this.origin === origin) return;
    this.detach();
    this.origin = origin;
    let seq: number;
    const st = origin.store.state();
    if (this.lastOriginSeq > 0) seq = this.lastOriginSeq + 1;
    else if (this.spec.opt_start_seq > 0) seq = this.spec.opt_start_seq;
    else if (this.spec.opt_start_time !== '') seq = origin.store.seqFromTime(timeToNs(this.spec.opt_start_time) ?? 0n);
    else seq = Math.max(st.firstSeq, 1);
    let m: StoredMsg | undefined;
    while ((m = origin.store.loadNext(this.filter, seq)) !== undefined) {
      this.ingest(m);
      seq = m.seq + 1;
    }
    origin.followers.add(this);
    this.lastActive = Date.now();
  }

  detach(): void {
    this.origin?.followers.delete(this);
    this.origin = undefined;
  }

  /** A message the origin just stored. */
  onOriginMsg(m: StoredMsg): void {
    if (m.seq <= this.lastOriginSeq) return;
    if (this.filter !== '' && !subjectMatches(m.subject, this.filter)) return;
    this.ingest(m);
  }

  private ingest(m: StoredMsg): void {
    this.lastOriginSeq = m.seq;
    this.lastActive = Date.now();
    if (this.mirror) this.target.mirrorIngest(m);
    else this.target.sourceIngest(m, this.spec.name);
  }

  /** StreamSourceInfo `{name, lag, active}`. */
  info(): Record<string, unknown> {
    const last = this.origin ? this.origin.store.state().lastSeq : this.lastOriginSeq;
    return { name: this.spec.name, lag: Math.max(0, last - this.lastOriginSeq), active: (Date.now() - this.lastActive) * 1e6 };
  }
}

/** Strips the headers that would make a copied message fail the target's publish checks. */
export function sourceHeaders(hdr: Buffer | null): Buffer | null {
  for (const k of ['Nats-Expected-Stream', 'Nats-Expected-Last-Sequence', 'Nats-Expected-Last-Subject-Sequence', 'Nats-Expected-Last-Msg-Id']) {
    if (getHeader(hdr, k) !== undefined) hdr = removeHeader(hdr, k);
  }
  return hdr;
}
