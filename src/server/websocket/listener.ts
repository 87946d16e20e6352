// The websocket listener (`websocket {}`), loaded only when the configuration has one.
//
//   accept → [TLS: the websocket `tls {}` through a TlsManager, stapled like the client port]
//          → HTTP/1.1 upgrade request, checked as nats-server 2.9.10 (upgrade.ts)
//          → 101, then a WsSocket (framing, socket.ts) under an ordinary Client.
//
// The Client is the client port's, unchanged: a websocket connection is a client connection with
// a different transport (its own auth override, INFO auth flag, `wid:` log tag, /connz type).

import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ServerOptions } from '../../config/types.js';
import type { WebsocketOptions } from '../../config/websocket.js';
import { Authenticator } from '../auth.js';
import type { ClientTransport } from '../client.js';
import { InfoTemplate, type InfoFields } from '../info.js';
import { ocspStaplingHook } from '../ocsp.js';
import type { PeerConnLogger } from '../ocsp-peer-hook.js';
import { ReloadError } from '../reload.js';
import { hostPort, hostsFor, type HookContext, type Server, type ServerHook } from '../server.js';
import { clientCertificateError, TlsConfig, TlsManager, tlsVersionName } from '../tls.js';
import { WsSocket } from './socket.js';
import {
  badRequest,
  checkUpgrade,
  errorResponse,
  header,
  offersDeflate,
  originPolicy,
  parseRequest,
  switchingProtocols,
  type OriginPolicy,
} from './upgrade.js';

/** Largest request head accepted (Go's http server allows 1 MiB; a ws upgrade is a few hundred bytes). */
const MAX_HEAD = 64 * 1024;
/** Bound of the TLS + HTTP phase when `handshake_timeout` is not set (nats-server has none). */
const DEFAULT_HANDSHAKE_MS = 10_000;

export class WebsocketListener {
  private listener: NetServer | undefined;
  private tls: TlsManager | undefined;
  private stapling: ServerHook | undefined;
  private origins: OriginPolicy;
  private listenHost = '';
  private listenPort = 0;
  private authFor: ServerOptions | undefined;
  private authn: Authenticator | undefined;
  private infoFor: InfoFields | undefined;
  private infoTpl: InfoTemplate | undefined;
  private readonly pending = new Set<Socket>();
  readonly transport: ClientTransport;

  constructor(private readonly server: Server) {
    const w = this.ws;
    this.origins = originPolicy(w.sameOrigin, w.allowedOrigins);
    this.transport = {
      type: 'websocket',
      logTag: 'wid',
      auth: () => this.auth(),
      info: (cid, ip, ldm, nonce) => this.info().frame(cid, ip, ldm, nonce),
    };
  }

  private get ws(): WebsocketOptions {
    return this.server.options.websocket!;
  }

  get port(): number {
    return this.listenPort;
  }

  get secure(): boolean {
    return !!this.tls;
  }

  private staplingContext(o: ServerOptions = this.server.options): HookContext {
    return { server: this.server, tls: this.tls, options: { ...o, tls: o.websocket?.tls }, log: this.server.logger };
  }

  async start(): Promise<void> {
    const w = this.ws;
    const log = this.server.logger;
    if (w.tls) {
      this.tls = new TlsManager(w.tls);
      this.stapling = ocspStaplingHook(undefined, { listener: 'websocket' });
      await this.stapling.start!(this.staplingContext());
    }
    const srv = createNetServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 15_000 }, (s) => this.accept(s));
    const port = w.port === -1 ? 0 : w.port;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ host: w.host, port }, () => {
        srv.removeListener('error', reject);
        resolve();
      });
    }).catch(async (e: Error) => {
      await this.stopStapling();
      throw new Error(`Unable to listen for websocket connections: listen tcp ${hostPort(w.host, w.port)}: ${e.message}`);
    });
    srv.on('error', (e) => log.error(`Error accepting websocket connection: ${e.message}`));
    this.listener = srv;
    const addr = srv.address();
    this.listenHost = w.host;
    this.listenPort = typeof addr === 'object' && addr ? addr.port : port;
    const scheme = this.tls ? 'wss' : 'ws';
    log.notice(`Listening for websocket clients on ${scheme}://${hostPort(w.host, this.listenPort)}`);
    if (!this.tls) log.warn('Websocket not configured with TLS. DO NOT USE IN PRODUCTION!');
  }

  /** URLs for the ports file (`websocket`). */
  urls(): string[] {
    const scheme = this.tls ? 'wss' : 'ws';
    return hostsFor(this.listenHost).map((h) => `${scheme}://${hostPort(h, this.listenPort)}`);
  }

  /** Stops accepting (lame duck mode, shutdown); handshakes in progress are dropped. */
  closeListener(): void {
    const l = this.listener;
    this.listener = undefined;
    if (l) l.close();
    for (const s of this.pending) s.destroy();
    this.pending.clear();
  }

  async stop(): Promise<void> {
    this.closeListener();
    await this.stopStapling();
  }

  private async stopStapling(): Promise<void> {
    if (!this.stapling?.stop) return;
    const h = this.stapling;
    this.stapling = undefined;
    try {
      await h.stop!(this.staplingContext());
    } catch (e) {
      this.server.logger.error(`websocket ocsp: ${(e as Error).message}`);
    }
  }

  // ---- reload ----------------------------------------------------------------------------------

  /**
   * Before the server applies `next`: nats-server 2.9.10 reloads only the websocket TLS
   * configuration; any other change refuses the reload. Certificates are swapped as on the
   * client port, stapled first.
   */
  async reload(next: ServerOptions): Promise<void> {
    const cur = this.ws;
    const nw = next.websocket;
    const strip = (w: WebsocketOptions | undefined): unknown => (w ? { ...w, tls: w.tls ? true : undefined } : undefined);
    const same = JSON.stringify(strip(cur)) === JSON.stringify(strip(nw));
    if (!same || !nw) {
      throw new ReloadError(`config reload not supported for Websocket: old=${describe(cur)}, new=${describe(nw)}`);
    }
    if (!this.tls || !nw.tls) return;
    let cfg = new TlsConfig(nw.tls);
    const h = this.stapling;
    if (h?.beforeReload) cfg = (await h.beforeReload(this.staplingContext(), { options: { ...next, tls: nw.tls }, tls: cfg })) ?? cfg;
    await this.tls.update(cfg);
  }

  /** After the server applied the reload. */
  async reloaded(): Promise<void> {
    this.origins = originPolicy(this.ws.sameOrigin, this.ws.allowedOrigins);
    if (this.stapling?.reload) await this.stapling.reload(this.staplingContext());
  }

  // ---- monitoring ------------------------------------------------------------------------------

  /** The /varz `websocket` section (nats-server's WebsocketOptsVarz, empty fields left out). */
  varz(): Record<string, unknown> {
    const w = this.ws;
    const v: Record<string, unknown> = {};
    if (w.host) v.host = w.host;
    if (this.listenPort) v.port = this.listenPort;
    if (w.advertise) v.advertise = w.advertise;
    if (w.noAuthUser) v.no_auth_user = w.noAuthUser;
    if (w.jwtCookie) v.jwt_cookie = w.jwtCookie;
    if (w.handshakeTimeoutMs) v.handshake_timeout = w.handshakeTimeoutMs * 1e6;
    if (w.authorization?.timeoutMs) v.auth_timeout = w.authorization.timeoutMs / 1000;
    if (w.noTls) v.no_tls = true;
    if (w.tls?.verifyAndMap) v.tls_map = true;
    if (w.tls?.pinnedCerts?.length) v.tls_pinned_certs = [...w.tls.pinnedCerts];
    if (w.sameOrigin) v.same_origin = true;
    if (w.allowedOrigins.length > 0) v.allowed_origins = [...w.allowedOrigins];
    if (w.compression) v.compression = true;
    // nats-server 2.10+: the websocket block's own ocsp_peer, while the peer check is in service.
    if (this.tls && w.tls?.ocspPeer?.verify && this.server.ocspPeer) v.tls_ocsp_peer_verify = true;
    return v;
  }

  // ---- auth and INFO for websocket clients -----------------------------------------------------

  /** The websocket `authorization` / `no_auth_user` override (nats-server's authOverride). */
  private get override(): boolean {
    const w = this.ws;
    return !!(w.authorization?.user || w.authorization?.token || w.noAuthUser);
  }

  private auth(): Authenticator {
    const o = this.server.options;
    if (this.authn && this.authFor === o) return this.authn;
    const w = o.websocket!;
    const a = o.authorization;
    const base = this.override
      ? { users: a?.users ?? [], defaultPermissions: a?.defaultPermissions, user: w.authorization?.user, password: w.authorization?.password, token: w.authorization?.token }
      : a;
    const timeoutMs = w.authorization?.timeoutMs ?? this.server.auth.timeoutMs;
    this.authn = new Authenticator(
      {
        ...o,
        authorization: base ? { ...base, timeoutMs } : undefined,
        noAuthUser: this.override ? w.noAuthUser : o.noAuthUser,
        tls: w.tls,
      },
      'WEBSOCKET',
    );
    this.authFor = o;
    return this.authn;
  }

  private info(): InfoTemplate {
    const f = this.server.infoFields;
    if (this.infoTpl && this.infoFor === f) return this.infoTpl;
    let fields = f;
    if (!f.auth_required && this.override) {
      // auth_required sits right after `headers` in nats-server's order.
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(f)) {
        o[k] = v;
        if (k === 'headers') o.auth_required = true;
      }
      fields = o as unknown as InfoFields;
    }
    this.infoTpl = new InfoTemplate(fields);
    this.infoFor = f;
    return this.infoTpl;
  }

  // ---- accepting -------------------------------------------------------------------------------

  private accept(raw: Socket): void {
    if (!this.listener || this.server.inLameDuckMode) {
      raw.destroy();
      return;
    }
    raw.setNoDelay(true);
    this.pending.add(raw);
    const addr = `${stripV6(raw.remoteAddress)}:${raw.remotePort ?? 0}`;
    const log = this.server.logger;
    const ms = this.ws.handshakeTimeoutMs > 0 ? this.ws.handshakeTimeoutMs : DEFAULT_HANDSHAKE_MS;
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      this.pending.delete(raw);
      log.debug(`${addr} - websocket handshake timeout`);
      raw.destroy();
    }, ms);
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      clearTimeout(timer);
      this.pending.delete(raw);
      return true;
    };
    raw.on('error', () => undefined);
    raw.once('close', () => finish());
    const tls = this.tls;
    if (!tls) {
      this.readRequest(raw, raw, addr, finish);
      return;
    }
    let sock: TLSSocket;
    try {
      sock = tls.upgrade(raw);
    } catch (e) {
      log.error(`websocket: TLS handshake error from ${addr}: ${(e as Error).message}`);
      finish();
      raw.destroy();
      return;
    }
    let secure = false;
    sock.on('error', (e: Error) => {
      if (secure || done) return;
      log.error(`websocket: TLS handshake error from ${addr}: ${e.message}`);
      finish();
      raw.destroy();
    });
    sock.on('close', () => tls.handshakeDone(sock));
    sock.once('secure', () => {
      secure = true;
      tls.handshakeDone(sock);
      if (done) return;
      const opts = tls.options;
      const verify = opts.verify || opts.verifyAndMap;
      // `ocsp_peer` of this block: the chain is read before getPeerX509Certificate(), which
      // empties Node's copy of a server socket's peer chain.
      const gate = verify && opts.ocspPeer?.verify ? this.server.ocspPeer : undefined;
      const chain = gate?.peerChain(sock);
      if (verify) {
        const why = clientCertificateError(sock);
        if (why !== undefined) {
          log.error(`websocket: TLS handshake error from ${addr}: client certificate: ${why}`);
          finish();
          sock.destroy();
          return;
        }
      }
      if (!tls.config.isPinned(verify ? sock.getPeerX509Certificate() : undefined)) {
        log.error(`websocket: TLS handshake error from ${addr}: peer certificate not in pinned_certs`);
        finish();
        sock.destroy();
        return;
      }
      if (!gate) {
        this.readRequest(sock, raw, addr, finish);
        return;
      }
      // Nothing the peer sent (its HTTP upgrade request) is read until the chain is checked;
      // refused, it is closed without an upgrade answer (docs/ocsp-peer.md, docs/websocket.md).
      const peerLog = this.peerLogger(addr);
      const admit = (ok: boolean): void => {
        if (done) return;
        if (ok) this.readRequest(sock, raw, addr, finish, peerLog);
        else {
          finish();
          sock.destroy();
        }
      };
      const verdict = gate.check(chain ?? [], 'websocket', peerLog, opts.ocspPeer);
      if (typeof verdict === 'boolean') admit(verdict);
      else void verdict.then(admit);
    });
  }

  /** Log lines of the `ocsp_peer` check of a connection that is not a client yet. */
  private peerLogger(addr: string): PeerConnLogger {
    const log = this.server.logger;
    return {
      debug: (m) => log.debug(`${addr} - ${m}`),
      warn: (m) => log.warn(`${addr} - ${m}`),
      error: (m) => log.error(`${addr} - ${m}`),
      handshakeError: (reason) => log.error(`websocket: TLS handshake error from ${addr}: ${reason}`),
    };
  }

  /** Reads the request head on `sock` (raw, or TLS over raw) and upgrades or refuses. */
  private readRequest(sock: Socket, raw: Socket, addr: string, finish: () => boolean, peerLog?: PeerConnLogger): void {
    let head: Buffer = Buffer.alloc(0);
    const log = this.server.logger;
    const onData = (d: Buffer): void => {
      head = head.length === 0 ? d : Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD) {
          sock.removeListener('data', onData);
          if (finish()) endSoon(sock, errorResponse(431));
        }
        return;
      }
      sock.removeListener('data', onData);
      sock.pause();
      if (!finish()) return;
      const req = parseRequest(head.subarray(0, end).toString('latin1'));
      if (!req) {
        endSoon(sock, badRequest());
        return;
      }
      if (req.proto === 'HTTP/1.1' && !req.headers.has('host')) {
        endSoon(sock, badRequest('missing required Host header'));
        return;
      }
      const fail = checkUpgrade(req, this.origins, !!this.tls);
      if (fail) {
        log.error(`${addr} - websocket handshake error: ${fail.reason}`);
        endSoon(sock, errorResponse(fail.status, req.proto));
        return;
      }
      if (head.length > end + 4) {
        log.error(`${addr} - websocket handshake error: client sent data before handshake is complete`);
        sock.destroy();
        return;
      }
      const path = req.path;
      if (path.startsWith('/leafnode')) {
        const leafs = this.server.leafnodes;
        if (!leafs || leafs.listenPort === 0) {
          log.error('Not configured to accept leaf node connections');
          sock.destroy();
          return;
        }
        // A leaf connection over websocket (src/server/leafnodes.ts): no compression negotiated.
        const noMask = header(req, 'nats-no-masking') === 'true';
        sock.write(switchingProtocols(header(req, 'sec-websocket-key'), false, noMask));
        if (sock !== raw) raw.on('close', () => sock.destroy());
        const lws = new WsSocket(sock, {
          compress: false,
          maskRequired: !noMask,
          browser: false,
          noCompressedFragments: false,
          maxCompressed: Math.max(this.server.options.maxPending, this.server.options.maxPayload + 64 * 1024),
          onFrameError: (text) => log.error(`${addr} - read error: ${text}`),
        });
        leafs.acceptWebsocket(lws as unknown as Socket, (f) => (lws.reasonOf = f));
        return;
      }
      if (path.startsWith('/mqtt')) {
        log.error(`${addr} - websocket handshake error: MQTT is not supported by tsnats yet`);
        sock.destroy();
        return;
      }
      const w = this.ws;
      const compress = w.compression && offersDeflate(req);
      const noMasking = header(req, 'nats-no-masking') === 'true';
      const ua = header(req, 'user-agent');
      sock.write(switchingProtocols(header(req, 'sec-websocket-key'), compress, noMasking));
      const browser = ua.startsWith('Mozilla/');
      const safari = compress && ua.includes('Version/') && ua.includes('Safari/');
      this.open(sock, raw, { compress, noMasking, browser, safari }, peerLog);
    };
    sock.on('data', onData);
  }

  private open(sock: Socket, raw: Socket, o: { compress: boolean; noMasking: boolean; browser: boolean; safari: boolean }, peerLog?: PeerConnLogger): void {
    const server = this.server;
    let client: { error(m: string): void; reason: string } | undefined;
    const ws = new WsSocket(sock, {
      compress: o.compress,
      maskRequired: !o.noMasking,
      browser: o.browser,
      noCompressedFragments: o.safari,
      maxCompressed: Math.max(server.options.maxPending, server.options.maxPayload + 64 * 1024),
      onFrameError: (text) => (client ? client.error(`read error: ${text}`) : server.logger.error(`read error: ${text}`)),
    });
    if (sock !== raw) raw.on('close', () => sock.destroy());
    server.acceptConnection(ws as unknown as Socket, this.transport, (c) => {
      client = c;
      // `ocsp_peer`: the periodic re-check of admitted peers now closes this client if revoked.
      if (peerLog) server.ocspPeer?.adopt(peerLog, c);
      ws.reasonOf = () => c.reason;
      if (sock !== raw) {
        const t = sock as TLSSocket;
        c.tlsVersion = tlsVersionName(t.getProtocol());
        const cipher = t.getCipher();
        c.tlsCipher = (cipher as { standardName?: string }).standardName ?? cipher.name;
        const opts = this.tls?.options;
        if (opts && (opts.verify || opts.verifyAndMap)) c.peerCert = t.getPeerX509Certificate();
      }
    });
  }
}

/** Writes a last reply and closes; the socket is destroyed after 2 s if the peer does not close. */
function endSoon(sock: Socket, reply: Buffer): void {
  sock.end(reply);
  sock.resume();
  setTimeout(() => sock.destroy(), 2000).unref();
}

function stripV6(a: string | undefined): string {
  if (!a) return '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

function describe(w: WebsocketOptions | undefined): string {
  if (!w) return '{}';
  const { tls, ...rest } = w;
  return JSON.stringify({ ...rest, tls: tls ? 'configured' : undefined });
}
