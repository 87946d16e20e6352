// The system account's events (nats-server 2.9.10 events.go): connect/disconnect advisories per
// account, the auth error event, account connection counts, the STATSZ heartbeat, the shutdown
// event, and the OCSP peer advisories (nats-server 2.10). Events are queued on the bus (one push on
// the path that raised them) and built when sent. Request handling is in requests.ts.

import { availableParallelism } from 'node:os';
import type { Client, ConnSnapshot } from '../client.js';
import type { Server } from '../server.js';
import { NATS_VERSION } from '../info.js';
import { accountsView, GLOBAL_ACCOUNT, type AccountsView } from './accounts-view.js';
import { IndexBus, type SystemBus } from './bus.js';
import {
  Nuid,
  Subjects,
  accountConnsEventJson,
  connectEventJson,
  disconnectEventJson,
  serverInfoJson,
  serverInfoPrefix,
  type ServerInfoFields,
  ocspPeerLinkInvalidEvent,
  ocspPeerRejectEvent,
  serverInfo,
  serverStatsMsg,
  type CertInfo,
  type ClientFacts,
} from './messages.js';
import { preciseNow } from '../monitor/format.js';

/** nats-server's eventsHBInterval: STATSZ and account CONNS heartbeats. */
export const EVENTS_HB_INTERVAL_MS = 30_000;
/** How often the CONNS heartbeat looks for accounts due (their events are 30 s apart ± this / 2). */
export const CONNS_TICK_MS = 5_000;
/** The first STATSZ goes out this soon after start; the interval then doubles up to the heartbeat. */
export const FIRST_STATSZ_MS = 250;

export class SystemEvents {
  readonly bus: SystemBus;
  readonly accounts: AccountsView;
  readonly systemAccount: string;
  /** Every other account's `$SYS.REQ.ACCOUNT.PING.CONNZ|STATZ` answers (system-imports.ts). */
  imports: { sync(): void; close(): void } | undefined;
  private seq = 0;
  private readonly ids = new Nuid();
  private statszTimer: NodeJS.Timeout | undefined;
  private statszInterval = FIRST_STATSZ_MS;
  /** When each account's CONNS event was last sent (the heartbeat's clock). */
  private readonly connsSentAt = new Map<string, number>();
  private connsTicker: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastCpu = process.cpuUsage();
  private lastCpuAt = performance.now();
  private cpu = 0;

  constructor(readonly server: Server) {
    this.accounts = accountsView(server);
    this.systemAccount = this.accounts.systemAccount!;
    this.bus = new IndexBus(
      () => this.accounts.index(this.systemAccount)!,
      () => server.flushPending(),
      (m) => server.logger.error(m),
    );
  }

  start(): void {
    this.statszTimer = setTimeout(() => this.heartbeat(), this.statszInterval);
    this.statszTimer.unref();
    this.connsTicker = setInterval(() => this.connsHeartbeat(), CONNS_TICK_MS);
    this.connsTicker.unref();
  }

  // ---------------------------------------------------------------------------------------------
  // Common parts

  private infoFields(): ServerInfoFields {
    const s = this.server;
    const o = s.options;
    return {
      name: s.serverName,
      host: o.host,
      id: s.serverId,
      cluster: s.cluster?.name,
      domain: s.jetstream?.domain,
      version: NATS_VERSION,
      tags: o.serverTags,
      jetstream: s.jetstream !== undefined,
    };
  }

  /** A ServerInfo, stamped with the next sequence number (call when the message is built). */
  serverInfo(): Record<string, unknown> {
    return serverInfo(this.infoFields(), ++this.seq, preciseNow());
  }

  private prefixKey = '';
  private prefix = '';

  /** serverInfo() as JSON text (the hot events). */
  serverInfoJson(): string {
    const s = this.server;
    const o = s.options;
    const key = `${s.serverName}\u0000${o.host}\u0000${s.cluster?.name ?? ''}\u0000${s.jetstream?.domain ?? ''}\u0000${o.serverTags?.join('\u0000') ?? ''}`;
    if (key !== this.prefixKey) {
      this.prefixKey = key;
      this.prefix = serverInfoPrefix(this.infoFields());
    }
    return serverInfoJson(this.prefix, s.jetstream !== undefined, ++this.seq, preciseNow());
  }

  nextId(): string {
    return this.ids.next();
  }

  private clientFacts(c: Client, snap: ConnSnapshot, account: string): ClientFacts {
    const f: ClientFacts = {
      start: snap.start,
      host: snap.ip,
      id: snap.cid,
      account,
      user: c.rawAuthUser,
      name: snap.name,
      lang: snap.lang,
      version: snap.version,
      rttNs: snap.rttNs > 0 ? snap.rttNs : (Date.now() - snap.start) * 1e6,
      clientType: c.transport?.type ?? 'nats',
    };
    if (snap.stop !== undefined) f.stop = snap.stop;
    return f;
  }

  // ---------------------------------------------------------------------------------------------
  // Client events (called by the server; each is one queue push on the caller's path)

  /** A client completed CONNECT: `$SYS.ACCOUNT.<acc>.CONNECT` (not for the global account). */
  clientConnected(c: Client): void {
    const acc = this.accounts.accountOf(c);
    if (acc === GLOBAL_ACCOUNT) return;
    // Bound to its account: that account's connection count changed (sent before CONNECT, as nats-server).
    this.accountConnsChanged(acc);
    const subject = Subjects.connect(acc);
    if (!this.bus.hasInterest(subject)) return;
    const at = preciseNow();
    const id = this.nextId();
    this.bus.publish(subject, undefined, () => {
      const snap = c.snapshot(false);
      delete snap.stop;
      return connectEventJson(id, at, this.serverInfoJson(), this.clientFacts(c, snap, acc));
    });
  }

  /**
   * A client closed: the auth error event when it failed authentication, the DISCONNECT advisory
   * when it was bound to an account other than `$G`.
   */
  clientClosed(c: Client, snap: ConnSnapshot, account: string, authFailed: boolean): void {
    const stop = snap.stop ?? preciseNow();
    const facts = (): ClientFacts => this.clientFacts(c, { ...snap, stop }, account);
    const sent = { msgs: snap.inMsgs, bytes: snap.inBytes };
    const received = { msgs: snap.outMsgs, bytes: snap.outBytes };
    if (account !== GLOBAL_ACCOUNT) {
      const subject = Subjects.disconnect(account);
      if (this.bus.hasInterest(subject)) {
        const id = this.nextId();
        const reason = snap.reason ?? 'Client Closed';
        this.bus.publish(subject, undefined, () => disconnectEventJson(id, stop, this.serverInfoJson(), facts(), sent, received, reason));
      }
    }
    if (authFailed) {
      const subject = Subjects.authError(this.server.serverId);
      if (!this.bus.hasInterest(subject)) return;
      const id = this.nextId();
      this.bus.publish(subject, undefined, () => disconnectEventJson(id, stop, this.serverInfoJson(), facts(), sent, received, 'Authentication Failure'));
    }
  }

  /**
   * An account's number of connections changed: `$SYS.SERVER.ACCOUNT.<acc>.CONNS` (old subject)
   * and `$SYS.ACCOUNT.<acc>.SERVER.CONNS`, repeated every 30 s while the account has connections.
   * `removed` from `$G` sends nothing (nats-server's rule: a client leaves `$G` when it binds to its account).
   */
  accountConnsChanged(account: string, removed = false): void {
    if (removed && account === GLOBAL_ACCOUNT) return;
    this.sendAccountConns(account, [Subjects.accConnsOld(account), Subjects.accConnsNew(account)]);
  }

  /** Sends the account's AccountNumConns to `subjects` (one event id for all) that have subscribers. */
  sendAccountConns(account: string, subjects: string[]): void {
    if (this.stopped) return;
    this.connsSentAt.set(account, Date.now());
    const to = subjects.filter((x) => this.bus.hasInterest(x));
    if (to.length === 0) return;
    const id = this.nextId();
    const at = preciseNow();
    const stat = this.accounts.stat(account);
    for (const subj of to) this.bus.publish(subj, undefined, () => accountConnsEventJson(id, at, this.serverInfoJson(), stat));
  }

  /**
   * The CONNS heartbeat: an account with connections whose last CONNS event is 30 s old sends one
   * (nats-server re-arms a per-account 30 s timer on every change; one ticker keeps the connect
   * path free of timer work).
   */
  private connsHeartbeat(): void {
    const now = Date.now();
    for (const name of this.accounts.names()) {
      const st = this.accounts.stat(name);
      if (st.conns + st.leafnodes === 0) {
        this.connsSentAt.delete(name);
        continue;
      }
      const last = this.connsSentAt.get(name);
      if (last === undefined || now - last >= EVENTS_HB_INTERVAL_MS - CONNS_TICK_MS / 2) this.accountConnsChanged(name);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Server events

  private heartbeat(): void {
    if (this.stopped) return;
    if (this.statszInterval < EVENTS_HB_INTERVAL_MS) this.statszInterval = Math.min(this.statszInterval * 2, EVENTS_HB_INTERVAL_MS);
    this.statszTimer = setTimeout(() => this.heartbeat(), this.statszInterval);
    this.statszTimer.unref();
    this.sendStatsz(Subjects.statsz(this.server.serverId));
  }

  /** Queues a ServerStatsMsg to `subject`. */
  sendStatsz(subject: string): void {
    this.bus.publish(subject, undefined, () => serverStatsMsg(this.serverInfo(), this.statsFacts()));
  }

  private cpuPercent(): number {
    const now = performance.now();
    const ms = now - this.lastCpuAt;
    if (ms >= 100) {
      const u = process.cpuUsage(this.lastCpu);
      this.lastCpu = process.cpuUsage();
      this.lastCpuAt = now;
      this.cpu = Math.round(((u.user + u.system) / 1000 / ms) * 1000) / 10;
    }
    return this.cpu;
  }

  statsFacts(): Parameters<typeof serverStatsMsg>[1] {
    const s = this.server;
    let active = 0;
    for (const n of this.accounts.names()) if (this.accounts.stat(n).conns > 0) active++;
    const routes: Array<Record<string, unknown>> = [];
    for (const r of s.cluster?.routes.values() ?? []) routes.push(routeStat(r));
    return {
      start: s.startTime,
      mem: process.memoryUsage.rss(),
      cores: availableParallelism(),
      cpu: this.cpuPercent(),
      connections: s.clients.size,
      totalConnections: s.totalConnections,
      activeAccounts: active,
      subscriptions: this.subscriptions(),
      sent: { msgs: s.outMsgs, bytes: s.outBytes },
      received: { msgs: s.inMsgs, bytes: s.inBytes },
      slowConsumers: s.slowConsumers,
      routes,
      ...(s.jetstream ? { jetstream: s.jetstream.varz() } : {}),
    };
  }

  /** Subscriptions in every account's index (nats-server's numSubscriptions). */
  private subscriptions(): number {
    const seen = new Set<unknown>();
    let n = 0;
    for (const name of this.accounts.names()) {
      const i = this.accounts.index(name);
      if (!i || seen.has(i)) continue;
      seen.add(i);
      n += i.count;
    }
    return n;
  }

  /** `$SYS.SERVER.<id>.OCSP.PEER.CONN.REJECT` (nats-server 2.10). */
  ocspPeerReject(kind: string, peer: CertInfo, reason: string): void {
    const id = this.nextId();
    const at = preciseNow();
    this.bus.publish(Subjects.ocspPeerReject(this.server.serverId), undefined, () => ocspPeerRejectEvent(id, at, this.serverInfo(), kind, peer, reason));
  }

  /** `$SYS.SERVER.<id>.OCSP.PEER.LINK.INVALID` (nats-server 2.10). */
  ocspPeerLinkInvalid(link: CertInfo, peer: CertInfo, reason: string): void {
    const id = this.nextId();
    const at = preciseNow();
    this.bus.publish(Subjects.ocspPeerLinkInvalid(this.server.serverId), undefined, () => ocspPeerLinkInvalidEvent(id, at, this.serverInfo(), link, peer, reason));
  }

  /** The shutdown event (its ServerInfo as body), sent at once; then the bus stops. */
  shutdown(): void {
    if (this.stopped) return;
    this.bus.publish(Subjects.shutdown(this.server.serverId), undefined, () => this.serverInfo());
    this.stop();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.statszTimer) clearTimeout(this.statszTimer);
    if (this.connsTicker) clearInterval(this.connsTicker);
    this.connsSentAt.clear();
    this.imports?.close();
    this.bus.close();
  }
}

/** RouteStat of a route connection (rid, name, sent, received, pending). */
function routeStat(r: unknown): Record<string, unknown> {
  const x = r as { cid?: number; remoteInfo?: { name?: string }; outMsgs?: number; outBytes?: number; inMsgs?: number; inBytes?: number; pendingBytes?: number };
  const o: Record<string, unknown> = { rid: x.cid ?? 0 };
  if (x.remoteInfo?.name) o.name = x.remoteInfo.name;
  o.sent = { msgs: x.outMsgs ?? 0, bytes: x.outBytes ?? 0 };
  o.received = { msgs: x.inMsgs ?? 0, bytes: x.inBytes ?? 0 };
  o.pending = x.pendingBytes ?? 0;
  return o;
}
