// The leaf node manager (nats-server 2.9.10 leaf nodes): the leaf listener (tsnats as a hub), the
// solicited remotes with reconnect (tsnats as a spoke), the interest each leaf connection is sent
// (hub: everything; spoke: local interest only; `$LDS.` loop detection), the message paths with
// leafs (client publishes, messages from a leaf, queue groups preferring local members), /leafz
// and the /varz leaf fields. Loaded lazily when `leafnodes {}` is configured. See docs/leafnodes.md.

import { createServer as createNetServer, connect as netConnect, type Server as NetServer, type Socket } from 'node:net';
import * as tls from 'node:tls';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { LeafRemoteOptions, LeafnodeOptions } from '../config/leafnodes.js';
import type { OcspPeerOptions } from '../config/types.js';
import type { RouteMsg } from '../protocol/route-parser.js';
import type { Client, Subscription, Producer } from './client.js';
import type { Logger } from './logger.js';
import { Authenticator, comparePassword, safeEqual, type AuthResult, type AuthSession } from './auth.js';
import { Leaf, LeafClosed, LeafSub } from './leaf.js';
import { Route, RouteSub, hostPortOf } from './route.js';
import { hostsFor, type Server } from './server.js';
import type { MatchResult } from './subjects.js';
import { TlsConfig, clientCertificateError } from './tls.js';
import { PublishRule } from './permissions.js';
import { NATS_VERSION, RUNTIME } from './info.js';
import type { PeerStapleCheck } from './leaf-ocsp.js';
import type { Account } from './accounts/account.js';
import { GLOBAL_ACCOUNT } from '../config/accounts.js';

/** Accepted side: the authentication verdict (the account the leaf is bound to when `ok`). */
export interface LeafAuth {
  ok: boolean;
  account?: string;
  /** Operator mode: the user JWT's session (its account is registered from it on first use). */
  session?: AuthSession;
  /** Refused: the reason at debug level, and what is logged at error level first (as for clients). */
  debug?: string;
  error?: string;
}

const DIAL_TIMEOUT_MS = 1000;
const CONNECT_ERROR_REPORTS = 3600;

function nuid(): string {
  return randomBytes(16).toString('base64url').replace(/[-_]/g, 'A').slice(0, 22);
}

/** One `remotes` entry being solicited. */
interface RemoteDialer {
  opts: LeafRemoteOptions;
  urls: URL[];
  attempts: number;
  timer: NodeJS.Timeout | null;
  leaf: Leaf | null;
  /** The hub's staple is required (this remote's own certificate is stapled, as 2.9.10). */
  staple: PeerStapleCheck | undefined;
  /** Operator mode: the remote's account is being looked up through the resolver. */
  resolving?: boolean;
}

function keyOf(sub: Subscription): string {
  const q = sub.queue;
  return q === undefined || q === '' ? sub.subject : `${sub.subject} ${q}`;
}

function isSpecial(subject: string): boolean {
  return subject.startsWith('$LDS.') || subject.startsWith('$GR.') || subject.startsWith('_GR_.');
}

export class Leafnodes {
  readonly server: Server;
  readonly opts: LeafnodeOptions;
  readonly maxRemoteSubs = 1_000_000;
  /** Loop detection subjects (`$LDS.<nuid>`), one per account (nats-server's `acc.lds`). */
  private readonly lds = new Map<string, string>();
  private unobserve: (() => void) | null = null;
  /** The client authentication as leaf connections see it (`LEAFNODE`/`LEAFNODE_WS` connection types). */
  private readonly leafAuth: Array<{ from: Authenticator; a: Authenticator } | undefined> = [undefined, undefined];
  tlsConfig: TlsConfig | undefined;
  tlsServer: tls.Server | undefined;
  /** OCSP stapling on the leaf listener (src/server/leaf-ocsp.ts). */
  stapling: PeerStapleCheck | undefined;
  private listener: NetServer | undefined;
  listenHost = '';
  listenPort = 0;
  /** Registered leaf connections (both roles). */
  readonly leafs = new Set<Leaf>();
  /** Every open leaf connection (also those in handshake). */
  readonly conns = new Set<Leaf>();
  private readonly dialers: RemoteDialer[] = [];
  private stopped = false;
  private epoch = 0;

  constructor(server: Server, opts: LeafnodeOptions) {
    this.server = server;
    this.opts = opts;
    if (opts.tls) this.tlsConfig = new TlsConfig(opts.tls);
  }

  get log(): Logger {
    return this.server.logger;
  }

  /** The loop detection subject of `acc` (created on first use), sent to its leafs. */
  ldsFor(acc: Account<Subscription>): string {
    let s = this.lds.get(acc.name);
    if (s === undefined) {
      s = `$LDS.${nuid()}`;
      this.lds.set(acc.name, s);
    }
    return s;
  }

  /** The local account a remote binds to (`account`, default `$G`); undefined when it does not exist. */
  remoteAccount(r: LeafRemoteOptions): Account<Subscription> | undefined {
    const a = this.server.accounts.get(r.account ?? GLOBAL_ACCOUNT);
    return a === undefined || a.removed ? undefined : a;
  }

  get version(): string {
    return NATS_VERSION;
  }

  get clusterName(): string {
    return this.server.cluster?.name ?? '';
  }

  get authTimeoutMs(): number {
    return this.opts.authTimeoutMs ?? (this.tlsConfig ? this.tlsConfig.options.timeoutMs + 1000 : 2000);
  }

  // -------------------------------------------------------------------------------------------
  // Start / stop

  async start(): Promise<void> {
    const o = this.opts;
    if (o.port !== 0) {
      const srv = createNetServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 15_000 }, (s) => this.accept(s));
      const port = o.port === -1 ? 0 : o.port;
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen({ host: o.host, port }, () => {
          srv.removeListener('error', reject);
          resolve();
        });
      }).catch((e: NodeJS.ErrnoException) => {
        throw new Error(`Error listening on leafnode port: ${hostPortOf(o.host, o.port)}, "${e.message}"`);
      });
      srv.on('error', (e) => this.log.error(`Error accepting leafnode connection: ${e.message}`));
      this.listener = srv;
      const addr = srv.address();
      this.listenHost = o.host;
      this.listenPort = typeof addr === 'object' && addr ? addr.port : port;
      if (this.tlsConfig) {
        this.tlsServer = tls.createServer({ ...this.tlsConfig.serverOptions, requestCert: this.tlsConfig.options.verify });
        const { startLeafStapling } = await import('./leaf-ocsp.js');
        this.stapling = await startLeafStapling(this.server, this);
      }
      this.log.notice(`Listening for leafnode connections on ${hostPortOf(o.host, this.listenPort)}`);
      if (o.advertise) this.log.notice(`Advertise address for leafnode is set to ${o.advertise}`);
    }
    // Interest changes of every account (each leaf connection is told about its own account's).
    this.unobserve = this.server.accounts.observe((acc, s, a) => this.onSub(acc, s, a));
    const sys = this.server.accounts.system;
    for (const r of o.remotes) {
      const urls: URL[] = [];
      for (const t of r.urls) {
        try {
          urls.push(new URL(t));
        } catch {
          this.log.error(`Error parsing leafnode remote url [${JSON.stringify(t)}]`);
        }
      }
      if (urls.length === 0) continue;
      if (sys !== undefined && (r.account ?? GLOBAL_ACCOUNT) === sys.name) {
        if (r.denyExports.length > 0) this.log.notice('Remote for System Account uses restricted export permissions');
        if (r.denyImports.length > 0) this.log.notice('Remote for System Account uses restricted import permissions');
      }
      if (!r.noRandomize) for (let i = urls.length - 1; i > 0; i--) {
        const j = randomInt(i + 1);
        [urls[i], urls[j]] = [urls[j]!, urls[i]!];
      }
      let staple: PeerStapleCheck | undefined;
      if (r.tls) {
        const { startRemoteStapleCheck } = await import('./leaf-ocsp.js');
        staple = await startRemoteStapleCheck(this.server, r.tls);
      }
      const d: RemoteDialer = { opts: r, urls, attempts: 0, timer: null, leaf: null, staple };
      this.dialers.push(d);
      this.dial(d);
    }
  }

  stop(): void {
    this.stopped = true;
    this.listener?.close();
    this.listener = undefined;
    for (const d of this.dialers) {
      if (d.timer) clearTimeout(d.timer);
      d.staple?.close();
    }
    this.stapling?.close();
    for (const l of [...this.conns]) l.close(LeafClosed.ServerShutdown);
    this.unobserve?.();
    this.unobserve = null;
  }

  /** Leaf URLs for the ports file. */
  urls(): string[] {
    if (!this.listener) return [];
    return hostsFor(this.listenHost).map((h) => `nats-leaf://${hostPortOf(h, this.listenPort)}`);
  }

  // -------------------------------------------------------------------------------------------
  // INFO

  /** Leaf URLs of route peers (ref-counted), listed in our leaf INFO after our own. */
  private readonly peerUrls = new Map<string, number>();

  /** Our leaf URL as route peers should list it (undefined without a listener or with no_advertise). */
  advertisedUrl(): string | undefined {
    if (!this.listener || this.opts.noAdvertise) return undefined;
    return this.ownUrl();
  }

  /** A route peer came (+1) or went (-1) with these leaf URLs: spokes attached to us get an async INFO. */
  peerLeafUrls(urls: unknown[], delta: 1 | -1): void {
    if (this.stopped) return;
    let changed = false;
    for (const u of urls) {
      if (typeof u !== 'string' || u === this.ownUrl()) continue;
      const n = (this.peerUrls.get(u) ?? 0) + delta;
      if (n <= 0) {
        if (this.peerUrls.delete(u)) changed = true;
      } else {
        if (!this.peerUrls.has(u)) changed = true;
        this.peerUrls.set(u, n);
      }
    }
    if (!changed) return;
    for (const l of this.leafs) {
      if (l.solicited || l.isSpoke) continue;
      l.sendInfo(this.infoJson({ ip: l.ip }));
    }
  }

  private ownUrl(): string {
    if (this.opts.advertise) return this.opts.advertise.includes(':') ? this.opts.advertise : `${this.opts.advertise}:${this.listenPort}`;
    const h = this.listenHost;
    if (h === '' || h === '0.0.0.0' || h === '::') {
      const all = hostsFor(h).filter((x) => x !== '127.0.0.1' && x !== '::1');
      return hostPortOf(all[0] ?? '127.0.0.1', this.listenPort);
    }
    return hostPortOf(h, this.listenPort);
  }

  /** The leaf INFO (nats-server's field order); `nonce` only on the first, `connect_info` on the second. */
  infoJson(extra: { nonce?: string; client_id?: number; ip: string; connect_info?: boolean; remote_account?: string }): string {
    const srv = this.server;
    const url = this.ownUrl();
    const host = this.listenHost === '' ? '0.0.0.0' : this.listenHost;
    const f: Record<string, unknown> = {
      server_id: srv.serverId,
      server_name: srv.serverName,
      version: NATS_VERSION,
      proto: 1,
      go: RUNTIME,
      host,
      port: this.listenPort,
      headers: !srv.options.noHeaderSupport,
      auth_required: true,
    };
    if (this.tlsConfig) {
      f.tls_required = true;
      if (this.tlsConfig.options.verify) f.tls_verify = true;
    }
    f.max_payload = srv.options.maxPayload;
    f.ip = url;
    if (extra.client_id !== undefined) f.client_id = extra.client_id;
    if (extra.nonce !== undefined) f.nonce = extra.nonce;
    if (this.clusterName !== '') f.cluster = this.clusterName;
    if (extra.connect_info) {
      f.connect_info = true;
      f.remote_account = extra.remote_account ?? GLOBAL_ACCOUNT;
    }
    f.info_on_connect = true;
    f.leafnode_urls = [url, ...this.peerUrls.keys()];
    return JSON.stringify(f);
  }

  // -------------------------------------------------------------------------------------------
  // Accepting (hub)

  /** A leaf connection upgraded on the websocket listener's `/leafnode` path (TLS, if any, is the listener's). */
  acceptWebsocket(sock: Socket, setReason: (f: () => string) => void): void {
    const leaf = this.accept(sock, true);
    if (leaf) setReason(() => leaf.reason);
  }

  private accept(sock: Socket, viaWs = false): Leaf | undefined {
    if (this.stopped) {
      sock.destroy();
      return undefined;
    }
    const leaf = new Leaf(this, sock, this.server.nextConnectionId(), undefined, undefined);
    leaf.viaWs = viaWs;
    this.conns.add(leaf);
    sock.on('error', () => undefined);
    leaf.notice('Leafnode connection created ');
    leaf.sendFirstInfo(Leaf.nonce());
    if (!this.tlsConfig || viaWs) {
      leaf.begin(sock);
      return leaf;
    }
    const cfg = this.tlsConfig;
    // 2.9.10 switches the leaf listener to required client certificates when it staples.
    const verify = cfg.options.verify || this.stapling !== undefined;
    const ts = new tls.TLSSocket(sock, {
      isServer: true,
      server: this.tlsServer,
      secureContext: cfg.defaultContext,
      requestCert: verify,
      rejectUnauthorized: verify,
    });
    this.tlsHandshake(leaf, ts, 'secure', () => (verify ? clientCertificateError(ts) : undefined), undefined, cfg.options.verify ? cfg.options.ocspPeer : undefined);
    return leaf;
  }

  private tlsHandshake(
    leaf: Leaf,
    ts: tls.TLSSocket,
    ev: 'secure' | 'secureConnect',
    check: () => string | undefined,
    then?: () => void,
    ocspPeer?: OcspPeerOptions,
  ): void {
    const timeout = (this.tlsConfig?.options.timeoutMs ?? 2000) + 0;
    let done = false;
    const fail = (e: Error & { code?: string }): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      leaf.error(`TLS leafnode handshake error: ${e.code ?? e.message}`);
      leaf.socket = ts;
      ts.destroy();
      leaf.close(LeafClosed.TLSHandshakeFailure);
    };
    const timer = setTimeout(() => fail(new Error('i/o timeout')), timeout);
    ts.once('error', fail);
    ts.once(ev, () => {
      if (done) return;
      // `ocsp_peer` (docs/ocsp-peer.md): the chain is read before getPeerX509Certificate(), which
      // empties Node's copy of a server socket's peer chain.
      const gate = ocspPeer?.verify ? this.server.ocspPeer : undefined;
      const chain = gate?.peerChain(ts);
      const why = check();
      if (why !== undefined) return fail(new Error(why));
      done = true;
      clearTimeout(timer);
      const go = (): void => {
        ts.removeListener('error', fail);
        if (leaf.closed || ts.destroyed) {
          ts.destroy();
          if (!leaf.closed) {
            leaf.socket = ts;
            leaf.close(LeafClosed.ClientClosed);
          }
          return;
        }
        leaf.debug('TLS handshake complete');
        if (then) then();
        else leaf.begin(ts);
      };
      if (!gate) return go();
      // Held (nothing the peer sent is read, no CONNECT sent or processed) until the chain is
      // checked; refused: `TLS leafnode handshake error: client|server not OCSP valid`, closed,
      // and a remote dials again after its reconnect interval.
      const refuse = (): void => {
        ts.removeListener('error', fail);
        leaf.socket = ts;
        ts.destroy();
        leaf.close(LeafClosed.TLSHandshakeFailure);
      };
      const kind = leaf.solicited ? 'leafnode_remote' : 'leafnode';
      const verdict = gate.check(chain ?? [], kind, leaf, ocspPeer);
      if (verdict === true) go();
      else if (verdict === false) refuse();
      else void verdict.then((ok) => (ok || leaf.closed ? go() : refuse()));
    });
  }

  /**
   * Hub side (nats-server's isLeafNodeAuthorized): CONNECT credentials against the leaf
   * `authorization` (single user: its `account`; `users`: the user's `account`; default `$G`),
   * else the client authentication, whose user's account the leaf is bound to.
   */
  authorize(j: Record<string, unknown>, viaWs = false, nonce = '', host = ''): LeafAuth | Promise<LeafAuth> {
    const o = this.opts;
    const user = typeof j.user === 'string' ? j.user : undefined;
    const pass = typeof j.pass === 'string' ? j.pass : undefined;
    const check = (ok: boolean | Promise<boolean>, account: string | undefined): LeafAuth | Promise<LeafAuth> => {
      const v = (b: boolean): LeafAuth => (b ? { ok: true, account: account ?? GLOBAL_ACCOUNT } : { ok: false });
      return ok instanceof Promise ? ok.then(v, () => ({ ok: false })) : v(ok);
    };
    if (o.user !== undefined) {
      if (user === undefined || !safeEqual(o.user, user)) return { ok: false };
      return check(comparePassword(o.password ?? '', pass ?? ''), o.account);
    }
    if (o.users !== undefined && o.users.length > 0) {
      const u = o.users.find((x) => x.user === user);
      if (u === undefined) return { ok: false };
      return check(comparePassword(u.password, pass ?? ''), u.account);
    }
    const auth = this.clientAuth(viaWs);
    if (!auth.enabled) return { ok: true, account: GLOBAL_ACCOUNT };
    const str = (k: string): string | undefined => (typeof j[k] === 'string' ? (j[k] as string) : undefined);
    // nkey users and operator mode (a remote's `credentials`): the CONNECT signs this leaf's nonce.
    const r = auth.authenticate({
      user,
      pass,
      auth_token: str('auth_token'),
      nkey: str('nkey'),
      sig: str('sig'),
      jwt: str('jwt'),
      nonce,
      host,
      connType: viaWs ? 'LEAFNODE_WS' : 'LEAFNODE',
    });
    const v = (x: AuthResult): LeafAuth => {
      if (!x.ok) {
        const out: LeafAuth = { ok: false };
        if (x.debug) out.debug = x.debug;
        if (x.error) out.error = x.error;
        return out;
      }
      const out: LeafAuth = { ok: true, account: x.account ?? GLOBAL_ACCOUNT };
      if (x.session) out.session = x.session;
      return out;
    };
    return r instanceof Promise ? r.then(v, () => ({ ok: false })) : v(r);
  }

  /** The server's client authentication for a leaf: users' `allowed_connection_types` see `LEAFNODE[_WS]`. */
  private clientAuth(viaWs: boolean): Authenticator {
    const base = this.server.auth;
    const k = viaWs ? 1 : 0;
    const c = this.leafAuth[k];
    if (c !== undefined && c.from === base) return c.a;
    const a = new Authenticator(this.server.options, viaWs ? 'LEAFNODE_WS' : 'LEAFNODE');
    this.leafAuth[k] = { from: base, a };
    return a;
  }

  /** An accepted leaf finished its CONNECT: duplicates (same server, cluster) evict the older. */
  registerAccepted(leaf: Leaf): boolean {
    for (const other of this.leafs) {
      if (other.solicited || other === leaf) continue;
      if (
        other.remoteName !== '' &&
        other.remoteName === leaf.remoteName &&
        other.remoteCluster === leaf.remoteCluster &&
        other.account === leaf.account
      ) {
        leaf.warn('Replacing connection from same server');
        other.sendErr('Duplicate Remote LeafNode Connection');
        other.close(LeafClosed.DuplicateRemote);
      }
    }
    this.leafs.add(leaf);
    leaf.debug(`Leafnode connection registered for remote "${leaf.remoteName}"`);
    return true;
  }

  /**
   * nats-server's addLeafNodeConnection without JetStream on this server: `$JS.API.>`, `$KV.>`,
   * `$OBJ.>` are denied both ways on the connection, with its log line.
   */
  addJetStreamDenies(leaf: Leaf): void {
    if (this.server.options.jetstream) return;
    const acc = leaf.account;
    if (acc === this.server.accounts.system) {
      // The system account: also the JetStream cluster and raft subjects (nats-server's denyAllJs).
      const deny = ['$JSC.>', '$NRG.>', '$JS.API.>', '$KV.>', '$OBJ.>'];
      leaf.bothDeny = new PublishRule({ allow: [], deny }, false);
      const srv = leaf.remoteCluster === '' ? leaf.remoteName : `${leaf.remoteName}/${leaf.remoteCluster}`;
      leaf.notice(`System Account Connected from ${srv}`);
      leaf.notice(`JetStream Not Extended, adding denies [${deny.join(' ')}]`);
      return;
    }
    const deny = ['$JS.API.>', '$KV.>', '$OBJ.>'];
    leaf.bothDeny = new PublishRule({ allow: [], deny }, false);
    leaf.notice(`JetStream Not Extended, adding deny [${deny.join(' ')}] for account ${JSON.stringify(acc.name)}`);
  }

  registerSolicited(leaf: Leaf): void {
    this.leafs.add(leaf);
    leaf.debug(`Leafnode connection established to remote server "${leaf.remoteName}"`);
  }

  // -------------------------------------------------------------------------------------------
  // Soliciting (spoke)

  private dial(d: RemoteDialer): void {
    if (this.stopped) return;
    const url = d.urls[0]!;
    // The URL used rotates to the end (nats-server).
    if (d.urls.length > 1) d.urls.push(d.urls.shift()!);
    d.attempts++;
    if (url.protocol === 'ws:' || url.protocol === 'wss:') {
      void this.dialWs(d, url);
      return;
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port);
    const hp = hostPortOf(host, port);
    this.log.debug(`Trying to connect as leafnode to remote server on "${hp}"`);
    const sock = netConnect({ host, port, noDelay: true });
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      sock.destroy();
      onFail(new Error(`dial tcp ${hp}: i/o timeout`));
    }, DIAL_TIMEOUT_MS);
    const onFail = (e: Error): void => {
      const text = `Error trying to connect as leafnode to remote server "${hp}" (attempt ${d.attempts}): ${e.message}`;
      if (d.attempts === 1 || d.attempts % CONNECT_ERROR_REPORTS === 0) this.log.error(text);
      else this.log.debug(text);
      this.schedule(d, this.opts.reconnectMs);
    };
    sock.once('error', (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      onFail(e);
    });
    sock.once('connect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (this.stopped) {
        sock.destroy();
        return;
      }
      d.attempts = 0;
      sock.on('error', () => undefined);
      const acc = this.remoteAccount(d.opts);
      if (acc === undefined) return this.missingAccount(d, sock);
      const leaf = new Leaf(this, sock, this.server.nextConnectionId(), d.opts, url, acc);
      d.leaf = leaf;
      this.conns.add(leaf);
      leaf.notice(`Leafnode connection created for account: ${acc.name} `);
      leaf.begin(sock);
    });
  }

  /**
   * A remote with `ws://`/`wss://` URLs: the websocket upgrade on `/leafnode` + the URL's path (as
   * nats-server), masked frames, no compression; then the ordinary leaf protocol inside frames.
   */
  private async dialWs(d: RemoteDialer, url: URL): Promise<void> {
    const { WebSocket, createWebSocketStream } = await import('ws');
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port);
    const hp = hostPortOf(host, port);
    const path = '/leafnode' + (url.pathname !== '/' ? url.pathname.replace(/^\//, '') : '');
    const target = `${url.protocol === 'wss:' ? 'wss' : 'ws'}://${hp}${path}`;
    this.log.debug(`Trying to connect as leafnode to remote server on "${hp}"`);
    const t = d.opts.tls;
    const wsOpts: Record<string, unknown> = { perMessageDeflate: false, handshakeTimeout: DIAL_TIMEOUT_MS + 1000 };
    try {
      if (t?.caFile) wsOpts.ca = readFileSync(t.caFile);
      if (t?.certFile) {
        wsOpts.cert = readFileSync(t.certFile);
        wsOpts.key = readFileSync(t.keyFile ?? '');
      }
    } catch (e) {
      this.log.error(`Error trying to connect as leafnode to remote server "${hp}" (attempt ${d.attempts}): ${(e as Error).message}`);
      this.schedule(d, this.opts.reconnectMs);
      return;
    }
    const ws = new WebSocket(target, wsOpts);
    let settled = false;
    const onFail = (e: Error): void => {
      if (settled) return;
      settled = true;
      ws.terminate();
      const text = `Error trying to connect as leafnode to remote server "${hp}" (attempt ${d.attempts}): ${e.message}`;
      if (d.attempts === 1 || d.attempts % CONNECT_ERROR_REPORTS === 0) this.log.error(text);
      else this.log.debug(text);
      this.schedule(d, this.opts.reconnectMs);
    };
    ws.once('error', onFail);
    ws.once('unexpected-response', (_req, res) => onFail(new Error(`invalid websocket connection (status ${res.statusCode ?? 0})`)));
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      if (this.stopped) {
        ws.terminate();
        return;
      }
      d.attempts = 0;
      const stream = createWebSocketStream(ws) as unknown as Socket & Record<string, unknown>;
      Object.defineProperty(stream, 'remoteAddress', { value: host });
      Object.defineProperty(stream, 'remotePort', { value: port });
      (stream as unknown as { setNoDelay: () => void }).setNoDelay = () => undefined;
      stream.on('error', () => undefined);
      const acc = this.remoteAccount(d.opts);
      if (acc === undefined) return this.missingAccount(d, stream);
      const leaf = new Leaf(this, stream, this.server.nextConnectionId(), d.opts, url, acc);
      leaf.viaWs = true;
      d.leaf = leaf;
      this.conns.add(leaf);
      leaf.notice(`Leafnode connection created for account: ${acc.name} `);
      // `ocsp_peer` of a wss remote: the hub's chain is checked after the upgrade, before the
      // hub's INFO (buffered in the paused stream) is read and before CONNECT is sent.
      const gate = url.protocol === 'wss:' && t?.ocspPeer?.verify ? this.server.ocspPeer : undefined;
      const tsock = (ws as unknown as { _socket?: unknown })._socket;
      if (!gate || !(tsock instanceof tls.TLSSocket)) return leaf.begin(stream);
      const admit = (ok: boolean): void => {
        if (leaf.closed) return;
        if (ok) leaf.begin(stream);
        else leaf.close(LeafClosed.TLSHandshakeFailure);
      };
      const verdict = gate.check(gate.peerChain(tsock), 'leafnode_remote', leaf, t?.ocspPeer);
      if (typeof verdict === 'boolean') admit(verdict);
      else void verdict.then(admit);
    });
  }

  /** The remote's local account is gone (a reload removed it): as nats-server, an error and a retry. */
  private missingAccount(d: RemoteDialer, sock: Socket): void {
    sock.destroy();
    // Operator mode: the remote's account (a public key) is looked up through the resolver and
    // registered, as nats-server's LookupAccount; the dial is then retried at once.
    const jwt = this.server.options.operator !== undefined && d.opts.account !== undefined ? this.server.auth.jwtStrategy() : undefined;
    if (jwt && !d.resolving) {
      d.resolving = true;
      const name = d.opts.account!;
      void jwt
        .then((s) => s.lookupAccount(name))
        .then(
          (a) => {
            d.resolving = false;
            this.server.accounts.addFromJwt(a.claims.config);
            this.schedule(d, 0);
          },
          (e: Error) => {
            d.resolving = false;
            this.log.error(`Unable to lookup account ${name} for solicited leafnode connection: ${e.message}`);
            this.schedule(d, this.opts.reconnectMs);
          },
        );
      return;
    }
    this.log.error(`Unable to lookup account ${d.opts.account ?? GLOBAL_ACCOUNT} for solicited leafnode connection: account not found`);
    this.schedule(d, this.opts.reconnectMs);
  }

  /**
   * `leafnode_urls` of a hub's INFO: the hub's (and its cluster's) leaf URLs become failover URLs
   * of the remote, first in line, with the configured URL's scheme and credentials (nats-server).
   */
  learnUrls(leaf: Leaf, urls: unknown[]): void {
    const d = this.dialers.find((x) => x.leaf === leaf);
    if (!d || !leaf.url || leaf.viaWs) return;
    const known = new Set(d.urls.map((u) => `${u.hostname.replace(/^\[|\]$/g, '')}:${u.port}`));
    for (const x of urls) {
      if (typeof x !== 'string' || known.has(x) || d.urls.length >= 64) continue;
      let u: URL;
      try {
        u = new URL(`${leaf.url.protocol}//${x}`);
      } catch {
        continue;
      }
      u.username = leaf.url.username;
      u.password = leaf.url.password;
      known.add(x);
      d.urls.unshift(u);
      this.log.debug(`Added leafnode URL ${x} learned from the hub`);
    }
  }

  private schedule(d: RemoteDialer, ms: number): void {
    if (this.stopped) return;
    if (d.timer) clearTimeout(d.timer);
    d.timer = setTimeout(() => {
      d.timer = null;
      this.dial(d);
    }, ms);
  }

  /** Solicited: TLS client handshake after the hub's first INFO. */
  upgradeSolicited(leaf: Leaf, then: () => void): void {
    const raw = leaf.socket;
    const t = leaf.remote!.tls;
    raw.removeAllListeners('data');
    raw.removeAllListeners('drain');
    raw.pause();
    const host = leaf.url!.hostname.replace(/^\[|\]$/g, '');
    const opts: tls.ConnectionOptions = {
      socket: raw,
      host,
      servername: /^[\d.]+$|:/.test(host) ? undefined : host,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    };
    try {
      if (t?.caFile) opts.ca = readFileSync(t.caFile);
      if (t?.certFile) {
        opts.cert = readFileSync(t.certFile);
        opts.key = readFileSync(t.keyFile ?? '');
      }
    } catch (e) {
      leaf.error(`TLS leafnode handshake error: ${(e as Error).message}`);
      leaf.close(LeafClosed.TLSHandshakeFailure);
      return;
    }
    // An IP address is checked against the certificate's IP SANs (Go does the same).
    opts.checkServerIdentity = (h, cert) => tls.checkServerIdentity(h, cert);
    const check = this.dialers.find((x) => x.leaf === leaf)?.staple;
    if (check) (opts as { requestOCSP?: boolean }).requestOCSP = true;
    const ts = tls.connect(opts);
    let staple: Buffer | undefined;
    let peerDer: Buffer | undefined;
    if (check) {
      ts.once('OCSPResponse', (resp: Buffer) => {
        staple = resp;
        peerDer = ts.getPeerCertificate()?.raw;
      });
    }
    this.tlsHandshake(
      leaf,
      ts,
      'secureConnect',
      () => {
        if (!ts.authorized) return ts.authorizationError?.message ?? 'unauthorized';
        return check ? check.checkPeer(staple, peerDer ?? ts.getPeerCertificate()?.raw) : undefined;
      },
      () => leaf.resumeOn(ts, then),
      t?.ocspPeer,
    );
  }

  leafClosed(leaf: Leaf): void {
    this.conns.delete(leaf);
    const was = this.leafs.delete(leaf);
    if (was) for (const other of this.leafs) this.dropInterestOf(other, leaf);
    if (this.stopped || !leaf.solicited) return;
    const d = this.dialers.find((x) => x.leaf === leaf);
    if (!d) return;
    d.leaf = null;
    const delay = leaf.reconnectDelayMs > 0 ? leaf.reconnectDelayMs : this.opts.reconnectMs;
    if (leaf.reconnectDelayMs > 0) this.log.debug(`Delaying leafnode reconnect for ${delay / 1000}s`);
    this.schedule(d, delay);
  }

  /** The closed leaf's subscriptions were removed through the index observer; nothing else to do. */
  private dropInterestOf(_other: Leaf, _closed: Leaf): void {}

  // -------------------------------------------------------------------------------------------
  // Interest → LS+/LS-

  /** Does `sub` count toward what we tell `leaf`? (nats-server's hub/spoke rules, §2.5.) */
  private relevant(leaf: Leaf, sub: Subscription): boolean {
    if (sub instanceof LeafSub) {
      if (sub.leaf === leaf) return false;
      if (leaf.isSpoke) {
        // Spoke connection: only leafs on which we are the hub.
        if (sub.leaf.isSpoke) return false;
      } else if (sub.origin !== '' && sub.origin === leaf.remoteCluster) return false;
    } else if (sub instanceof RouteSub) {
      if (leaf.isSpoke) return false;
    }
    if (leaf.isSpoke && leaf.subPerm !== null && !isSpecial(sub.subject) && !leaf.subPerm.allowed(sub.subject)) return false;
    if (leaf.bothDeny !== null && !leaf.bothDeny.allowed(sub.subject)) return false;
    return true;
  }

  private weightOf(sub: Subscription): number {
    return sub instanceof LeafSub && sub.queue !== undefined ? sub.weight : 1;
  }

  /** The full interest set of the leaf's account for a newly registered leaf, then its loop detection subject. */
  sendInitialInterest(leaf: Leaf): void {
    leaf.smap.clear();
    for (const s of leaf.account.index.all()) {
      if (!this.relevant(leaf, s)) continue;
      const k = keyOf(s);
      leaf.smap.set(k, (leaf.smap.get(k) ?? 0) + this.weightOf(s));
    }
    for (const [k, n] of leaf.smap) leaf.sendProto(k.includes(' ') ? `LS+ ${k} ${n}` : `LS+ ${k}`);
    const lds = this.ldsFor(leaf.account);
    if (!leaf.smap.has(lds)) leaf.sendProto(`LS+ ${lds}`);
  }

  private onSub(acc: Account<Subscription>, sub: Subscription, added: boolean): void {
    if (this.leafs.size === 0) return;
    for (const leaf of this.leafs) {
      if (leaf.account !== acc || !leaf.registered || leaf.closed || !this.relevant(leaf, sub)) continue;
      this.update(leaf, keyOf(sub), sub.queue !== undefined && sub.queue !== '', added ? this.weightOf(sub) : -this.weightOf(sub));
    }
  }

  private update(leaf: Leaf, key: string, queue: boolean, delta: number): void {
    const n = (leaf.smap.get(key) ?? 0) + delta;
    if (n <= 0) {
      if (!leaf.smap.has(key)) return;
      leaf.smap.delete(key);
      if (key !== this.lds.get(leaf.account.name)) leaf.sendProto(`LS- ${key}`);
      return;
    }
    const had = leaf.smap.has(key);
    leaf.smap.set(key, n);
    if (queue) leaf.sendProto(`LS+ ${key} ${n}`);
    else if (!had) leaf.sendProto(`LS+ ${key}`);
  }

  /** A later LS+ changed a leaf queue subscription's weight. */
  setWeight(sub: LeafSub, weight: number): void {
    const delta = weight - sub.weight;
    sub.weight = weight;
    for (const leaf of this.leafs) {
      if (leaf.account !== sub.leaf.account || !leaf.registered || leaf.closed || !this.relevant(leaf, sub)) continue;
      this.update(leaf, keyOf(sub), true, delta);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Messages

  /** A client publish (Client.onPub): local subscribers, routes and leafs. */
  publish(
    producer: Client,
    r: MatchResult<Subscription>,
    echo: boolean,
    subject: string,
    reply: string | undefined,
    headerSize: number,
    data: Buffer,
    start: number,
    end: number,
    payload: Buffer | null,
    /** The account the message is in (a request through a service import: the exporter's). */
    account: string = producer.account.name,
  ): boolean {
    // Called only while leaf connections exist (Client.onPub and imports take the cluster otherwise).
    return this.route(producer, null, account, r, echo, subject, reply, null, true, headerSize, data, start, end, payload, producer.parser.chunksReused);
  }

  /** A message from a leaf (into its account): local subscribers, routes (unless the leaf is our hub), other leafs. */
  deliverFromLeaf(from: Leaf, m: RouteMsg, data: Buffer, start: number, end: number): void {
    const srv = this.server;
    srv.inMsgs++;
    srv.inBytes += end - start;
    const acc = from.account;
    const r = acc.index.match(m.subject);
    const payload = end - start > 64 ? data.subarray(start, end) : null;
    this.route(from, from, acc.name, r, false, m.subject, m.reply, m.queues, m.queues !== null && m.queues.length > 0, m.hdr, data, start, end, payload, false);
  }

  /**
   * One message through the match result (nats-server's processMsgResults for client and leaf
   * sources): plain subscribers; per queue group a random member, where a route member is taken
   * and a leaf member only when no local member took it; one RMSG/LMSG per connection.
   */
  private route(
    producer: Producer,
    fromLeaf: Leaf | null,
    accName: string,
    r: MatchResult<Subscription>,
    echo: boolean,
    subject: string,
    reply: string | undefined,
    qfilter: string[] | null,
    doQueues: boolean,
    hdr: number,
    data: Buffer,
    start: number,
    end: number,
    payload: Buffer | null,
    copyLarge: boolean,
  ): boolean {
    const ep = ++this.epoch;
    let delivered = false;
    let routes: Route[] | null = null;
    let leafs: Leaf[] | null = null;
    const toRoutes = fromLeaf === null || !fromLeaf.isSpoke;
    const fromCluster = fromLeaf !== null ? fromLeaf.remoteCluster : '';
    const plain = r.plain;
    for (let i = 0; i < plain.length; i++) {
      const sub = plain[i]!;
      const t = sub.client;
      if (t instanceof Route) {
        if (toRoutes && t.registered && !t.closed && t.pubEpoch !== -ep) {
          t.pubEpoch = -ep;
          t.pubQueues = null;
          (routes ??= []).push(t);
        }
        continue;
      }
      if (t instanceof Leaf) {
        if (t === fromLeaf || !t.registered || t.closed || t.pubEpoch === ep) continue;
        if (fromCluster !== '' && fromCluster === t.remoteCluster) continue;
        t.pubEpoch = ep;
        t.pubQueues = null;
        (leafs ??= []).push(t);
        continue;
      }
      if ((t as unknown) === producer && !echo) continue;
      if (t.deliver(producer, sub, subject, reply, hdr, data, start, end, payload)) delivered = true;
    }
    if (doQueues) {
      const queues = r.queues;
      for (let g = 0; g < queues.length; g++) {
        const group = queues[g]!;
        const name = group[0]!.queue!;
        if (qfilter !== null && !qfilter.includes(name)) continue;
        const n = group.length;
        const at = n === 1 ? 0 : Math.floor(Math.random() * n);
        let rleaf: Leaf | null = null;
        let done = false;
        for (let k = 0; k < n; k++) {
          const sub = group[(at + k) % n]!;
          const t = sub.client;
          if (t instanceof Route) {
            if (!toRoutes || !t.registered || t.closed) continue;
            if (t.pubEpoch !== -ep) {
              t.pubEpoch = -ep;
              t.pubQueues = null;
              (routes ??= []).push(t);
            }
            (t.pubQueues ??= []).push(name);
            done = true;
            break;
          }
          if (t instanceof Leaf) {
            // Leaf members only when no local member takes it (nats-server's local preference).
            if (t !== fromLeaf && t.registered && !t.closed) rleaf ??= t;
            continue;
          }
          if ((t as unknown) === producer && !echo) continue;
          if (t.deliver(producer, sub, subject, reply, hdr, data, start, end, payload)) {
            delivered = true;
            done = true;
            break;
          }
        }
        if (!done && rleaf !== null) {
          if (rleaf.pubEpoch !== ep) {
            rleaf.pubEpoch = ep;
            rleaf.pubQueues = null;
            (leafs ??= []).push(rleaf);
          }
          (rleaf.pubQueues ??= []).push(name);
        }
      }
    }
    if (routes !== null) {
      for (let i = 0; i < routes.length; i++) {
        const rt = routes[i]!;
        rt.sendMsg(accName, subject, reply, rt.pubQueues, hdr, data, start, end, copyLarge, producer);
        rt.pubQueues = null;
        rt.pubEpoch = 0;
      }
      delivered = true;
    }
    if (leafs !== null) {
      for (let i = 0; i < leafs.length; i++) {
        const l = leafs[i]!;
        const qs = l.pubQueues;
        l.pubQueues = null;
        if (!l.permits(subject)) continue;
        l.sendMsg(subject, reply, qs, hdr, data, start, end, copyLarge, producer);
        delivered = true;
      }
    }
    return delivered;
  }

  // -------------------------------------------------------------------------------------------
  // Monitoring

  /** /leafz (nats-server 2.9.10's shape: `leafs` is null when there are none); `acc` filters by account. */
  leafz(subs: boolean, acc?: string): Record<string, unknown> {
    const list: Record<string, unknown>[] = [];
    for (const l of this.leafs) {
      if (acc !== undefined && acc !== '' && l.account.name !== acc) continue;
      const e: Record<string, unknown> = {
        account: l.account.name,
        ip: l.ip,
        port: l.port,
        rtt: goDur(l.rttNs),
        in_msgs: l.inMsgs,
        out_msgs: l.outMsgs,
        in_bytes: l.inBytes,
        out_bytes: l.outBytes,
        subscriptions: l.subs.size,
      };
      if (subs) e.subscriptions_list = [...l.subs.values()].map((s) => s.subject);
      list.push(e);
    }
    return { server_id: this.server.serverId, now: new Date().toISOString(), leafnodes: list.length, leafs: list.length > 0 ? list : null };
  }

  /** The `leaf` section of /varz. */
  varzLeaf(): Record<string, unknown> {
    const v: Record<string, unknown> = {};
    if (this.listener) {
      v.host = this.listenHost;
      v.port = this.listenPort;
    }
    v.auth_timeout = this.authTimeoutMs / 1000;
    // nats-server shows the TLS timeout (default 2 s) even without TLS.
    v.tls_timeout = (this.tlsConfig?.options.timeoutMs ?? 2000) / 1000;
    if (this.tlsConfig) {
      v.tls_required = true;
      if (this.tlsConfig.options.verify) v.tls_verify = true;
    }
    const peer = this.server.ocspPeer !== undefined;
    if (this.opts.remotes.length > 0) {
      v.remotes = this.opts.remotes.map((r) => {
        // `local_account` only when configured.
        const e: Record<string, unknown> = {};
        if (r.account !== undefined) e.local_account = r.account;
        if (r.tls) e.tls_timeout = r.tls.timeoutMs / 1000;
        e.urls = r.urls.map((u) => {
          try {
            const x = new URL(u);
            return `${x.hostname}:${x.port}`;
          } catch {
            return u;
          }
        });
        if (r.denyExports.length > 0 || r.denyImports.length > 0) {
          const deny: Record<string, unknown> = {};
          if (r.denyExports.length > 0) deny.exports = r.denyExports;
          if (r.denyImports.length > 0) deny.imports = r.denyImports;
          e.deny = deny;
        }
        if (peer && r.tls?.ocspPeer?.verify) e.tls_ocsp_peer_verify = true;
        return e;
      });
    }
    // nats-server 2.10 (omitempty, after `remotes`).
    if (peer && this.tlsConfig?.options.verify && this.tlsConfig.options.ocspPeer?.verify) v.tls_ocsp_peer_verify = true;
    return v;
  }
}

function goDur(ns: number): string {
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(3).replace(/\.?0+$/, '')}µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(6).replace(/\.?0+$/, '')}ms`;
  return `${(ns / 1e9).toFixed(9).replace(/\.?0+$/, '')}s`;
}

/** Wiring into a running server (loaded only when `leafnodes {}` is configured). */
export async function startLeafnodes(server: Server, opts: LeafnodeOptions): Promise<Leafnodes> {
  const l = new Leafnodes(server, opts);
  await l.start();
  // Routes registered before the leaf manager existed: their leaf URLs.
  for (const r of server.cluster?.routes.values() ?? []) {
    const lu = r.remoteInfo?.leafnode_urls;
    if (Array.isArray(lu)) l.peerLeafUrls(lu, 1);
  }
  const m = server.monitor;
  m.addEndpoint('/leafz', (q) => {
    const s = q.get('subs');
    return { body: l.leafz(s === '1' || s === 'true' || s === 'detail', q.get('acc') ?? undefined) };
  });
  m.addVarzSection('leaf', () => l.varzLeaf());
  m.addVarzSection('leafnodes', () => l.leafs.size);
  return l;
}
