// The system account's internal client (nats-server's `s.sys.client`): internal subscriptions in
// the system account's subject index, and a send queue drained on a later turn of the event loop
// (setImmediate), so an event raised on a connect, close or publish path costs that path one array
// push; the JSON is built and delivered afterwards, in order, as nats-server's internalSendLoop does.

import { Subscription, type Client, type SubscriptionTarget } from '../client.js';
import type { SubjectIndex } from '../subjects.js';
import { InternalProducer } from '../internal.js';

/** Handler of an internal subscription: the header block (or null) and the body are copies. */
export type SysHandler = (subject: string, reply: string | undefined, hdr: Buffer | null, data: Buffer) => void;

/** What the events and request handlers need from the system account. */
export interface SystemBus {
  subscribe(subject: string, handler: SysHandler): { unsubscribe(): void };
  /** Queues a message (body: object → JSON, string/Buffer as is); sent on a later tick. */
  publish(subject: string, reply: string | undefined, body: unknown, headers?: Record<string, string>): void;
  /** Whether anything subscribes to `subject` (events nobody receives are not built). */
  hasInterest(subject: string): boolean;
  /** Sends everything queued now (shutdown). */
  flush(): void;
  close(): void;
}

class SysSubscription extends Subscription {
  constructor(
    target: SubscriptionTarget,
    subject: string,
    sid: string,
    readonly handler: SysHandler,
  ) {
    super(target, subject, undefined, sid);
  }
}

interface Queued {
  subject: string;
  reply: string | undefined;
  /** A function builds the body when the message is sent (so the queueing path stays cheap). */
  body: unknown;
  headers?: Record<string, string>;
}

/**
 * The bus over one subject index (the system account's). `index` is looked up on every use, so the
 * bus follows the account if the index object changes.
 */
export class IndexBus implements SystemBus, SubscriptionTarget {
  private readonly producer = new InternalProducer() as unknown as Client;
  private readonly subs = new Set<SysSubscription>();
  private queue: Queued[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private sid = 0;
  private closed = false;

  constructor(
    private readonly index: () => SubjectIndex<Subscription>,
    private readonly afterSend: () => void,
    private readonly onError: (m: string) => void,
  ) {}

  subscribe(subject: string, handler: SysHandler): { unsubscribe(): void } {
    const sub = new SysSubscription(this, subject, `sys${++this.sid}`, handler);
    this.index().insert(sub);
    this.subs.add(sub);
    return {
      unsubscribe: () => {
        if (sub.closed) return;
        sub.closed = true;
        this.subs.delete(sub);
        this.index().remove(sub);
      },
    };
  }

  hasInterest(subject: string): boolean {
    const index = this.index();
    // Only the bus's own subscriptions in the index (no system account user subscribed): no match needed.
    if (index.count <= this.subs.size) return false;
    const r = index.match(subject);
    return r.plain.length > 0 || r.queues.length > 0;
  }

  publish(subject: string, reply: string | undefined, body: unknown, headers?: Record<string, string>): void {
    if (this.closed) return;
    const m: Queued = { subject, reply, body };
    if (headers) m.headers = headers;
    this.queue.push(m);
    this.scheduled ??= setImmediate(() => {
      this.scheduled = undefined;
      this.flush();
    });
  }

  flush(): void {
    if (this.scheduled) {
      clearImmediate(this.scheduled);
      this.scheduled = undefined;
    }
    while (this.queue.length > 0) {
      const q = this.queue;
      this.queue = [];
      for (const m of q) {
        try {
          this.send(m);
        } catch (e) {
          this.onError(`Error sending system message on "${m.subject}": ${(e as Error).stack ?? e}`);
        }
      }
    }
    this.afterSend();
  }

  private send(m: Queued): void {
    const r = this.index().match(m.subject);
    // Nobody listening (the usual case): the body is never built.
    if (r.plain.length === 0 && r.queues.length === 0) return;
    let body = m.body;
    if (typeof body === 'function') body = (body as () => unknown)();
    const data = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    let buf = data;
    let headerSize = -1;
    if (m.headers) {
      let h = 'NATS/1.0\r\n';
      for (const [k, v] of Object.entries(m.headers)) h += `${k}: ${v}\r\n`;
      const hb = Buffer.from(h + '\r\n');
      headerSize = hb.length;
      buf = Buffer.concat([hb, data]);
    }
    const p = this.producer;
    // No echo (nats-server's system client): the internal subscriptions never hear the bus itself,
    // so a request whose reply subject is a request subject cannot loop.
    for (const sub of r.plain) if (sub.client !== this) sub.client.deliver(p, sub, m.subject, m.reply, headerSize, buf, 0, buf.length, buf);
    for (const group of r.queues) {
      const n = group.length;
      const at = n === 1 ? 0 : Math.floor(Math.random() * n);
      for (let k = 0; k < n; k++) {
        const sub = group[(at + k) % n]!;
        if (sub.client !== this && sub.client.deliver(p, sub, m.subject, m.reply, headerSize, buf, 0, buf.length, buf)) break;
      }
    }
  }

  /** Messages published into the system account reach the internal subscriptions here. */
  deliver(
    _producer: Client,
    sub: Subscription,
    subject: string,
    reply: string | undefined,
    headerSize: number,
    data: Buffer,
    start: number,
    end: number,
  ): boolean {
    if (sub.closed || this.closed) return false;
    const buf = Buffer.from(data.subarray(start, end));
    const hdr = headerSize >= 0 ? buf.subarray(0, headerSize) : null;
    const body = headerSize >= 0 ? buf.subarray(headerSize) : buf;
    try {
      (sub as SysSubscription).handler(subject, reply || undefined, hdr, body);
    } catch (e) {
      this.onError(`System request handler for "${subject}": ${(e as Error).stack ?? e}`);
    }
    return true;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    for (const s of [...this.subs]) {
      s.closed = true;
      this.index().remove(s);
    }
    this.subs.clear();
  }
}
