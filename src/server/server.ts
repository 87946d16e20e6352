// The server: listeners, connections, lifecycle (start-up, reload, lame duck mode, shutdown), and
// the extension points the OCSP stapling integration uses (see `ServerHook` and docs/embedding.md).

import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { ServerOptions } from '../config/types.js';
import { Authenticator } from './auth.js';
import { newNonce } from './nkey.js';
import { Client, ClosedReason, type ClientTransport, type ConnSnapshot, type Subscription } from './client.js';
import type { WebsocketListener } from './websocket/listener.js';
import { baseInfo, InfoTemplate, TSNATS_VERSION, RUNTIME } from './info.js';
import { Logger, type LogSink } from './logger.js';
import { Monitor } from './monitor/http.js';
import { removePidFile, removePortsFile, writePidFile, writePortsFile, type PortsInfo } from './ports.js';
import { diffOptions, ReloadError } from './reload.js';
import type { SubjectIndex } from './subjects.js';
import { Accounts } from './accounts/registry.js';
import type { AccountConfig } from '../config/types.js';
import { TlsConfig, TlsManager } from './tls.js';
import { OcspRegistry } from './ocsp-registry.js';
import type { OcspPeerGate } from './ocsp-peer-hook.js';
import type { JetStreamHandle } from './internal.js';
import { ERR_MAX_CONNECTIONS } from '../protocol/errors.js';
import { goDuration } from './monitor/format.js';
import type { Cluster } from './cluster.js';
import { newServerId } from './server-id.js';
import { listenOptions } from './listen.js';
import type { Leafnodes } from './leafnodes.js';
import type { AccountLinks } from './accounts/imports.js';

/** Process exit statuses (see docs/server.md). */
export const ExitCode = {
  /** Normal shutdown (signal, lame duck mode completed, `close()`). */
  OK: 0,
  /** Bad configuration or a start-up failure. */
  ERROR: 1,
  /**
   * A certificate's OCSP status became revoked (or unknown) while running in OCSP mode `must`
   * or `always`: the server shut down rather than serve it. (nats-server exits 0 there; tsnats
   * uses a distinct status so supervisors can tell.)
   */
  OCSP_REVOKED: 20,
} as const;

/** What a hook sees. */
export interface HookContext {
  server: Server;
  /** Undefined when no `tls {}` is configured. */
  tls: TlsManager | undefined;
  options: ServerOptions;
  log: LogSink;
}

/**
 * Extension points around the TLS layer and the lifecycle. The OCSP stapling integration is one
 * of these: `start` attaches the stapler to every `ctx.tls.servers()` (and may fetch the first
 * staples, throwing to refuse start-up), `reload` re-evaluates after certificates changed,
 * `stop` stops its timers. All are awaited in registration order.
 */
export interface ServerHook {
  name: string;
  /** After TLS is built, before any listener accepts (before `Server is ready`). */
  start?(ctx: HookContext): void | Promise<void>;
  /**
   * During a reload, before anything is applied: `next.tls` is the new TLS configuration, built
   * but not yet serving (undefined when the reload removes TLS). Return a TlsConfig to serve
   * instead (e.g. the OCSP hook keeps a certificate whose successor has no good staple), or
   * nothing to keep `next.tls`. Throwing refuses the reload; nothing is applied.
   */
  beforeReload?(ctx: HookContext, next: ReloadPlan): void | TlsConfig | Promise<void | TlsConfig>;
  /** After a successful reload (TLS contexts already rebuilt). */
  reload?(ctx: HookContext): void | Promise<void>;
  /** During shutdown, after clients are closed. */
  stop?(ctx: HookContext): void | Promise<void>;
}

/** What a reload is about to apply (see `ServerHook.beforeReload`). */
export interface ReloadPlan {
  options: ServerOptions;
  tls: TlsConfig | undefined;
}

export interface ServerInit {
  logger?: Logger;
  hooks?: ServerHook[];
  /** Warnings from the configuration loader, logged at start. */
  configWarnings?: string[];
  /** `sha256:<hex>` of the configuration file (for /varz config_digest). */
  configDigest?: string;
  /** Name used for the ports file: `<exeName>_<pid>.ports` (default: basename of argv[1] or "tsnats"). */
  exeName?: string;
}

interface ClosedEntry {
  snap: ConnSnapshot;
}

export class Server {
  options: ServerOptions;
  readonly logger: Logger;
  auth: Authenticator;
  tls: TlsManager | undefined;
  /** Every account: `$G`, the configured ones and the system account (src/server/accounts/). */
  readonly accounts: Accounts<Subscription>;
  readonly clients = new Map<number, Client>();
  readonly serverId: string;
  readonly hooks: ServerHook[];
  readonly startTime = Date.now();
  configLoadTime = Date.now();
  configDigest: string | undefined;
  readonly monitor: Monitor;
  /** Staplers in service (filled by the stapling hook, read by monitoring and metrics). */
  readonly ocsp = new OcspRegistry();
  /** OCSP checking of TLS peers' certificates, while `ocsp_peer` is on (ocsp-peer-hook.ts). */
  ocspPeer: OcspPeerGate | undefined = undefined;
  /** The `websocket {}` listener (loaded only when configured). */
  websocket: WebsocketListener | undefined;
  /** The route manager when `cluster {}` is configured (src/server/cluster.ts, loaded lazily). */
  cluster: Cluster | null = null;
  /** The JetStream engine while enabled (set by the jetstream hook, src/server/internal.ts). */
  jetstream: JetStreamHandle | undefined;
  /** The leaf node manager when `leafnodes {}` is configured (src/server/leafnodes.ts, loaded lazily). */
  leafnodes: Leafnodes | null = null;
  /** Imports/exports between accounts and subject mappings (src/server/accounts/imports.ts, loaded lazily). */
  links: AccountLinks | undefined;
  /** The system account's events and requests (src/server/events, loaded when something can listen). */
  events: import('./events/system.js').SystemEvents | undefined;

  // statistics
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  slowConsumers = 0;
  staleConnections = 0;
  totalConnections = 0;

  private nextCid = 0;
  private info!: InfoTemplate;
  private listener: NetServer | undefined;
  private listenHost = '';
  private listenPort = 0;
  private readonly pending: Client[] = [];
  private closedRing: ClosedEntry[] = [];
  private closedHead = 0;
  private running = false;
  private shuttingDown = false;
  private ldm = false;
  private readonly exeName: string;
  private portsFile: string | undefined;
  private pidFileWritten: string | undefined;
  private readonly configWarnings: string[];
  private exitResolve!: (code: number) => void;
  /** Resolves with the exit status when the server has shut down. */
  readonly exited: Promise<number>;
  private shutdownPromise: Promise<void> | undefined;

  constructor(options: ServerOptions, init: ServerInit = {}) {
    this.options = options;
    this.logger =
      init.logger ??
      new Logger({
        debug: options.debug,
        trace: options.trace,
        logtime: options.logtime,
        logtimeUtc: options.logtimeUtc,
        logFile: options.logFile,
      });
    this.hooks = [...(init.hooks ?? [])];
    this.configWarnings = init.configWarnings ?? [];
    this.configDigest = init.configDigest;
    this.exeName = init.exeName ?? 'tsnats';
    this.serverId = newServerId();
    this.accounts = new Accounts<Subscription>(options);
    this.auth = new Authenticator(options);
    this.monitor = new Monitor(this);
    this.exited = new Promise((r) => (this.exitResolve = r));
  }

  /** Adds a hook (before start). */
  addHook(h: ServerHook): void {
    this.hooks.push(h);
  }

  /**
   * What takes part in a publish beyond local subscribers: the leaf manager while leaf connections
   * exist (it also drives routes), else the route manager, else nothing (local delivery only).
   */
  linkPublisher(): Cluster | Leafnodes | null {
    const l = this.leafnodes;
    return l !== null && l.leafs.size > 0 ? l : this.cluster;
  }

  /** The global account's subject index (`$G`: every connection without an account). */
  get index(): SubjectIndex<Subscription> {
    return this.accounts.global.index;
  }

  get serverName(): string {
    return this.options.serverName ?? this.serverId;
  }

  /** The resolved client port (after listening). */
  get port(): number {
    return this.listenPort;
  }

  get host(): string {
    return this.listenHost;
  }

  get isRunning(): boolean {
    return this.running;
  }

  get inLameDuckMode(): boolean {
    return this.ldm;
  }

  private hookContext(): HookContext {
    return { server: this, tls: this.tls, options: this.options, log: this.logger };
  }

  // -------------------------------------------------------------------------------------------
  // Start-up

  async start(): Promise<void> {
    const o = this.options;
    const log = this.logger;
    log.notice('Starting tsnats');
    log.notice(`  Version:  ${TSNATS_VERSION}`);
    log.notice('  Git:      [not set]');
    log.debug(`  Node:     ${process.version}`);
    log.notice(`  Name:     ${this.serverName}`);
    log.notice(`  ID:       ${this.serverId}`);
    if (this.auth.hasPlaintextPasswords) log.warn('Plaintext passwords detected, use nkeys or bcrypt');
    if (o.configFile) log.notice(`Using configuration file: ${o.configFile}`);
    for (const w of this.configWarnings) log.warn(w);
    if (o.operator) {
      const register = (cfg: AccountConfig): void => {
        const acc = this.accounts.addFromJwt(cfg);
        if (cfg.name === o.systemAccount) this.accounts.system = acc;
      };
      await (await import('./jwt/startup.js')).startOperatorMode(o.operator, o.systemAccount, log, register);
    }

    // nats-server runs JetStream clustered (a Raft meta group) when both are on; tsnats has only
    // the single-server engine, so it refuses rather than serve a JetStream no peer can see.
    if (o.jetstream && o.cluster && o.cluster.port !== 0) {
      throw new Error('JetStream in a cluster (clustered JetStream) is not supported by tsnats yet: enable one of `jetstream` and `cluster`');
    }
    if (o.tls) this.tls = new TlsManager(o.tls);
    await this.monitor.prepare();
    for (const h of this.hooks) if (h.start) await h.start(this.hookContext());
    await this.applyAccountLinks(o);
    // Operator mode registers accounts as their users log in: their imports, exports and mappings
    // (and those of accounts importing from them) are bridged then.
    this.accounts.onAdd((a) => {
      if (a.dynamic && this.links) this.links.apply(this.options);
    });

    await this.monitor.start();
    await this.listen();
    // Clients may connect while the listeners below start: they need the INFO template already.
    this.rebuildInfo();
    if (o.websocket && o.websocket.port !== 0) {
      const { WebsocketListener } = await import('./websocket/listener.js');
      this.websocket = new WebsocketListener(this);
      await this.websocket.start();
    }
    // Leaf nodes first: route INFOs carry our leaf URL (as nats-server's).
    if (o.leafnodes && (o.leafnodes.port !== 0 || o.leafnodes.remotes.length > 0)) {
      const { startLeafnodes } = await import('./leafnodes.js');
      this.leafnodes = await startLeafnodes(this, o.leafnodes);
    }
    if (o.cluster && o.cluster.port !== 0) {
      const { startCluster } = await import('./cluster-setup.js');
      this.cluster = await startCluster(this, o.cluster);
      this.rebuildInfo(); // with the cluster's parts
    }
    if (o.pidFile) {
      writePidFile(o.pidFile);
      this.pidFileWritten = o.pidFile;
    }
    this.writePorts();
    this.running = true;
    log.notice('Server is ready');
  }

  private async listen(): Promise<void> {
    const o = this.options;
    // TCP keepalive as Go sets it on accepted connections (15 s); an initial delay of 0 would be
    // rejected by the kernel (EINVAL) on every accept.
    const srv = createNetServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 15_000 }, (s) => this.acceptConnection(s));
    const port = o.port === -1 || o.port === 0 ? 0 : o.port;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(listenOptions(o.host, port), () => {
        srv.removeListener('error', reject);
        resolve();
      });
    }).catch((e: NodeJS.ErrnoException) => {
      throw new Error(`Error listening on port: ${o.host}:${o.port}, "${e.message}"`);
    });
    srv.on('error', (e) => this.logger.error(`Error accepting client connection: ${e.message}`));
    this.listener = srv;
    const addr = srv.address();
    this.listenHost = o.host;
    this.listenPort = typeof addr === 'object' && addr ? addr.port : port;
    this.logger.notice(`Listening for client connections on ${hostPort(o.host, this.listenPort)}`);
    if (this.tls) {
      this.logger.notice(o.allowNonTls ? 'TLS available for client connections' : 'TLS required for client connections');
    }
  }

  /** Rebuilds the INFO template (start, reload). */
  rebuildInfo(): void {
    const o = this.options;
    const tlsOn = !!this.tls;
    const hf = tlsOn && o.tls!.handshakeFirst !== false;
    this.info = new InfoTemplate(
      baseInfo({
        serverId: this.serverId,
        serverName: this.serverName,
        host: this.listenHost,
        port: this.listenPort,
        headers: !o.noHeaderSupport,
        authRequired: this.auth.required,
        tlsRequired: tlsOn && (!o.allowNonTls || hf),
        tlsVerify: tlsOn && (o.tls!.verify || o.tls!.verifyAndMap),
        tlsAvailable: tlsOn && o.allowNonTls && !hf,
        maxPayload: o.maxPayload,
        jetstream: this.jetstream !== undefined,
        domain: this.jetstream?.domain,
      }),
      this.cluster?.clientInfoParts(),
    );
  }

  /** Connection ids are shared by clients and routes (as nats-server's cid/rid). */
  nextConnectionId(): number {
    return ++this.nextCid;
  }

  infoFrame(cid: number, ip: string, ldm: boolean, nonce?: string): Buffer {
    return this.info.frame(cid, ip, ldm, nonce);
  }

  /** The INFO fields (without per-connection ones), for monitoring. */
  get infoFields(): InfoTemplate['fields'] {
    return this.info.fields;
  }

  // -------------------------------------------------------------------------------------------
  // Connections

  /**
   * A new client connection: plain TCP from the client port, or a socket-like transport
   * (websocket) with `init` run on the Client before it starts.
   */
  acceptConnection(sock: Socket, transport?: ClientTransport, init?: (c: Client) => void): void {
    if (this.shuttingDown || this.ldm) {
      sock.destroy();
      return;
    }
    const cid = ++this.nextCid;
    const c = new Client(this, sock, cid, transport);
    init?.(c);
    const max = this.options.maxConnections;
    // nats-server 2.9.10: a limit <= 0 means no limit.
    if (max > 0 && this.clients.size >= max) {
      sock.on('error', () => undefined);
      c.debug('Client connection created');
      const nonce = (transport ? transport.auth() : this.auth).nonceRequired ? newNonce() : undefined;
      sock.write(transport ? transport.info(cid, c.ip, false, nonce) : this.infoFrame(cid, c.ip, false, nonce));
      sock.end(ERR_MAX_CONNECTIONS.frame);
      c.error(ERR_MAX_CONNECTIONS.text);
      c.debug(`Client connection closed: ${ClosedReason.MaxConnectionsExceeded}`);
      this.recordClosed({ ...c.snapshot(false), stop: Date.now(), reason: ClosedReason.MaxConnectionsExceeded });
      return;
    }
    this.clients.set(cid, c);
    this.totalConnections++;
    // nats-server binds a new connection to the global account until it authenticates.
    this.events?.accountConnsChanged('$G');
    c.begin();
  }

  /**
   * Registers a client to be flushed once the current I/O callback is done. The first registration
   * schedules the flush with process.nextTick, which runs before the event loop goes back to I/O: no
   * added latency, and every read handled in one callback shares the flush (a TLS socket delivers
   * the records decrypted from one TCP read as several 'data' events, plain TCP as one).
   */
  markPending(c: Client): void {
    if (!c.flagged) {
      c.flagged = true;
      if (this.pending.push(c) === 1) process.nextTick(this.flushTick);
    }
  }

  private readonly flushTick = (): void => this.flushPending();

  /** Flushes every client that has output queued since the last flush (one write each). */
  flushPending(): void {
    const p = this.pending;
    if (p.length === 0) return;
    for (let i = 0; i < p.length; i++) p[i]!.flush();
    p.length = 0;
  }

  keepsClosedSubs(): boolean {
    return this.options.maxClosedClients > 0;
  }

  /** Called by a client when it closes. */
  clientClosed(c: Client, _wasOpen: boolean, subs: ConnSnapshot['subs']): void {
    this.clients.delete(c.cid);
    const snap = c.snapshot(false);
    snap.subs = subs;
    snap.numSubs = subs.length;
    snap.account = c.account.name;
    this.recordClosed(snap);
    const ev = this.events;
    if (ev) {
      // nats-server's order: the account's connection count, the DISCONNECT advisory, the auth error event.
      ev.accountConnsChanged(snap.account, true);
      ev.clientClosed(c, snap, snap.account, snap.reason === ClosedReason.AuthenticationViolation);
    }
  }

  private recordClosed(snap: ConnSnapshot): void {
    const max = this.options.maxClosedClients;
    if (max <= 0) return;
    const e = { snap };
    if (this.closedRing.length < max) {
      this.closedRing.push(e);
    } else {
      this.closedRing[this.closedHead] = e;
      this.closedHead = (this.closedHead + 1) % max;
    }
  }

  /** Closed connections, oldest first. */
  closedConnections(): ConnSnapshot[] {
    const r = this.closedRing;
    const out: ConnSnapshot[] = [];
    for (let i = 0; i < r.length; i++) out.push(r[(this.closedHead + i) % r.length]!.snap);
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Ports file

  /** Client URLs (ports file / tooling). */
  clientUrls(): string[] {
    const scheme = this.tls && !this.options.allowNonTls ? 'tls' : 'nats';
    return hostsFor(this.listenHost).map((h) => `${scheme}://${hostPort(h, this.listenPort)}`);
  }

  portsInfo(): PortsInfo {
    const info: PortsInfo = { nats: this.clientUrls() };
    const m = this.monitor.urls();
    if (m.length > 0) info.monitoring = m;
    if (this.cluster) info.cluster = this.cluster.urls();
    if (this.websocket) info.websocket = this.websocket.urls();
    if (this.leafnodes && this.leafnodes.urls().length > 0) info.leafnodes = this.leafnodes.urls();
    return info;
  }

  private writePorts(): void {
    const dir = this.options.portsFileDir;
    if (!dir) return;
    try {
      this.portsFile = writePortsFile(dir, this.exeName, this.portsInfo());
    } catch (e) {
      this.logger.error(`Error writing ports file (${dir}): ${(e as Error).message}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Reload

  /**
   * Applies new options (SIGHUP). Refuses (throws ReloadError, nothing applied) when an option
   * that cannot change at run time differs. Logs nats-server's `Reloaded: ...` lines.
   */
  async reload(next: ServerOptions): Promise<void> {
    const prev = this.options;
    const { changes, refused } = diffOptions(prev, next);
    if (refused) throw new ReloadError(refused);
    if (this.websocket) await this.websocket.reload(next);
    else if ((next.websocket?.port ?? 0) !== 0) throw new ReloadError('config reload not supported for Websocket: old={}, new=configured');
    // Build what can fail first.
    const auth = new Authenticator(next);
    let tlsCfg = next.tls ? new TlsConfig(next.tls) : undefined;
    // Hooks see the new TLS configuration before it serves (OCSP: staple new certificates first).
    for (const h of this.hooks) {
      if (h.beforeReload) tlsCfg = (await h.beforeReload(this.hookContext(), { options: next, tls: tlsCfg })) ?? tlsCfg;
    }
    let newTls: TlsManager | undefined = this.tls;
    if (tlsCfg && this.tls) await this.tls.update(tlsCfg);
    else if (tlsCfg && !this.tls) newTls = new TlsManager(tlsCfg);
    else if (!tlsCfg) newTls = undefined;

    this.options = next;
    if (this.cluster && next.cluster) this.cluster.applyReload(next.cluster);
    this.tls = newTls;
    this.auth = auth;
    // Accounts gone from the configuration: their connections are closed by reauthorize() below.
    this.accounts.configure(next);
    // Operator mode, MEMORY resolver: registered accounts take their (new) preloaded JWTs.
    if (next.operator?.resolver?.kind === 'memory') (await import('./jwt/update.js')).reloadMemoryAccounts(this, next.operator, next.systemAccount);
    await this.applyAccountLinks(next);
    this.logger.update({
      debug: next.debug,
      trace: next.trace,
      logtime: next.logtime,
      logtimeUtc: next.logtimeUtc,
      logFile: next.logFile,
    });
    if (next.pidFile !== prev.pidFile && next.pidFile) {
      writePidFile(next.pidFile);
      this.pidFileWritten = next.pidFile;
    }
    if (next.portsFileDir !== prev.portsFileDir) {
      if (this.portsFile) removePortsFile(this.portsFile);
      this.portsFile = undefined;
      this.writePorts();
    }
    this.rebuildInfo();
    // nats-server logs the applied options, then re-checks the clients (credentials, subscriptions).
    for (const ch of changes) this.logger.notice(`Reloaded: ${ch.text}`);
    for (const c of this.clients.values()) {
      c.applyOptions();
      if (changes.some((ch) => ch.auth)) c.reauthorize();
    }
    this.flushPending();
    this.configLoadTime = Date.now();
    for (const h of this.hooks) if (h.reload) await h.reload(this.hookContext());
    await this.websocket?.reloaded();
    this.logger.notice('Reloaded server configuration');
  }

  // -------------------------------------------------------------------------------------------
  // Lame duck mode and shutdown

  /** SIGUSR2: stop accepting, tell clients (INFO ldm), close them spread over the duration, exit. */
  async lameDuckMode(): Promise<void> {
    if (this.ldm || this.shuttingDown) return;
    this.ldm = true;
    const log = this.logger;
    log.notice('Entering lame duck mode, stop accepting new clients');
    this.closeListener();
    this.cluster?.enterLameDuck();
    const o = this.options;
    const clients = [...this.clients.values()];
    if (clients.length === 0) {
      await this.shutdown(ExitCode.OK);
      return;
    }
    for (const c of clients) c.sendLameDuckInfo();
    await sleep(o.lameDuckGracePeriodMs);
    if (this.shuttingDown) return;
    log.notice('Closing existing clients');
    const open = [...this.clients.values()];
    const span = Math.max(o.lameDuckDurationMs - o.lameDuckGracePeriodMs, 0);
    let interval = open.length > 0 ? span / open.length : 0;
    if (interval > 1000) interval = 1000;
    let batch = 1;
    const minInterval = 10;
    if (interval < minInterval && open.length > 0) {
      batch = Math.ceil(minInterval / Math.max(interval, 0.001));
      interval = minInterval;
    }
    for (let i = 0; i < open.length; i += batch) {
      if (this.shuttingDown) return;
      for (const c of open.slice(i, i + batch)) c.close(ClosedReason.ServerShutdown);
      if (i + batch < open.length) await sleep(interval / 2 + Math.random() * (interval / 2));
    }
    await this.shutdown(ExitCode.OK);
  }

  /** Stops accepting (existing connections are not waited for). */
  private closeListener(): void {
    this.websocket?.closeListener();
    const l = this.listener;
    if (!l) return;
    this.listener = undefined;
    l.close();
    this.logger.debug('Client accept loop exiting..');
  }

  /**
   * Graceful shutdown: stop listening, close clients, stop monitoring and hooks, remove the pid
   * and ports files, then resolve `exited` with `exitCode`. Safe to call more than once (the
   * first call's status wins).
   */
  shutdown(exitCode: number = ExitCode.OK): Promise<void> {
    if (this.shutdownPromise) return this.shutdownPromise;
    this.shuttingDown = true;
    this.shutdownPromise = (async () => {
      const log = this.logger;
      log.notice('Initiating Shutdown...');
      // The SHUTDOWN event reaches system account subscribers before they are closed.
      this.events?.shutdown();
      this.closeListener();
      for (const c of [...this.clients.values()]) c.close(ClosedReason.ServerShutdown);
      // Leafs first: routes going away must not send spokes a shrunken leafnode_urls list.
      this.leafnodes?.stop();
      this.cluster?.stop();
      this.links?.stop();
      await this.monitor.stop();
      await this.websocket?.stop();
      for (const h of this.hooks) {
        if (!h.stop) continue;
        try {
          await h.stop(this.hookContext());
        } catch (e) {
          log.error(`${h.name}: ${(e as Error).message}`);
        }
      }
      if (this.portsFile) removePortsFile(this.portsFile);
      if (this.pidFileWritten) removePidFile(this.pidFileWritten);
      this.running = false;
      log.notice('Server Exiting..');
      this.exitResolve(exitCode);
    })();
    return this.shutdownPromise;
  }

  /**
   * (Re)applies the accounts' imports, exports and mappings (start, reload; operator mode after an
   * account JWT changed). The module loads only when some account uses them.
   */
  async applyAccountLinks(o: ServerOptions = this.options): Promise<void> {
    // Operator mode: accounts (and their imports) arrive with their users, so the module is loaded
    // up front and a new account is bridged before its first user's CONNECT completes.
    let used = (o.mappings?.length ?? 0) > 0 || o.operator !== undefined;
    for (const a of this.accounts.all()) if ((a.config?.imports.length ?? 0) > 0 || (a.config?.mappings?.length ?? 0) > 0) used = true;
    if (!used && !this.links) return;
    if (!this.links) {
      const { AccountLinks } = await import('./accounts/imports.js');
      this.links ??= new AccountLinks(this);
    }
    // Operator mode: imports of `token_req` exports need their activation token checked.
    if (o.operator && !this.links.activation) this.links.activation = (await import('./jwt/activation.js')).activationChecker(o.operator, o.systemAccount);
    this.links.apply(o);
  }

  // -------------------------------------------------------------------------------------------
  // Helpers for monitoring

  /** Number of subscriptions (all clients). */
  get numSubscriptions(): number {
    return this.index.count;
  }

  /** Duration strings as nats-server prints them. */
  static goDuration(ms: number): string {
    return goDuration(ms * 1e6);
  }
}

export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The addresses a wildcard listen host stands for (as nats-server lists them in the ports file):
 * every interface address, IPv4 and IPv6, since a wildcard listener is dual-stack.
 */
export function hostsFor(host: string): string[] {
  if (host !== '0.0.0.0' && host !== '::' && host !== '') return [host];
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) out.push(a.address);
  }
  return out.length > 0 ? out : ['127.0.0.1'];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
