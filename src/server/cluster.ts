// The route manager (nats-server 2.9.10 clustering): the cluster listener, solicited routes with
// retry and reconnect, registration and duplicate resolution, gossip (implicit routes), local
// interest sent as RS+/RS- with queue weights, the publish path across routes (one message per
// route, weighted queue choice), delivery of routed messages (one hop), connect_urls for clients.
// Loaded lazily by the server when `cluster {}` is configured. See docs/clustering.md.

import { createServer as createNetServer, connect as netConnect, type Server as NetServer, type Socket } from 'node:net';
import * as tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { comparePassword, safeEqual } from './auth.js';
import { PublishRule, SubscribeRule } from './permissions.js';
import type { ClusterOptions } from '../config/types.js';
import type { RouteMsg } from '../protocol/route-parser.js';
import type { Client, Subscription } from './client.js';
import type { Logger } from './logger.js';
import { Route, RouteClosed, RouteSub, hostPortOf, type RouteInfo } from './route.js';
import type { Account } from './accounts/account.js';
import { hostPort, hostsFor, type Server } from './server.js';
import type { MatchResult } from './subjects.js';
import { TlsConfig, clientCertificateError } from './tls.js';
import { NATS_VERSION, RUNTIME, type ClusterInfoParts } from './info.js';
import type { RouteStapling } from './cluster-ocsp.js';

const DIAL_TIMEOUT_MS = 1000;
const RETRY_MS = 1000;
const CONNECT_ERROR_REPORTS = 3600;

/** A route URL we dial (configured, or learned by gossip). */
interface Dialer {
  url: URL;
  explicit: boolean;
  attempts: number;
  timer: NodeJS.Timeout | null;
  /** The connection in progress or established from this URL. */
  route: Route | null;
  stopped: boolean;
}

function nuid(): string {
  // 22 characters like nats-server's NUID.
  return randomBytes(16).toString('base64url').replace(/[-_]/g, 'A').slice(0, 22);
}

function urlKey(u: URL): string {
  return `${u.hostname.replace(/^\[|\]$/g, '')}:${u.port}`;
}

export class Cluster {
  readonly server: Server;
  opts: ClusterOptions;
  name: string;
  dynamic: boolean;
  tlsConfig: TlsConfig | undefined;
  /** The tls.Server accepted route sockets belong to (OCSP stapling attaches here). */
  tlsServer: tls.Server | undefined;
  readonly maxRemoteSubs = 1_000_000;
  /** Stapling on route TLS (src/server/cluster-ocsp.ts), when the cluster certificate is stapled. */
  stapling: RouteStapling | undefined;

  private listener: NetServer | undefined;
  listenHost = '';
  listenPort = 0;
  /** Registered routes by remote server ID. */
  readonly routes = new Map<string, Route>();
  /** Every open route connection (registered or still in handshake). */
  readonly conns = new Set<Route>();
  private readonly dialers = new Map<string, Dialer>();
  /** host:port of URLs found to be ourselves. */
  private readonly selfUrls = new Set<string>();
  /**
   * Local interest of every account: key `<acc> <subject>` or `<acc> <subject> <queue>` → count
   * (nats-server's per-account `rm`; the key is the RS+/RS- argument text).
   */
  private readonly interest = new Map<string, number>();
  private unobserve: (() => void) | null = null;
  /** connect_urls learned from peers (ref-counted). */
  private readonly peerUrls = new Map<string, number>();
  private epoch = 0;
  /** Client INFO lists connect_urls once a peer brought some (then own URLs at least). */
  private advertised = false;
  private stopped = false;
  private infoPrefix = '';
  /** cluster.permissions: which local interest we send (import), which remote interest we accept (export). */
  private importRule: PublishRule | null = null;
  private exportRule: SubscribeRule | null = null;

  constructor(server: Server, opts: ClusterOptions) {
    this.server = server;
    this.opts = opts;
    this.dynamic = opts.name === undefined || opts.name === '';
    this.name = this.dynamic ? nuid() : opts.name!;
    if (opts.tls) this.tlsConfig = new TlsConfig(opts.tls);
    this.applyPermissions();
  }

  private applyPermissions(): void {
    const p = this.opts.permissions;
    this.importRule = p?.import ? new PublishRule(p.import, false) : null;
    this.exportRule = p?.export ? new SubscribeRule(p.export) : null;
  }

  /** May we send interest in `subject` to routes (import permission)? */
  canImport(subject: string): boolean {
    return this.importRule === null || this.importRule.allowed(subject);
  }

  /** Do we accept a route's interest in `subject` (export permission)? */
  canExport(subject: string): boolean {
    return this.exportRule === null || this.exportRule.allowed(subject);
  }

  get log(): Logger {
    return this.server.logger;
  }

  get authRequired(): boolean {
    return this.opts.user !== undefined;
  }

  get authTimeoutMs(): number {
    return this.opts.authTimeoutMs ?? (this.tlsConfig ? this.tlsConfig.options.timeoutMs + 1000 : 2000);
  }

  // -------------------------------------------------------------------------------------------
  // Start / stop

  async start(): Promise<void> {
    const o = this.opts;
    const log = this.log;
    if (this.dynamic) log.warn('Cluster name was dynamically generated, consider setting one');
    log.notice(`Cluster name is ${this.name}`);
    const srv = createNetServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 15_000 }, (s) => this.accept(s));
    const port = o.port === -1 ? 0 : o.port;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ host: o.host, port }, () => {
        srv.removeListener('error', reject);
        resolve();
      });
    }).catch((e: NodeJS.ErrnoException) => {
      throw new Error(`Error listening on router port: ${hostPortOf(o.host, o.port)}, "${e.message}"`);
    });
    srv.on('error', (e) => log.error(`Error accepting route connection: ${e.message}`));
    this.listener = srv;
    const addr = srv.address();
    this.listenHost = o.host;
    this.listenPort = typeof addr === 'object' && addr ? addr.port : port;
    if (this.tlsConfig) {
      this.tlsServer = tls.createServer({ ...this.tlsConfig.serverOptions, requestCert: true, rejectUnauthorized: true });
      const { startRouteStapling } = await import('./cluster-ocsp.js');
      this.stapling = await startRouteStapling(this.server, this);
    }
    this.rebuildInfo();
    // Local subscriptions of every account become RS+/RS- on every route.
    this.unobserve = this.server.accounts.observe((acc, sub, added) => this.onLocalSub(acc, sub, added));
    for (const acc of this.server.accounts.all()) {
      for (const s of acc.index.all()) if (!(s instanceof RouteSub)) this.onLocalSub(acc, s, true);
    }
    log.notice(`Listening for route connections on ${hostPortOf(o.host, this.listenPort)}`);
    for (const r of o.routes) this.addDialer(r, true);
  }

  /** The route listener's URLs for the ports file (`cluster`), as nats-server lists them. */
  urls(): string[] {
    const scheme = this.tlsConfig ? 'tls' : 'nats';
    return hostsFor(this.listenHost).map((h) => `${scheme}://${hostPort(h, this.listenPort)}`);
  }

  stop(): void {
    this.stopped = true;
    this.listener?.close();
    this.listener = undefined;
    for (const d of this.dialers.values()) {
      d.stopped = true;
      if (d.timer) clearTimeout(d.timer);
    }
    for (const r of [...this.conns]) r.close(RouteClosed.ServerShutdown);
    this.unobserve?.();
    this.unobserve = null;
    this.stapling?.close();
  }

  /** Reload: new configured routes are dialled, removed ones closed (`Route Removed`). */
  applyReload(next: ClusterOptions): void {
    const prev = new Set(this.opts.routes);
    const now = new Set(next.routes);
    this.opts = { ...next, port: this.opts.port, host: this.opts.host, name: this.opts.name };
    for (const r of prev) {
      if (now.has(r)) continue;
      let u: URL;
      try {
        u = new URL(r);
      } catch {
        continue;
      }
      const d = this.dialers.get(urlKey(u));
      if (!d) continue;
      d.stopped = true;
      if (d.timer) clearTimeout(d.timer);
      this.dialers.delete(urlKey(u));
      const route = d.route;
      if (route) route.close(RouteClosed.RouteRemoved);
      this.log.notice(`Reloaded: remove route ${urlKey(u)}`);
    }
    for (const r of now) {
      if (prev.has(r)) continue;
      this.log.notice(`Reloaded: add route ${r.replace(/\/\/[^@/]*@/, '//')}`);
      this.addDialer(r, true);
    }
    this.rebuildInfo();
  }

  // -------------------------------------------------------------------------------------------
  // INFO

  /** Our route INFO (nats-server's field order); the nonce is per connection. */
  rebuildInfo(): void {
    const srv = this.server;
    const o = this.opts;
    const adv = o.advertise;
    let host = this.listenHost === '' || this.listenHost === '0.0.0.0' || this.listenHost === '::' ? '0.0.0.0' : this.listenHost;
    let port = this.listenPort;
    let ip: string | undefined;
    if (adv) {
      const i = adv.lastIndexOf(':');
      if (i > 0) {
        host = adv.slice(0, i);
        port = Number(adv.slice(i + 1)) || port;
      } else host = adv;
      ip = `nats-route://${hostPortOf(host, port)}/`;
    }
    const f: Record<string, unknown> = {
      server_id: srv.serverId,
      server_name: srv.serverName,
      version: NATS_VERSION,
      proto: 2,
      go: RUNTIME,
      host,
      port,
      headers: !srv.options.noHeaderSupport,
    };
    if (this.authRequired) f.auth_required = true;
    if (this.tlsConfig) {
      f.tls_required = true;
      f.tls_verify = true;
    }
    f.max_payload = srv.options.maxPayload;
    if (ip) f.ip = ip;
    this.infoPrefix = JSON.stringify(f).slice(0, -1);
  }

  private infoTail(): string {
    let s = `,"cluster":${JSON.stringify(this.name)}`;
    if (this.dynamic) s += ',"cluster_dynamic":true';
    if (!this.opts.noAdvertise) {
      const urls = this.ownClientUrls();
      if (urls.length > 0) s += `,"connect_urls":${JSON.stringify(urls)}`;
    }
    const p = this.opts.permissions;
    if (p?.import) s += `,"import":${JSON.stringify(permJson(p.import))}`;
    if (p?.export) s += `,"export":${JSON.stringify(permJson(p.export))}`;
    s += ',"lnoc":true';
    // Our leaf URL for the peers' leaf INFOs (src/server/leafnodes.ts), unless no_advertise.
    const leaf = this.server.leafnodes?.advertisedUrl();
    if (leaf) s += `,"leafnode_urls":${JSON.stringify([leaf])}`;
    return s;
  }

  /** Lame duck mode: every route gets our INFO with `"ldm":true` (peers stop advertising us). */
  enterLameDuck(): void {
    const json = `${this.infoPrefix}${this.infoTail()},"ldm":true}`;
    for (const r of this.routes.values()) r.sendInfo(json);
  }

  infoFrame(nonce: string): Buffer {
    const json = `${this.infoPrefix},"nonce":"${nonce}"${this.infoTail()}}`;
    if (this.log.traceEnabled) this.log.trace(`route INFO ${json}`);
    return Buffer.from(`INFO ${json}\r\n`, 'latin1');
  }

  /** The client URLs this server advertises (host:port). */
  ownClientUrls(): string[] {
    const srv = this.server;
    const h = srv.host;
    if (h === '' || h === '0.0.0.0' || h === '::') {
      return hostsForAdvertise(h).map((x) => hostPortOf(x, srv.port));
    }
    return [hostPortOf(h, srv.port)];
  }

  /** The `cluster` and `connect_urls` parts of the client INFO (`domain` goes between them). */
  clientInfoParts(): ClusterInfoParts {
    const part = (urls: string[]): string => (urls.length > 0 ? `,"connect_urls":${JSON.stringify(urls)}` : '');
    const all = this.clientConnectUrls();
    const own = new Set(this.ownClientUrls());
    return { cluster: `,"cluster":${JSON.stringify(this.name)}`, urls: part(all), ldmUrls: part(all.filter((u) => !own.has(u))) };
  }

  /** connect_urls as clients see them (for /varz). */
  clientConnectUrls(): string[] {
    if (this.opts.noAdvertise || (!this.advertised && this.peerUrls.size === 0)) return [];
    return [...new Set([...this.ownClientUrls(), ...this.peerUrls.keys()])];
  }

  private clientUrlsChanged(): void {
    if (this.peerUrls.size > 0) this.advertised = true;
    this.server.rebuildInfo();
    for (const c of this.server.clients.values()) c.sendInfoUpdate();
  }

  // -------------------------------------------------------------------------------------------
  // Accepting

  private accept(sock: Socket): void {
    if (this.stopped) {
      sock.destroy();
      return;
    }
    const rid = this.server.nextConnectionId();
    const r = new Route(this, sock, rid, false, undefined, false);
    this.conns.add(r);
    sock.on('error', () => undefined);
    if (!this.tlsConfig) {
      r.begin(sock);
      return;
    }
    r.debug('Starting TLS route server handshake');
    const cfg = this.tlsConfig;
    const ts = new tls.TLSSocket(sock, {
      isServer: true,
      server: this.tlsServer,
      secureContext: cfg.defaultContext,
      requestCert: true,
      rejectUnauthorized: true,
    });
    this.handshake(r, ts, sock);
  }

  private handshake(r: Route, ts: tls.TLSSocket, raw: Socket): void {
    const cfg = this.tlsConfig!;
    const timer = setTimeout(() => {
      r.error('TLS route handshake error: i/o timeout');
      ts.destroy();
      raw.destroy();
      r.socket = ts;
      r.close(RouteClosed.TLSHandshakeFailure);
    }, cfg.options.timeoutMs);
    const fail = (e: Error & { code?: string }): void => {
      clearTimeout(timer);
      if (r.closed) return;
      r.error(`TLS route handshake error: ${e.code ?? e.message}`);
      r.socket = ts;
      ts.destroy();
      r.close(RouteClosed.TLSHandshakeFailure);
    };
    ts.once('error', fail);
    // A dialled socket is verified at 'secureConnect'; an accepted one is done at 'secure'.
    ts.once(r.solicited ? 'secureConnect' : 'secure', () => ok());
    let done = false;
    const ok = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      ts.removeListener('error', fail);
      if (r.closed) {
        ts.destroy();
        return;
      }
      const why = ts.authorized ? undefined : r.solicited ? (ts.authorizationError?.message ?? undefined) : clientCertificateError(ts);
      if (why !== undefined) {
        fail(new Error(why));
        return;
      }
      if (!cfg.isPinned(ts.getPeerX509Certificate())) {
        fail(new Error('peer certificate not in pinned_certs'));
        return;
      }
      // 2.9.10 requires the peer's staple when the cluster certificate is stapled. Node can read
      // it only as the dialing side (a TLS server never sees a client's staple).
      if (r.solicited && this.stapling) {
        const bad = this.stapling.checkPeer(r.peerStaple, r.peerLeaf ?? ts.getPeerCertificate()?.raw);
        if (bad !== undefined) {
          fail(new Error(bad));
          return;
        }
      }
      r.debug('TLS handshake complete');
      r.begin(ts);
    };
  }

  // -------------------------------------------------------------------------------------------
  // Dialling

  private addDialer(text: string, explicit: boolean, retries = Infinity): void {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      this.log.error(`Error parsing route url [${JSON.stringify(text)}]`);
      return;
    }
    const key = urlKey(url);
    if (this.selfUrls.has(key)) return;
    const existing = this.dialers.get(key);
    if (existing) {
      if (explicit) existing.explicit = true;
      return;
    }
    const d: Dialer = { url, explicit, attempts: 0, timer: null, route: null, stopped: false };
    this.dialers.set(key, d);
    this.dial(d, explicit ? Infinity : retries);
  }

  private dial(d: Dialer, maxAttempts: number, reconnect = false): void {
    if (d.stopped || this.stopped) return;
    const url = d.url;
    d.attempts++;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port);
    this.log.debug(`Trying to connect to route on ${hostPortOf(host, port)} (${host})`);
    const sock = netConnect({ host, port, noDelay: true });
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      sock.destroy();
      onFail(new Error(`dial tcp ${hostPortOf(host, port)}: i/o timeout`));
    }, DIAL_TIMEOUT_MS);
    const onFail = (e: Error & { code?: string }): void => {
      // Go's dialer texts for the common cases.
      const hp = hostPortOf(host, port);
      const why =
        e.code === 'ECONNREFUSED'
          ? `dial tcp ${hp}: connect: connection refused`
          : e.code === 'EHOSTUNREACH'
            ? `dial tcp ${hp}: connect: no route to host`
            : e.code === 'ENOTFOUND'
              ? `dial tcp: lookup ${host}: no such host`
              : e.message;
      const text = `Error trying to connect to route (attempt ${d.attempts}): ${why}`;
      if (reconnect || d.attempts === 1 || d.attempts % CONNECT_ERROR_REPORTS === 0) this.log.error(text);
      else this.log.debug(text);
      if (d.attempts >= maxAttempts) {
        this.log.debug(`Giving up on route ${urlKey(url)} after ${d.attempts} attempts`);
        this.dialers.delete(urlKey(url));
        return;
      }
      d.timer = setTimeout(() => {
        d.timer = null;
        this.dial(d, maxAttempts, reconnect);
      }, RETRY_MS);
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
      if (d.stopped || this.stopped) {
        sock.destroy();
        return;
      }
      this.log.debug(`Route connect msg sent to ${urlKey(url)}`);
      d.attempts = 0;
      const r = new Route(this, sock, this.server.nextConnectionId(), true, url, d.explicit);
      d.route = r;
      this.conns.add(r);
      sock.on('error', () => undefined);
      if (!this.tlsConfig) {
        r.begin(sock);
        return;
      }
      const cfg = this.tlsConfig;
      const ts = tls.connect({
        socket: sock,
        ca: cfg.ca,
        cert: cfg.certs[0]!.certPem,
        key: cfg.certs[0]!.keyPem,
        host,
        servername: /^[\d.]+$|:/.test(host) ? undefined : host,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
        requestOCSP: this.stapling !== undefined,
      } as tls.ConnectionOptions);
      if (this.stapling) {
        // The peer certificate is taken with the staple: here it is always available (at
        // 'secureConnect' Node may no longer return it once the peer's staple was delivered).
        ts.once('OCSPResponse', (resp: Buffer) => {
          r.peerStaple = resp;
          r.peerLeaf = ts.getPeerCertificate()?.raw;
        });
      }
      this.handshake(r, ts, sock);
    });
  }

  markSelf(url: URL): void {
    const key = urlKey(url);
    this.selfUrls.add(key);
    const d = this.dialers.get(key);
    if (d) {
      d.stopped = true;
      this.dialers.delete(key);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Authorization and cluster name

  /** Route authorization: plain or bcrypt password (bcrypt resolves asynchronously). */
  authorize(user: string | undefined, pass: string | undefined): boolean | Promise<boolean> {
    const o = this.opts;
    if (o.user === undefined) return true;
    if (user === undefined || pass === undefined) return false;
    if (!safeEqual(o.user, user)) return false;
    return comparePassword(o.password ?? '', pass);
  }

  /** A peer has another cluster name: adopt it when ours is dynamic and theirs wins. */
  tryAdoptName(theirs: string, theirsDynamic: boolean): boolean {
    if (theirs === '' || !this.dynamic) return false;
    if (theirsDynamic && !(this.name < theirs)) return false;
    this.name = theirs;
    this.dynamic = theirsDynamic;
    this.log.notice(`Cluster name updated to ${theirs}`);
    this.server.rebuildInfo();
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Registration, gossip

  register(r: Route): void {
    const id = r.remoteId;
    const existing = this.routes.get(id);
    if (existing !== undefined && existing !== r) {
      r.debug(`Detected duplicate remote route "${id}"`);
      if (r.solicited && !existing.solicited) {
        existing.solicited = true;
        existing.url = r.url;
        existing.explicit = existing.explicit || r.explicit;
        const d = r.url ? this.dialers.get(urlKey(r.url)) : undefined;
        if (d) d.route = existing;
      }
      r.close(RouteClosed.DuplicateRoute);
      return;
    }
    r.registered = true;
    this.routes.set(id, r);
    r.debug(`Registering remote route "${id}"`);
    // Full interest of every account.
    const lines: string[] = [];
    for (const [key, n] of this.interest) {
      const a = key.indexOf(' ');
      const sp = key.indexOf(' ', a + 1);
      if (!this.canImport(sp < 0 ? key.slice(a + 1) : key.slice(a + 1, sp))) continue;
      lines.push(sp < 0 ? `RS+ ${key}` : `RS+ ${key} ${n}`);
    }
    for (const l of lines) r.sendProto(l);
    // Gossip the newcomer's INFO to the other routes.
    const info = r.remoteInfo;
    if (info && this.routes.size > 1) {
      const g: RouteInfo = { ...info };
      delete g.nonce;
      if (!g.ip) g.ip = `nats-route://${hostPortOf(r.ip, typeof info.port === 'number' ? info.port : 0)}/`;
      const json = JSON.stringify(g);
      for (const other of this.routes.values()) if (other !== r) other.sendInfo(json);
    }
    // Its leaf URLs (hub-side leaf INFOs list them, src/server/leafnodes.ts).
    if (info && Array.isArray(info.leafnode_urls)) this.server.leafnodes?.peerLeafUrls(info.leafnode_urls, 1);
    // Its client URLs.
    if (info && Array.isArray(info.connect_urls) && !this.opts.noAdvertise) {
      let changed = false;
      for (const u of info.connect_urls) {
        if (typeof u !== 'string') continue;
        const n = this.peerUrls.get(u) ?? 0;
        this.peerUrls.set(u, n + 1);
        if (n === 0) changed = true;
      }
      if (changed) this.clientUrlsChanged();
    }
  }

  /** INFO on an established route: implicit routes (gossip), lame duck mode. */
  asyncInfo(r: Route, info: RouteInfo): void {
    const id = typeof info.server_id === 'string' ? info.server_id : '';
    if (id !== '' && id !== r.remoteId) {
      // Implicit route.
      if (id === this.server.serverId || this.routes.has(id)) return;
      if (typeof info.ip !== 'string' || info.ip === '') return;
      let u: URL;
      try {
        u = new URL(info.ip);
      } catch {
        return;
      }
      const key = urlKey(u);
      for (const t of this.opts.routes) {
        try {
          if (urlKey(new URL(t)) === key) return;
        } catch {
          // ignore
        }
      }
      if (this.dialers.has(key)) return;
      // Gossiped routes use our own credentials (the INFO said auth_required).
      if (info.auth_required && this.opts.user !== undefined) {
        u.username = encodeURIComponent(this.opts.user);
        u.password = encodeURIComponent(this.opts.password ?? '');
      }
      this.log.debug(`Implicit route to ${key}`);
      this.addDialer(u.toString(), false, this.opts.connectRetries + 1);
      return;
    }
    if (info.ldm === true && r.remoteInfo !== null && r.remoteInfo.ldm !== true) {
      r.remoteInfo.ldm = true;
      r.notice(`Peer in lame duck mode: its client URLs are no longer advertised`);
      const urls = r.remoteInfo.connect_urls;
      if (Array.isArray(urls) && !this.opts.noAdvertise) this.dropPeerUrls(urls);
    }
  }

  private dropPeerUrls(urls: unknown[]): void {
    let changed = false;
    for (const u of urls) {
      if (typeof u !== 'string') continue;
      const n = this.peerUrls.get(u);
      if (n === undefined) continue;
      if (n <= 1) {
        this.peerUrls.delete(u);
        changed = true;
      } else this.peerUrls.set(u, n - 1);
    }
    if (changed) this.clientUrlsChanged();
  }

  routeClosed(r: Route): void {
    this.conns.delete(r);
    if (r.registered && this.routes.get(r.remoteId) === r) {
      this.routes.delete(r.remoteId);
      const lu = r.remoteInfo?.leafnode_urls;
      if (Array.isArray(lu)) this.server.leafnodes?.peerLeafUrls(lu, -1);
      const urls = r.remoteInfo?.connect_urls;
      if (Array.isArray(urls) && !this.opts.noAdvertise && r.remoteInfo?.ldm !== true) this.dropPeerUrls(urls);
    }
    if (this.stopped || !r.solicited || !r.url) return;
    if (r.reason === RouteClosed.DuplicateRoute || r.reason === RouteClosed.RouteRemoved) {
      if (r.reason === RouteClosed.DuplicateRoute) return;
      return;
    }
    const key = urlKey(r.url);
    const d = this.dialers.get(key);
    if (!d || d.stopped) return;
    if (d.route !== r) return;
    d.route = null;
    // Re-dial after a random 0-99 ms (+1 s for configured routes).
    const delay = Math.floor(Math.random() * 100) + (d.explicit ? RETRY_MS : 0);
    d.attempts = 0;
    d.timer = setTimeout(() => {
      d.timer = null;
      if (r.remoteId && this.routes.has(r.remoteId)) {
        this.log.debug(`Not attempting reconnect for solicited route, already connected to "${r.remoteId}"`);
        if (!d.explicit) this.dialers.delete(key);
        return;
      }
      this.dial(d, d.explicit ? Infinity : this.opts.connectRetries + 1, true);
    }, delay);
  }

  // -------------------------------------------------------------------------------------------
  // Local interest → RS+/RS-

  private onLocalSub(acc: Account<Subscription>, sub: Subscription, added: boolean): void {
    // Interest from a leaf whose remote is our hub (`noRoute`, src/server/leaf.ts) stays local.
    if (sub instanceof RouteSub || (sub as { noRoute?: boolean }).noRoute === true) return;
    const q = sub.queue;
    const key = q === undefined || q === '' ? `${acc.name} ${sub.subject}` : `${acc.name} ${sub.subject} ${q}`;
    const n = (this.interest.get(key) ?? 0) + (added ? 1 : -1);
    let line: string | undefined;
    if (n <= 0) {
      if (!this.interest.delete(key)) return;
      line = `RS- ${key}`;
    } else {
      this.interest.set(key, n);
      if (q === undefined || q === '') {
        if (n === 1 && added) line = `RS+ ${key}`;
      } else line = `RS+ ${key} ${n}`;
    }
    if (line === undefined || !this.canImport(sub.subject)) return;
    for (const r of this.routes.values()) r.sendProto(line);
  }

  /** A queue RS+ with a new weight for an existing remote queue subscription. */
  setWeight(sub: RouteSub, weight: number): void {
    sub.weight = weight;
  }

  // -------------------------------------------------------------------------------------------
  // Messages

  /**
   * A client publish when clustered (from Client.onPub): local subscribers as without routes,
   * one RMSG per route with interest, queue groups chosen over local and remote members by
   * weight (each route queue subscription counts `weight` times, as nats-server 2.9.10).
   */
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
    const ep = ++this.epoch;
    let delivered = false;
    let targets: Route[] | null = null;
    const plain = r.plain;
    for (let i = 0; i < plain.length; i++) {
      const sub = plain[i]!;
      const t = sub.client;
      if (t instanceof Route) {
        if (t.pubEpoch !== ep && t.registered && !t.closed) {
          t.pubEpoch = ep;
          t.pubQueues = null;
          (targets ??= []).push(t);
        }
        continue;
      }
      if (t === producer && !echo) continue;
      if (t.deliver(producer, sub, subject, reply, headerSize, data, start, end, payload)) delivered = true;
    }
    const queues = r.queues;
    for (let g = 0; g < queues.length; g++) {
      const group = queues[g]!;
      // Weighted pick: local members count 1, a route's member counts its weight.
      let total = 0;
      for (let k = 0; k < group.length; k++) {
        const s = group[k]!;
        total += s instanceof RouteSub ? (s.route.registered && !s.route.closed ? s.weight : 0) : 1;
      }
      if (total === 0) continue;
      let pick = Math.floor(Math.random() * total);
      let chosen = 0;
      for (let k = 0; k < group.length; k++) {
        const s = group[k]!;
        const w = s instanceof RouteSub ? (s.route.registered && !s.route.closed ? s.weight : 0) : 1;
        if (pick < w) {
          chosen = k;
          break;
        }
        pick -= w;
      }
      // Try the chosen member, then the others in order.
      const n = group.length;
      for (let k = 0; k < n; k++) {
        const sub = group[(chosen + k) % n]!;
        const t = sub.client;
        if (sub instanceof RouteSub) {
          const rt = sub.route;
          if (!rt.registered || rt.closed) continue;
          if (rt.pubEpoch !== ep) {
            rt.pubEpoch = ep;
            rt.pubQueues = null;
            (targets ??= []).push(rt);
          }
          (rt.pubQueues ??= []).push(sub.queue!);
          delivered = true;
          break;
        }
        if (t === producer && !echo) continue;
        if (t.deliver(producer, sub, subject, reply, headerSize, data, start, end, payload)) {
          delivered = true;
          break;
        }
      }
    }
    if (targets !== null) {
      const copyLarge = producer.parser.chunksReused;
      for (let i = 0; i < targets.length; i++) {
        const t = targets[i]!;
        t.sendMsg(account, subject, reply, t.pubQueues, headerSize, data, start, end, copyLarge, producer);
        t.pubQueues = null;
      }
      delivered = true;
    }
    return delivered;
  }

  /**
   * A message from a route into `acc` (the account its RMSG named): local subscribers only (one
   * hop); queues only for the listed names.
   */
  deliverRouted(from: Route, acc: Account<Subscription>, m: RouteMsg, data: Buffer, start: number, end: number): void {
    const srv = this.server;
    srv.inMsgs++;
    srv.inBytes += end - start;
    const r = acc.index.match(m.subject);
    const subject = m.subject;
    const reply = m.reply;
    const hdr = m.hdr;
    const payload = end - start > 64 ? data.subarray(start, end) : null;
    const plain = r.plain;
    for (let i = 0; i < plain.length; i++) {
      const sub = plain[i]!;
      const t = sub.client;
      if (t instanceof Route) continue;
      t.deliver(from, sub, subject, reply, hdr, data, start, end, payload);
    }
    const qs = m.queues;
    if (qs === null || qs.length === 0) return;
    const queues = r.queues;
    for (let g = 0; g < queues.length; g++) {
      const group = queues[g]!;
      const name = group[0]!.queue!;
      if (!qs.includes(name)) continue;
      const n = group.length;
      const startAt = Math.floor(Math.random() * n);
      let done = false;
      for (let k = 0; k < n && !done; k++) {
        const sub = group[(startAt + k) % n]!;
        const t = sub.client;
        // Leaf members (`leafFallback`, src/server/leaf.ts) only when no local member took it.
        if (t instanceof Route || (t as { leafFallback?: boolean }).leafFallback === true) continue;
        if (t.deliver(from, sub, subject, reply, hdr, data, start, end, payload)) done = true;
      }
      for (let k = 0; k < n && !done; k++) {
        const sub = group[(startAt + k) % n]!;
        const t = sub.client;
        if ((t as { leafFallback?: boolean }).leafFallback === true && t.deliver(from, sub, subject, reply, hdr, data, start, end, payload)) done = true;
      }
      if (done) continue;
      // No local member could take it: pass it to one other route's member (nats-server does).
      for (let k = 0; k < n && !done; k++) {
        const sub = group[(startAt + k) % n]!;
        if (!(sub instanceof RouteSub) || sub.route === from || !sub.route.registered || sub.route.closed) continue;
        sub.route.sendMsg(acc.name, subject, reply, [name], hdr, data, start, end, false, from);
        done = true;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Monitoring

  /** /routez (nats-server 2.9.10's shape). */
  routez(subs: false | 'list' | 'detail'): Record<string, unknown> {
    const now = new Date();
    const list: Record<string, unknown>[] = [];
    for (const r of this.routes.values()) {
      const e: Record<string, unknown> = {
        rid: r.rid,
        remote_id: r.remoteId,
        did_solicit: r.solicited,
        is_configured: r.explicit,
        ip: r.ip,
        port: r.port,
        start: new Date(r.start).toISOString(),
        last_activity: new Date(r.last).toISOString(),
        rtt: goDur(r.rttNs),
        uptime: goUp(Date.now() - r.start),
        idle: goUp(Date.now() - r.last),
        pending_size: 0,
        in_msgs: r.inMsgs,
        out_msgs: r.outMsgs,
        in_bytes: r.inBytes,
        out_bytes: r.outBytes,
        subscriptions: r.subs.size,
      };
      if (subs === 'list') e.subscriptions_list = [...r.subs.values()].map((s) => s.subject);
      else if (subs === 'detail') {
        e.subscriptions_list_detail = [...r.subs.values()].map((s) => {
          const d: Record<string, unknown> = { subject: s.subject };
          if (s.queue !== undefined) d.qgroup = s.queue;
          d.sid = s.sid;
          d.msgs = s.delivered;
          d.cid = r.rid;
          return d;
        });
      }
      list.push(e);
    }
    const out: Record<string, unknown> = { server_id: this.server.serverId, now: now.toISOString() };
    const p = this.opts.permissions;
    if (p?.import) out.import = permJson(p.import);
    if (p?.export) out.export = permJson(p.export);
    out.num_routes = list.length;
    out.routes = list;
    return out;
  }

  /** The `cluster` section of /varz. */
  varzCluster(): Record<string, unknown> {
    const c: Record<string, unknown> = {};
    if (this.name) c.name = this.name;
    c.addr = this.listenHost;
    c.cluster_port = this.listenPort;
    c.auth_timeout = this.authTimeoutMs / 1000;
    if (this.opts.routes.length > 0) {
      c.urls = this.opts.routes.map((s) => {
        try {
          return urlKey(new URL(s));
        } catch {
          return s;
        }
      });
    }
    if (this.tlsConfig) {
      c.tls_timeout = this.tlsConfig.options.timeoutMs / 1000;
      c.tls_required = true;
      c.tls_verify = true;
    }
    return c;
  }

  get numRoutes(): number {
    return this.routes.size;
  }
}

/** nats-server advertises every non-loopback address of a wildcard listener (loopback if none). */
function hostsForAdvertise(host: string): string[] {
  const all = hostsFor(host).filter((h) => h !== '127.0.0.1' && h !== '::1');
  return all.length > 0 ? all : ['127.0.0.1'];
}

function permJson(p: { allow: string[]; deny: string[] }): Record<string, string[]> {
  const o: Record<string, string[]> = {};
  if (p.allow.length > 0) o.allow = p.allow;
  if (p.deny.length > 0) o.deny = p.deny;
  return o;
}

function goDur(ns: number): string {
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(3).replace(/\.?0+$/, '')}µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(6).replace(/\.?0+$/, '')}ms`;
  return `${(ns / 1e9).toFixed(9).replace(/\.?0+$/, '')}s`;
}

function goUp(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d}d${h}h${m}m${sec}s`;
  if (h > 0) return `${h}h${m}m${sec}s`;
  if (m > 0) return `${m}m${sec}s`;
  return `${sec}s`;
}

