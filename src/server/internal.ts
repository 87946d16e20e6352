// The server side of the JetStream port (src/jetstream/port.ts): internal subscriptions are
// SubscriptionTargets in the subject index, internal publishes go through the same matching and
// delivery as a client's PUB/HPUB. Also the hook that loads JetStream lazily when enabled.

import type { InternalSub, JsLog, JsPort, MsgHandler } from '../jetstream/port.js';
import { Subscription, type Client, type SubscriptionTarget } from './client.js';
import type { Server, ServerHook } from './server.js';
import type { ServerOptions } from '../config/types.js';

/** Stands in for a producing Client when the server itself publishes (stall gate stubs). */
export class InternalProducer {
  readonly parser = { chunksReused: false };
  readonly echo = true;
  stall: unknown = undefined;
  stallCount = 0;
  updateReading(): void {}
  stallEnded(): void {
    this.stall = undefined;
  }
  debug(): void {}
}

class InternalSubscription extends Subscription implements InternalSub {
  constructor(
    target: SubscriptionTarget,
    subject: string,
    queue: string | undefined,
    sid: string,
    readonly handler: MsgHandler,
    private readonly port: ServerPort,
  ) {
    super(target, subject, queue, sid);
  }
  unsubscribe(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.server.index.remove(this);
  }
}

/** The internal subscriber: copies each message and calls the subscription's handler. */
class InternalTarget implements SubscriptionTarget {
  constructor(private readonly log: JsLog) {}
  deliver(
    _producer: Client,
    sub: Subscription,
    subject: string,
    reply: string | undefined,
    headerSize: number,
    data: Buffer,
    start: number,
    end: number,
    _payload?: Buffer | null,
    msgSubject?: string,
  ): boolean {
    if (sub.closed) return false;
    if (msgSubject !== undefined) subject = msgSubject;
    const buf = Buffer.from(data.subarray(start, end));
    const hdr = headerSize >= 0 ? buf.subarray(0, headerSize) : null;
    const body = headerSize >= 0 ? buf.subarray(headerSize) : buf;
    try {
      (sub as InternalSubscription).handler(subject, reply || undefined, hdr, body);
    } catch (e) {
      this.log.error(`JetStream internal handler for "${subject}": ${(e as Error).stack ?? e}`);
    }
    return true;
  }
}

export class ServerPort implements JsPort {
  readonly log: JsLog;
  private readonly target: InternalTarget;
  private readonly producer = new InternalProducer() as unknown as Client;
  private sid = 0;

  constructor(readonly server: Server) {
    const l = server.logger;
    this.log = {
      notice: (m) => l.notice(m),
      warn: (m) => l.warn(m),
      error: (m) => l.error(m),
      debug: (m) => l.debug(m),
    };
    this.target = new InternalTarget(this.log);
  }

  get serverId(): string {
    return this.server.serverId;
  }
  get serverName(): string {
    return this.server.serverName;
  }

  subscribe(subject: string, handler: MsgHandler, queue?: string): InternalSub {
    const sub = new InternalSubscription(this.target, subject, queue, `js${++this.sid}`, handler, this);
    this.server.index.insert(sub);
    return sub;
  }

  publish(subject: string, reply: string | undefined, hdr: Buffer | null, data: Buffer, msgSubject?: string): boolean {
    const buf = hdr !== null && hdr.length > 0 ? Buffer.concat([hdr, data]) : data;
    const headerSize = hdr !== null && hdr.length > 0 ? hdr.length : -1;
    const r = this.server.index.match(subject);
    let delivered = false;
    const p = this.producer;
    for (const sub of r.plain) {
      if (sub.client.deliver(p, sub, subject, reply, headerSize, buf, 0, buf.length, buf, msgSubject)) delivered = true;
    }
    for (const group of r.queues) {
      const n = group.length;
      const at = n === 1 ? 0 : Math.floor(Math.random() * n);
      for (let k = 0; k < n; k++) {
        const sub = group[(at + k) % n]!;
        if (sub.client.deliver(p, sub, subject, reply, headerSize, buf, 0, buf.length, buf, msgSubject)) {
          delivered = true;
          break;
        }
      }
    }
    return delivered;
  }

  hasInterest(subject: string, queue?: string): boolean {
    const r = this.server.index.match(subject);
    if (queue === undefined) return r.plain.length > 0 || r.queues.length > 0;
    return r.queues.some((g) => g.length > 0 && g[0]!.queue === queue);
  }
}

/** The JetStream engine as the server sees it (loaded lazily). */
export interface JetStreamHandle {
  stop(): Promise<void>;
  /** /varz `jetstream`, /jsz. */
  varz(): unknown;
  jsz(params: URLSearchParams): unknown;
  /** /metrics series (src/server/monitor/jetstream-metrics.ts). */
  metrics(): import('./monitor/jetstream-metrics.js').JetStreamMetricsView;
  /** `$JS.API.INFO`-like summary for INFO `domain`. */
  readonly domain: string | undefined;
}

/** Starts JetStream at server start when the options enable it (dynamic import: no cost otherwise). */
export function jetstreamHook(options: ServerOptions): ServerHook {
  return {
    name: 'jetstream',
    async start(ctx) {
      if (!options.jetstream) return;
      const { startJetStream } = await import('../jetstream/index.js');
      const js = await startJetStream(new ServerPort(ctx.server), {
        storeDir: ctx.options.storeDir,
        ...(ctx.options.jetstreamConfig ?? {}),
      });
      ctx.server.jetstream = js;
      const m = ctx.server.monitor;
      m.addVarzSection('jetstream', () => js.varz());
      m.addEndpoint('/jsz', (q) => ({ body: js.jsz(q) }));
    },
    async stop(ctx) {
      const js = ctx.server.jetstream;
      ctx.server.jetstream = undefined;
      if (js) await js.stop();
    },
  };
}
