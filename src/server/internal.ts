// The server side of the JetStream port (src/jetstream/port.ts): internal subscriptions are
// SubscriptionTargets in the subject index of their account, internal publishes go through the
// same matching and delivery as a client's PUB/HPUB in that account; which accounts get JetStream
// (nats-server 2.9.10's rule). Also the hook that loads JetStream lazily when enabled.

import type { InternalSub, JsAccountLimits, JsAccountPort, JsAccountSpec, JsLog, JsPort, MsgHandler } from '../jetstream/port.js';
import type { Account } from './accounts/account.js';
import type { SubjectIndex } from './subjects.js';
import { Subscription, type Client, type SubscriptionTarget } from './client.js';
import type { Server, ServerHook } from './server.js';
import type { ServerOptions } from '../config/types.js';
import { goJson } from './monitor/http.js';

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
    private readonly index: SubjectIndex<Subscription>,
  ) {
    super(target, subject, queue, sid);
  }
  unsubscribe(): void {
    if (this.closed) return;
    this.closed = true;
    this.index.remove(this);
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

/** What every account port of one server shares: the internal subscriber and producer. */
interface PortCore {
  readonly target: InternalTarget;
  readonly producer: Client;
  nextSid(): string;
}

/** The messaging side of one account: internal subscriptions and publishes in its subject index. */
class AccountPort implements JsAccountPort {
  constructor(
    protected readonly acc: () => Account<Subscription>,
    protected readonly core: PortCore,
  ) {}

  get account(): string {
    return this.acc().name;
  }

  subscribe(subject: string, handler: MsgHandler, queue?: string): InternalSub {
    const index = this.acc().index;
    const sub = new InternalSubscription(this.core.target, subject, queue, this.core.nextSid(), handler, index);
    index.insert(sub);
    return sub;
  }

  publish(subject: string, reply: string | undefined, hdr: Buffer | null, data: Buffer, msgSubject?: string): boolean {
    const buf = hdr !== null && hdr.length > 0 ? Buffer.concat([hdr, data]) : data;
    const headerSize = hdr !== null && hdr.length > 0 ? hdr.length : -1;
    const r = this.acc().index.match(subject);
    let delivered = false;
    const p = this.core.producer;
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
    const r = this.acc().index.match(subject);
    if (queue === undefined) return r.plain.length > 0 || r.queues.length > 0;
    return r.queues.some((g) => g.length > 0 && g[0]!.queue === queue);
  }

  hasLeafs(): boolean {
    return this.acc().numLeafs > 0;
  }
}

/** The server as JetStream sees it: `$G`'s messaging, every account, log and identity. */
export class ServerPort extends AccountPort implements JsPort {
  readonly log: JsLog;

  constructor(readonly server: Server) {
    const l = server.logger;
    const log: JsLog = {
      notice: (m) => l.notice(m),
      warn: (m) => l.warn(m),
      error: (m) => l.error(m),
      debug: (m) => l.debug(m),
    };
    let sid = 0;
    const core: PortCore = {
      target: new InternalTarget(log),
      producer: new InternalProducer() as unknown as Client,
      nextSid: () => `js${++sid}`,
    };
    super(() => server.accounts.global, core);
    this.log = log;
  }

  get serverId(): string {
    return this.server.serverId;
  }
  get serverName(): string {
    return this.server.serverName;
  }

  accounts(): JsAccountSpec[] {
    return jetstreamAccounts(this.server);
  }

  forAccount(name: string): JsAccountPort | undefined {
    const reg = this.server.accounts;
    if (name === reg.global.name) return this;
    const a = reg.get(name);
    if (!a) return undefined;
    return new AccountPort(() => a, this.core);
  }
}

/**
 * Which accounts get JetStream (nats-server 2.9.10 enableJetStreamAccounts): with no account
 * besides `$G` and the system account (and not in operator mode), `$G` gets it (unlimited);
 * otherwise exactly the accounts whose configuration says `jetstream: enabled` or a limits map.
 * The system account never has it (a configuration that enables it is refused at start).
 */
export function jetstreamAccounts(server: Server): JsAccountSpec[] {
  const reg = server.accounts;
  const sys = reg.system;
  const all = [...reg.all()];
  const globalOnly = server.options.operator === undefined && all.every((a) => a === reg.global || a === sys);
  return all.map((a) => {
    let limits: JsAccountLimits | undefined;
    if (a === sys) limits = undefined;
    else if (a === reg.global && globalOnly) limits = a.jetstream ? { ...a.jetstream } : { maxMemory: -1, maxStore: -1, maxStreams: -1, maxConsumers: -1 };
    else limits = a.jetstream ? { ...a.jetstream } : undefined;
    return { name: a.name, limits };
  });
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
  /**
   * Re-reads which accounts have JetStream (after a reload, or when operator mode registers an
   * account): enables new ones (recovering their streams), updates limits, answers for the rest.
   */
  syncAccounts(): Promise<void>;
  /** Whether the named account has JetStream (nats-server's rule, see jetstreamAccounts()). */
  accountEnabled(name: string): boolean;
}

/** /jsz renders Go's uint64(-1) for unlimited account reservations (see the engine's jsz()). */
const U64_MAX_MARK = /"\$u64max"/g;

/**
 * With the server's JetStream off, nats-server 2.9.10 still imports `$JS.API.>` (from the system
 * account, where nobody answers) into every account whose configuration enables JetStream: a
 * request there times out instead of getting no-responders. One silent internal subscription per
 * such account reproduces that without loading the engine.
 */
class SilentJsApi {
  private readonly subs = new Map<Account<Subscription>, InternalSub>();
  private port: ServerPort | undefined;
  constructor(private readonly server: Server) {}

  sync(): void {
    const reg = this.server.accounts;
    const want = new Set([...reg.all()].filter((a) => a.jetstream !== undefined && a !== reg.system));
    for (const [a, sub] of this.subs) {
      if (!want.has(a)) {
        sub.unsubscribe();
        this.subs.delete(a);
      }
    }
    for (const a of want) {
      if (this.subs.has(a)) continue;
      this.port ??= new ServerPort(this.server);
      const p = this.port.forAccount(a.name);
      if (p) this.subs.set(a, p.subscribe('$JS.API.>', () => {}));
    }
  }

  stop(): void {
    for (const sub of this.subs.values()) sub.unsubscribe();
    this.subs.clear();
  }
}

/** Starts JetStream at server start when the options enable it (dynamic import: no cost otherwise). */
export function jetstreamHook(options: ServerOptions): ServerHook {
  let silent: SilentJsApi | undefined;
  let offAdd: (() => void) | undefined;
  return {
    name: 'jetstream',
    async start(ctx) {
      if (!options.jetstream) {
        silent = new SilentJsApi(ctx.server);
        silent.sync();
        const s = silent;
        offAdd = ctx.server.accounts.onAdd(() => s.sync());
        return;
      }
      const sys = ctx.server.accounts.system;
      if (sys?.jetstream) throw new Error('Not allowed to enable JetStream on the system account');
      const { startJetStream } = await import('../jetstream/index.js');
      const js = await startJetStream(new ServerPort(ctx.server), {
        storeDir: ctx.options.storeDir,
        ...(ctx.options.jetstreamConfig ?? {}),
      });
      ctx.server.jetstream = js;
      // accounts registered later (operator mode resolving an account JWT) get JetStream or 10039
      offAdd = ctx.server.accounts.onAdd(() => {
        void js.syncAccounts().catch((e: unknown) => ctx.server.logger.error(`JetStream accounts: ${(e as Error).message}`));
      });
      const m = ctx.server.monitor;
      m.addVarzSection('jetstream', () => js.varz());
      m.addEndpoint('/jsz', (q) => ({ body: goJson(js.jsz(q)).replace(U64_MAX_MARK, '18446744073709551615') }));
    },
    async reload(ctx) {
      await ctx.server.jetstream?.syncAccounts();
      silent?.sync();
    },
    async stop(ctx) {
      offAdd?.();
      offAdd = undefined;
      silent?.stop();
      silent = undefined;
      const js = ctx.server.jetstream;
      ctx.server.jetstream = undefined;
      if (js) await js.stop();
    },
  };
}
