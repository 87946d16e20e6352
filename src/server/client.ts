// One client connection: the protocol handler behind the parser, its subscriptions, and its
// timers (auth, ping, TLS handshake). The socket, outbound chunk list, flush, stall gate and write
// deadline are the connection core's (src/server/connection/core.ts), shared with routes and leafs.
//
// Hot path (a PUB): the parser hands a zero-copy view of the payload to onPub; the subject is
// looked up through a one-entry memo of the connection's last published subject (valid while the
// index generation is unchanged) in front of the SubjectIndex and its cache; each target connection
// writes the MSG/HMSG line (starting from the subscription's pre-encoded `MSG <subject> <sid> ` when
// its subject is literal) and the payload (copied when small, by reference when large) into its own
// outbound chunk (pooled 64 KiB chunks for busy connections) and registers itself once in the
// server's pending list; the server flushes every touched connection once the I/O callback that
// caused the work is done (process.nextTick, before the event loop polls again): one write, or one
// corked writev, per connection per read. No promises, timers or closures per message.
//
// Flow control (nats-server's): a consumer whose pending bytes pass 75 % of max_pending stalls the
// producers that deliver to it: their socket reading is paused until the consumer's socket drains,
// for at most nats-server's stall duration (100 ms, growing to 1 s near max_pending), after which
// the producer goes on (and is stalled again by its next delivery if the consumer has not caught
// up). A consumer above max_pending, or one whose socket makes no write progress for
// write_deadline, is closed as a slow consumer (no -ERR). The mechanics live in the core.

import type { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ProtocolHandler, ProtocolViolation } from '../protocol/handler.js';
import { ProtocolParser, view } from '../protocol/parser.js';
import {
  CRLF,
  NO_RESPONDERS_HDR,
  OK,
  PING,
  PONG,
  deliveryLineLength,
  hmsgHeaderLength,
  utf8ToWire,
  wireToUtf8,
  writeDecimal,
  writeDeliveryLine,
  writeHmsgHeader,
  writeLatin1,
} from '../protocol/encode.js';
import {
  ERR_AUTH_TIMEOUT,
  ERR_AUTH_VIOLATION,
  ERR_ACCOUNT_AUTH_EXPIRED,
  ERR_USER_AUTH_EXPIRED,
  ERR_MAX_ACCOUNT_CONNECTIONS,
  ERR_INVALID_CLIENT_PROTOCOL,
  ERR_INVALID_PUBLISH_SUBJECT,
  ERR_INVALID_SUBJECT,
  ERR_MAX_CONTROL_LINE,
  ERR_MAX_SUBSCRIPTIONS,
  ERR_NO_RESPONDERS_REQUIRES_HEADERS,
  ERR_STALE_CONNECTION,
  VIOLATION_ERRORS,
  errPermPublish,
  errPermPublishReply,
  errPermSubscribe,
  errPermSubscribeReload,
  goQuote,
  type WireError,
} from '../protocol/errors.js';
import type { Authenticator, AuthResult, AuthSession, Credentials } from './auth.js';
import { newNonce } from './nkey.js';
import type { Account } from './accounts/account.js';
import { GLOBAL_ACCOUNT } from '../config/accounts.js';
import { type CompiledPermissions, ResponsePermits, removedByReloadLog, subscriptionsDeniedByReload } from './permissions.js';
import { isLiteral, isValidLiteralSubject, isValidQueueName, matchLiteral, type MatchResult } from './subjects.js';
import { goDuration } from './monitor/format.js';
import { clientCertificateError, tlsVersionName } from './tls.js';
import { readIntoShared } from './shared-read.js';
import { COPY_MAX, ConnCore, STALL_SHARE, type Producer } from './connection/core.js';

export { Stall, stallDuration, type Producer } from './connection/core.js';
import type { Server } from './server.js';

/** Why a connection was closed: nats-server's ClosedState strings (shown in logs and /connz). */
export const ClosedReason = {
  ClientClosed: 'Client Closed',
  AuthenticationTimeout: ERR_AUTH_TIMEOUT.text, // nats-server uses the -ERR text as the close reason
  AuthenticationViolation: 'Authentication Failure',
  TLSHandshakeError: 'TLS Handshake Failure',
  SlowConsumerPendingBytes: 'Slow Consumer (Pending Bytes)',
  SlowConsumerWriteDeadline: 'Slow Consumer (Write Deadline)',
  WriteError: 'Write Error',
  ReadError: 'Read Error',
  ParseError: 'Parse Error',
  StaleConnection: ERR_STALE_CONNECTION.text,
  ProtocolViolation: 'Protocol Violation',
  BadClientProtocolVersion: 'Bad Client Protocol Version',
  MaxConnectionsExceeded: 'Maximum Connections Exceeded',
  MaxAccountConnectionsExceeded: 'Maximum Account Connections Exceeded',
  MaxPayloadExceeded: 'Maximum Message Payload Exceeded',
  MaxControlLineExceeded: 'Maximum Control Line Exceeded',
  ServerShutdown: 'Server Shutdown',
  NoRespondersRequiresHeaders: 'No Responders Requires Headers',
  /** nats-server's `Revocation` state; here: `ocsp_peer` found the peer's certificate revoked. */
  Revocation: 'Credentials Revoked',
  AuthenticationExpired: 'Authentication Expired',
} as const;
export type ClosedReason = (typeof ClosedReason)[keyof typeof ClosedReason];

const VIOLATION_REASON: Record<ProtocolViolation, ClosedReason> = {
  unknown_op: ClosedReason.ProtocolViolation,
  max_control_line: ClosedReason.MaxControlLineExceeded,
  max_payload: ClosedReason.MaxPayloadExceeded,
  auth_violation: ClosedReason.AuthenticationViolation,
  bad_args: ClosedReason.ProtocolViolation,
};

/**
 * What a subscription delivers to: a client connection, or another kind of connection or internal
 * subscriber (routes, leaf nodes, JetStream) that takes messages through the same call.
 */
export interface SubscriptionTarget {
  /** Queues one message for `sub`; false if nothing was delivered (see `Client.deliver`). */
  deliver(
    producer: Producer,
    sub: Subscription,
    subject: string,
    reply: string | undefined,
    headerSize: number,
    data: Buffer,
    start: number,
    end: number,
    payload: Buffer | null,
    /** The subject written in MSG when it differs from the matched one (JetStream deliveries). */
    msgSubject?: string,
  ): boolean;
}

/** A subscription as stored in the subject index. */
export class Subscription {
  readonly subject: string;
  readonly queue: string | undefined;
  readonly sid: string;
  readonly client: SubscriptionTarget;
  /** Auto-unsubscribe after this many deliveries (0 = none). */
  max = 0;
  delivered = 0;
  closed = false;
  /** Messages must pass the deny filter of the client's subscribe permissions. */
  denyFilter = false;
  /**
   * `MSG <subject> <sid> ` pre-encoded, for a literal subject (every message it matches has exactly
   * that subject, so the start of its MSG line never changes); null for wildcard subscriptions.
   */
  readonly head: Buffer | null;

  constructor(client: SubscriptionTarget, subject: string, queue: string | undefined, sid: string) {
    this.client = client;
    this.subject = subject;
    this.queue = queue;
    this.sid = sid;
    this.head = isLiteral(subject) ? Buffer.from(`MSG ${subject} ${sid} `, 'latin1') : null;
  }
}

/**
 * Copies `src` into `dst` at `k`; returns the new offset. Uint8Array#set is a plain memmove: for
 * every size it beats a byte loop and Buffer#copy (which validates its arguments in JavaScript).
 */
function put(dst: Buffer, k: number, src: Buffer): number {
  dst.set(src, k);
  return k + src.length;
}

/** Client state: TLS handshake in progress, then open until closed. */
const enum State {
  Handshake,
  Open,
  Closed,
}

/** Payloads up to this size are copied with a byte loop (no view needed). */
const LOOP_COPY_MAX = 64;
/** CONNECT options as nats-server reads them (defaults when absent: verbose/pedantic/echo true). */
interface ConnectOpts {
  verbose: boolean;
  pedantic: boolean;
  echo: boolean;
  protocol: number;
  headers: boolean;
  noResponders: boolean;
  name: string;
  lang: string;
  version: string;
  user?: string;
  pass?: string;
  authToken?: string;
  nkey?: string;
  sig?: string;
  jwt?: string;
  account?: string;
  newAccount?: boolean;
  tlsRequired: boolean;
}

/** The stricter of a server limit (0 = none) and an account limit (-1 = none). */
function minLimit(server: number, account: number): number {
  if (account < 0) return server;
  return server > 0 ? Math.min(server, account) : account;
}

function stripV6Mapped(ip: string | undefined): string {
  if (!ip) return '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

type Deferred = () => void;

/** A snapshot of a connection for /connz. */
export interface ConnSnapshot {
  cid: number;
  ip: string;
  port: number;
  start: number;
  lastActivity: number;
  stop?: number;
  reason?: string;
  rttNs: number;
  pendingBytes: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  numSubs: number;
  name: string;
  lang: string;
  version: string;
  tlsVersion: string;
  tlsCipher: string;
  tlsFirst: boolean;
  /** /connz `type` when not "nats" (websocket). */
  type?: string;
  user: string;
  /** The account the connection was bound to (set when it closed; open connections are looked up). */
  account?: string;
  subs: Array<{ subject: string; queue?: string; sid: string; msgs: number; max: number }>;
  /** Operator mode: the user's account, JWT, issuer key, name and tags (/connz?auth=1). */
  jwt?: { account: string; jwt: string; issuerKey: string; nameTag: string; tags: string[] };
}

/**
 * A transport under the client protocol (websocket, src/server/websocket): the Client runs on its
 * socket-like object unchanged; the transport supplies what differs (auth, INFO, log and /connz kind).
 */
export interface ClientTransport {
  /** /connz `type` (nats-server: "websocket"). */
  readonly type: string;
  /** Log prefix tag (nats-server: "wid"). */
  readonly logTag: string;
  auth(): Authenticator;
  info(cid: number, ip: string, ldm: boolean, nonce?: string): Buffer;
}

export class Client extends ConnCore implements ProtocolHandler, SubscriptionTarget {
  readonly cid: number;
  readonly server: Server;
  readonly raw: Socket;
  readonly ip: string;
  readonly port: number;
  readonly start: number;
  readonly parser: ProtocolParser;
  readonly subs = new Map<string, Subscription>();

  // CONNECT options
  private opts: ConnectOpts = {
    verbose: true,
    pedantic: true,
    echo: true,
    protocol: 0,
    headers: false,
    noResponders: false,
    name: '',
    lang: '',
    version: '',
    tlsRequired: false,
  };
  /** Cached CONNECT flags for the hot path. */
  headers = false;
  private verbose = true;
  private pedantic = true;
  private echo = true;

  // Auth
  user = '';
  /** The account this connection is bound to (`$G` until authentication says otherwise). */
  account: Account<Subscription>;
  /** Counted in `account.numClients`. */
  private accountCounted = false;
  /** The nonce sent in this connection's INFO (nkey users configured). */
  private nonce: string | undefined;
  permissions: CompiledPermissions | null = null;
  private permits: ResponsePermits | null = null;
  private connectReceived = false;
  private deferred: Deferred[] | null = null;
  peerCert: X509Certificate | undefined;
  /** Operator mode: account, limits and expiry from the user JWT (src/server/jwt/). */
  session: AuthSession | undefined;
  /** Websocket `jwt_cookie`: the JWT from the upgrade request's cookie (used when CONNECT has none). */
  cookieJwt: string | undefined;
  private expTimer: NodeJS.Timeout | null = null;
  private maxSubs = -1;

  // TLS
  tlsVersion = '';
  tlsCipher = '';
  tlsFirst = false;

  // Stats
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  last: number;
  stop = 0;
  reason = '';
  private activity = false;

  // Ping
  private pingOut = 0;
  private lastPingIn = 0;
  private rttStart = 0;
  private rttNs = 0;
  private rttMeasured = false;
  private firstPongSent = false;

  // Timers
  private pingTimer: NodeJS.Timeout | null = null;
  private authTimer: NodeJS.Timeout | null = null;
  private tlsTimer: NodeJS.Timeout | null = null;

  // Outbound (the chunk list is the core's)
  private flushedMsgs = 0;
  /** Registered in the server's pending list (flush at the end of the current read). */
  flagged = false;

  // Subject lookup memo: the last subject published and its match, valid for one index generation.
  private lastSubject = '';
  private lastMatch: MatchResult<Subscription> | null = null;
  private lastGen = -1;

  private state: State = State.Handshake;
  private logPrefix: string;

  constructor(
    server: Server,
    raw: Socket,
    cid: number,
    readonly transport?: ClientTransport,
  ) {
    super(raw);
    this.server = server;
    this.account = server.accounts.global;
    this.raw = raw;
    this.cid = cid;
    this.ip = stripV6Mapped(raw.remoteAddress);
    this.port = raw.remotePort ?? 0;
    this.start = Date.now();
    this.last = this.start;
    const o = server.options;
    this.parser = new ProtocolParser(this, { maxControlLine: o.maxControlLine, maxPayload: o.maxPayload });
    this.parser.headers = false;
    this.logPrefix = `${this.ip}:${this.port} - ${transport?.logTag ?? 'cid'}:${cid} - `;
  }

  // -------------------------------------------------------------------------------------------
  // Logging helpers

  debug(msg: string): void {
    const l = this.server.logger;
    if (l.debugEnabled) l.debug(this.logPrefix + msg);
  }
  private traceIn(op: string): void {
    this.server.logger.trace(`${this.logPrefix}<<- [${op}]`);
  }
  private traceOut(op: string): void {
    this.server.logger.trace(`${this.logPrefix}->> [${op}]`);
  }
  error(msg: string): void {
    this.server.logger.error(this.logPrefix + msg);
  }
  warn(msg: string): void {
    this.server.logger.warn(this.logPrefix + msg);
  }
  notice(msg: string): void {
    this.server.logger.notice(this.logPrefix + msg);
  }

  /** Round trip measured at connect, in ns (a service import's `Nats-Request-Info` header). */
  get rtt(): number {
    return this.rttNs;
  }

  get isClosed(): boolean {
    return this.state === State.Closed;
  }

  get isOpen(): boolean {
    return this.state === State.Open;
  }

  /** Protocol level the client declared in CONNECT. */
  get protocol(): number {
    return this.opts.protocol;
  }

  get name(): string {
    return this.opts.name;
  }

  // -------------------------------------------------------------------------------------------
  // Start-up: INFO, TLS, timers

  /** Called by the server right after accept. */
  begin(): void {
    const raw = this.raw;
    raw.setNoDelay(true);
    raw.on('error', (e: NodeJS.ErrnoException) => this.onSocketError(e));
    raw.on('close', () => {
      // Dropped during the TLS handshake: nats-server logs Go's read error.
      if (this.state === State.Handshake && this.socket !== raw && !this.isClosed) {
        this.error(`TLS handshake error: ${raw.bytesRead > 0 ? 'unexpected EOF' : 'EOF'}`);
        this.close(ClosedReason.TLSHandshakeError);
      } else this.close(ClosedReason.ClientClosed);
    });
    this.debug('Client connection created');

    const srv = this.server;
    // A transport (websocket) did its own TLS, if any.
    const tls = this.transport ? undefined : srv.tls;
    const o = srv.options;
    if (!tls) {
      this.openPlain(true);
      return;
    }
    const hf = tls.options.handshakeFirst;
    if (hf === true) {
      this.tlsFirst = true;
      this.startHandshake();
      return;
    }
    if (hf !== false && typeof hf === 'object') {
      // handshake_first with fallback: TLS if the client speaks first, else INFO-first.
      const timer = setTimeout(() => {
        raw.removeListener('data', onFirst);
        raw.pause();
        if (this.isClosed) return;
        this.sendInfo();
        this.flush();
        this.startHandshake();
      }, hf.fallbackMs);
      const onFirst = (chunk: Buffer): void => {
        clearTimeout(timer);
        raw.pause();
        raw.unshift(chunk);
        this.tlsFirst = true;
        this.startHandshake();
      };
      raw.once('data', onFirst);
      return;
    }
    if (o.allowNonTls) {
      this.sendInfo();
      this.flush();
      // A client that stays silent is treated as plaintext after the TLS timeout, so the auth and
      // ping timers run for it as for any other connection.
      const timer = setTimeout(() => {
        raw.removeListener('data', onFirst);
        if (!this.isClosed) this.openPlain(false);
      }, tls.options.timeoutMs);
      const onFirst = (chunk: Buffer): void => {
        clearTimeout(timer);
        raw.pause();
        raw.unshift(chunk);
        if (chunk[0] === 0x16) this.startHandshake();
        else this.openPlain(false);
      };
      raw.once('data', onFirst);
      return;
    }
    this.sendInfo();
    this.flush();
    this.startHandshake();
  }

  private openPlain(sendInfo: boolean): void {
    this.state = State.Open;
    if (sendInfo) {
      this.sendInfo();
      this.flush();
    }
    this.attach(this.raw);
    this.afterOpen();
  }

  private attach(sock: Socket): void {
    this.socket = sock;
    // Not for a plaintext socket on a TLS listener (allow_non_tls): its first bytes were already
    // read the default way to tell TLS from plaintext. A TLS socket reads decrypted records into
    // the shared buffer too; anything it decrypted before this point is taken first.
    if ((sock !== this.raw || !this.server.tls) && readIntoShared(sock, (d) => this.onData(d))) {
      this.parser.chunksReused = true;
      for (let early: Buffer | null; (early = sock.read() as Buffer | null) !== null; ) this.onData(early);
    } else {
      sock.on('data', (d: Buffer) => this.onData(d));
    }
    sock.on('drain', () => this.onDrain());
    sock.resume();
  }

  /** Common to plaintext and TLS: auth timer, ping timer, `expectConnect`. */
  private afterOpen(): void {
    const srv = this.server;
    const auth = this.authn;
    if (auth.required) {
      this.parser.expectConnect = true;
      this.authTimer = setTimeout(() => this.authTimeout(), auth.timeoutMs);
    } else if (auth.enabled) {
      // no_auth_user: ops before CONNECT run as that user.
      this.applyAuth(auth.authenticate({}) as AuthResult);
    }
    this.setFirstPingTimer();
  }

  private startHandshake(): void {
    const tls = this.server.tls!;
    const raw = this.raw;
    this.debug('Starting TLS client connection handshake');
    const timeoutMs = tls.options.timeoutMs;
    let sock: TLSSocket;
    try {
      sock = tls.upgrade(raw);
    } catch (e) {
      this.error(`TLS handshake error: ${(e as Error).message}`);
      this.close(ClosedReason.TLSHandshakeError);
      return;
    }
    this.socket = sock;
    this.tlsTimer = setTimeout(() => {
      this.tlsTimer = null;
      if (this.state !== State.Handshake) return;
      this.error(`TLS handshake error: read tcp ${raw.localAddress}:${raw.localPort}->${this.ip}:${this.port}: i/o timeout`);
      this.close(ClosedReason.TLSHandshakeError);
      this.error('TLS handshake timeout');
    }, timeoutMs);
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (this.state === State.Handshake) {
        this.error(`TLS handshake error: ${tlsErrorText(e)}`);
        this.close(ClosedReason.TLSHandshakeError);
      } else {
        this.onSocketError(e);
      }
    });
    sock.on('close', () => {
      tls.handshakeDone(sock);
      if (this.state === State.Handshake && !this.isClosed) {
        this.error('TLS handshake error: EOF');
        this.close(ClosedReason.TLSHandshakeError);
      } else {
        this.close(ClosedReason.ClientClosed);
      }
    });
    sock.once('secure', () => {
      tls.handshakeDone(sock);
      this.onSecure(sock);
    });
  }

  private onSecure(sock: TLSSocket): void {
    if (this.tlsTimer) {
      clearTimeout(this.tlsTimer);
      this.tlsTimer = null;
    }
    if (this.isClosed) return;
    const tls = this.server.tls!;
    // Without `verify` no certificate is requested, so the client cannot have sent one. This is the
    // socket's first getPeerX509Certificate(): the certificates the client sent hang off its
    // `issuerCertificate` links (Node takes them out of its own copy of the chain), which is what
    // `ocsp_peer` needs to build the chain cheaply.
    const verify = tls.options.verify || tls.options.verifyAndMap;
    this.peerCert = verify ? sock.getPeerX509Certificate() : undefined;
    // A TLSSocket wrapped by hand (INFO-first upgrade) is not rejected by Node when the client
    // certificate fails verification: `rejectUnauthorized` is only enforced for sockets a listening
    // tls.Server accepts itself. Enforce `verify` here.
    if (verify) {
      const why = clientCertificateError(sock, this.peerCert);
      if (why !== undefined) {
        this.error(`TLS handshake error: client certificate: ${why}`);
        this.close(ClosedReason.TLSHandshakeError);
        return;
      }
    }
    if (!tls.config.isPinned(this.peerCert)) {
      this.error('TLS handshake error: peer certificate not in pinned_certs');
      this.close(ClosedReason.TLSHandshakeError);
      return;
    }
    // `ocsp_peer`: the connection stays held (nothing it sent is read, no INFO for TLS-first
    // clients) until its chain is checked; refused, it is closed without a session.
    const gate = this.server.ocspPeer;
    const peer = this.peerCert;
    const config = tls.config;
    const verdict = gate && peer ? gate.check(gate.peerChain(sock, { leaf: peer, anchors: () => config.anchors }), 'client', this) : true;
    if (verdict === true) this.openSecure(sock);
    else if (verdict === false) this.close(ClosedReason.TLSHandshakeError);
    else void verdict.then((ok) => (this.isClosed ? undefined : ok ? this.openSecure(sock) : this.close(ClosedReason.TLSHandshakeError)));
  }

  private openSecure(sock: TLSSocket): void {
    this.tlsVersion = tlsVersionName(sock.getProtocol());
    const c = sock.getCipher();
    this.tlsCipher = (c as { standardName?: string }).standardName ?? c.name;
    if (this.server.logger.debugEnabled) {
      this.debug('TLS handshake complete');
      this.debug(`TLS version ${this.tlsVersion}, cipher suite ${this.tlsCipher}`);
    }
    this.state = State.Open;
    // Auth state first: attach() parses what the client sent while its certificate was checked
    // (ocsp_peer), e.g. a CONNECT that must not be overridden by no_auth_user afterwards.
    this.afterOpen();
    this.attach(sock);
    if (this.tlsFirst) {
      this.sendInfo();
      this.flush();
    }
  }

  /** INFO for this connection (with the connection's id and IP, and its nkey nonce). */
  private sendInfo(ldm = false): void {
    if (!ldm && this.nonce === undefined && this.authn.nonceRequired) this.nonce = newNonce();
    const nonce = ldm ? undefined : this.nonce;
    this.enqueue(this.transport ? this.transport.info(this.cid, this.ip, ldm, nonce) : this.server.infoFrame(this.cid, this.ip, ldm, nonce));
  }

  private get authn(): Authenticator {
    return this.transport ? this.transport.auth() : this.server.auth;
  }

  /** Async INFO (connect_urls changed), to protocol-1 clients that completed a PING. */
  sendInfoUpdate(): void {
    if (this.state !== State.Open || this.opts.protocol < 1 || !this.firstPongSent) return;
    this.sendInfo(this.server.inLameDuckMode);
    this.flush();
  }

  /** Async INFO with `ldm:true` (lame duck mode), to protocol-1 clients that completed a PING. */
  sendLameDuckInfo(): void {
    if (this.state !== State.Open || this.opts.protocol < 1 || !this.firstPongSent) return;
    this.sendInfo(true);
    this.flush();
  }

  // -------------------------------------------------------------------------------------------
  // Reading

  /** Output queued while parsing is flushed by the server after the I/O callback (see Server.markPending). */
  private onData(d: Buffer): void {
    this.parser.parse(d);
    if (this.activity) {
      this.activity = false;
      this.last = Date.now();
    }
  }

  // -------------------------------------------------------------------------------------------
  // ProtocolHandler

  onConnect(json: string): void {
    if (this.deferred) {
      this.deferred.push(() => this.onConnect(json));
      return;
    }
    const srv = this.server;
    if (srv.logger.traceEnabled) this.traceIn(`CONNECT ${json.replace(/("pass"\s*:\s*)"(?:[^"\\]|\\.)*"/, '$1"[REDACTED]"')}`);
    let v: unknown;
    try {
      v = JSON.parse(json);
    } catch (e) {
      this.error(goJsonError(json, e as Error));
      this.close(ClosedReason.ProtocolViolation);
      return;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      this.error(`json: cannot unmarshal ${Array.isArray(v) ? 'array' : typeof v} into Go value of type server.ClientOpts`);
      this.close(ClosedReason.ProtocolViolation);
      return;
    }
    const j = v as Record<string, unknown>;
    const o = this.opts;
    if (typeof j.verbose === 'boolean') o.verbose = j.verbose;
    if (typeof j.pedantic === 'boolean') o.pedantic = j.pedantic;
    if (typeof j.echo === 'boolean') o.echo = j.echo;
    if (typeof j.protocol === 'number') o.protocol = j.protocol;
    if (typeof j.headers === 'boolean') o.headers = j.headers;
    if (typeof j.no_responders === 'boolean') o.noResponders = j.no_responders;
    if (typeof j.name === 'string') o.name = j.name;
    if (typeof j.lang === 'string') o.lang = j.lang;
    if (typeof j.version === 'string') o.version = j.version;
    if (typeof j.tls_required === 'boolean') o.tlsRequired = j.tls_required;
    // nats-server adds `"v<version>:<lang>:<name>"` to the connection's log prefix after CONNECT.
    const tag = [o.version ? `v${o.version}` : '', o.lang, o.name].filter((x) => x !== '').join(':');
    if (tag !== '') this.logPrefix = `${this.ip}:${this.port} - cid:${this.cid} - ${wireToUtf8(goQuote(utf8ToWire(tag)))} - `;
    o.user = typeof j.user === 'string' ? j.user : undefined;
    o.pass = typeof j.pass === 'string' ? j.pass : undefined;
    o.authToken = typeof j.auth_token === 'string' ? j.auth_token : undefined;
    o.nkey = typeof j.nkey === 'string' ? j.nkey : undefined;
    o.sig = typeof j.sig === 'string' ? j.sig : undefined;
    o.jwt = typeof j.jwt === 'string' ? j.jwt : undefined;
    o.account = typeof j.account === 'string' ? j.account : undefined;
    o.newAccount = j.new_account === true;
    this.verbose = o.verbose;
    this.pedantic = o.pedantic;
    this.echo = o.echo;
    this.headers = o.headers && !srv.options.noHeaderSupport;
    this.parser.headers = this.headers;

    const auth = this.authn;
    if (!auth.enabled) {
      this.finishConnect({ ok: true, permissions: null });
      return;
    }
    const r = auth.authenticate(this.credentials(), this.peerCert);
    if (r instanceof Promise) {
      // nats-server stops the auth timer when CONNECT arrives (processConnect), before checking it:
      // a slow check (bcrypt, an account fetched over HTTP) is not an authentication timeout.
      if (this.authTimer) clearTimeout(this.authTimer);
      this.authTimer = null;
      this.holdUntil(r, (res) => this.finishConnect(res));
    }
    else this.finishConnect(r);
  }

  /**
   * bcrypt or an nkey signature being checked: hold further ops (in order) until the check is
   * done, then run `then` with its result and the held ops.
   */
  private holdUntil(r: Promise<AuthResult>, then: (res: AuthResult) => void): void {
    this.deferred ??= [];
    this.updateReading();
    const resume = (res: AuthResult): void => {
      const queue = this.deferred ?? [];
      this.deferred = null;
      if (this.isClosed) return;
      then(res);
      for (const fn of queue) {
        if (this.isClosed) break;
        fn();
      }
      this.updateReading();
      this.server.flushPending();
    };
    r.then(resume, () => resume({ ok: false, log: 'authentication error' }));
  }

  /** nats-server's getRawAuthUser: the CONNECT nkey, else user name, else token (events, also on failure). */
  get rawAuthUser(): string {
    const o = this.opts;
    return o.nkey || o.user || o.authToken || '';
  }

  private credentials(): Credentials {
    const o = this.opts;
    const connType = this.transport ? 'WEBSOCKET' : 'STANDARD';
    return { user: o.user, pass: o.pass, auth_token: o.authToken, nkey: o.nkey, sig: o.sig, nonce: this.nonce, jwt: o.jwt || this.cookieJwt, host: this.ip, connType };
  }

  private applyAuth(r: AuthResult): boolean {
    if (!r.ok) return false;
    // Operator mode: the user's account is registered from its JWT on first use.
    const acc = this.server.accounts.get(r.account ?? GLOBAL_ACCOUNT) ?? (r.session ? this.server.accounts.addFromJwt(r.session.accountConfig) : undefined);
    if (acc === undefined) return false;
    if (acc !== this.account) {
      this.uncountAccount();
      this.account = acc;
      this.lastMatch = null;
      // The account's `max_payload` applies when stricter than the server's (nats-server's applyAccountLimits).
      if (acc.limits.maxPayload >= 0) this.applyOptions();
    }
    this.user = r.user ?? '';
    this.permissions = r.permissions;
    this.permits = r.permissions?.responses ? new ResponsePermits(r.permissions.responses.max, r.permissions.responses.expiresMs) : null;
    if (r.session) this.applySession(r.session);
    return true;
  }

  /** Operator mode: the user JWT's payload/subscription limits and the expiry timer (nats-server's setExpiration). */
  private applySession(s: AuthSession): void {
    this.session = s;
    const o = this.server.options;
    if (s.maxPayload >= 0 && s.maxPayload < o.maxPayload) this.parser.setLimits({ maxPayload: s.maxPayload });
    this.maxSubs = s.maxSubs;
    if (this.expTimer) clearTimeout(this.expTimer);
    this.expTimer = null;
    const user = s.expiresInMs;
    const acc = s.accountExpiresInMs;
    const accountFirst = acc !== undefined && (user === undefined || acc < user);
    const ms = accountFirst ? acc : user;
    if (ms === undefined) return;
    this.expTimer = setTimeout(() => {
      this.expTimer = null;
      const err = accountFirst ? ERR_ACCOUNT_AUTH_EXPIRED : ERR_USER_AUTH_EXPIRED;
      this.sendErr(err);
      this.debug(err.text);
      this.close(ClosedReason.AuthenticationExpired);
    }, Math.min(ms, 2 ** 31 - 1));
    this.expTimer.unref();
  }

  private finishConnect(r: AuthResult): void {
    const o = this.opts;
    if (!r.ok || o.account !== undefined || o.newAccount) {
      if (!r.ok && r.debug) this.debug(r.debug);
      if (!r.ok && r.error) this.error(r.error);
      this.error(r.ok ? 'authentication error' : r.log);
      this.sendErr(ERR_AUTH_VIOLATION);
      this.close(ClosedReason.AuthenticationViolation);
      return;
    }
    if (!this.applyAuth(r)) {
      this.error(`authentication error - account ${JSON.stringify(r.account ?? '')} not found`);
      this.sendErr(ERR_AUTH_VIOLATION);
      this.close(ClosedReason.AuthenticationViolation);
      return;
    }
    if (!this.accountCounted) {
      if (!this.account.connectionAllowed()) {
        this.sendErr(ERR_MAX_ACCOUNT_CONNECTIONS);
        this.close(ClosedReason.MaxAccountConnectionsExceeded);
        this.error(ERR_MAX_ACCOUNT_CONNECTIONS.text);
        return;
      }
      this.account.numClients++;
      this.accountCounted = true;
    }
    if (o.protocol < 0 || o.protocol > 1) {
      this.sendErr(ERR_INVALID_CLIENT_PROTOCOL);
      this.close(ClosedReason.BadClientProtocolVersion);
      this.error(ERR_INVALID_CLIENT_PROTOCOL.text);
      return;
    }
    if (o.noResponders && !this.headers) {
      this.sendErr(ERR_NO_RESPONDERS_REQUIRES_HEADERS);
      this.close(ClosedReason.NoRespondersRequiresHeaders);
      this.error(ERR_NO_RESPONDERS_REQUIRES_HEADERS.text);
      return;
    }
    if (this.authTimer) {
      clearTimeout(this.authTimer);
      this.authTimer = null;
    }
    if (!this.connectReceived) {
      this.connectReceived = true;
      this.rttNs = (Date.now() - this.start) * 1e6;
      this.server.events?.clientConnected(this);
    }
    if (this.verbose) this.sendOK();
  }

  onPub(subject: string, reply: string | undefined, headerSize: number, data: Buffer, start: number, end: number): void {
    if (this.deferred) {
      const kept = this.parser.chunksReused ? Buffer.from(data.subarray(start, end)) : data.subarray(start, end);
      this.deferred.push(() => this.onPub(subject, reply, headerSize, kept, 0, kept.length));
      return;
    }
    const srv = this.server;
    const size = end - start;
    this.inMsgs++;
    this.inBytes += size;
    srv.inMsgs++;
    srv.inBytes += size;
    const acc = this.account;
    acc.inMsgs++;
    acc.inBytes += size;
    this.activity = true;
    if (srv.logger.traceEnabled) this.tracePub(subject, reply, headerSize, data.subarray(start, end));
    // Account subject mappings (src/protocol/subject-transform.ts), before permissions as nats-server.
    const maps = this.account.mappings;
    if (maps !== null && (subject = maps.map(subject)) === '') return; // a weighted mapping's dropped share

    if (this.pedantic && !isValidLiteralSubject(subject)) this.sendErr(ERR_INVALID_PUBLISH_SUBJECT);

    const perms = this.permissions;
    if (perms !== null && perms.publish !== null && !perms.publish.allowed(subject)) {
      if (this.permits === null || !this.permits.use(subject, Date.now())) {
        const frame = errPermPublish(subject);
        this.enqueue(frame);
        if (this.server.logger.traceEnabled) this.traceOut(frame.toString('latin1', 0, frame.length - 2));
        this.error(`Publish Violation - ${this.authUserDesc()}, Subject ${goQuote(wireToUtf8(subject))}`);
        this.server.markPending(this);
        return;
      }
    }
    if (reply !== undefined && isReservedReply(reply)) {
      this.enqueue(errPermPublishReply(reply));
      this.error(`Publish Violation - ${this.authUserDesc()}, Reply ${goQuote(wireToUtf8(reply))}`);
      this.server.markPending(this);
      return;
    }
    if (this.verbose) this.sendOK();

    const r = this.lookup(subject);
    let delivered = false;
    const plain = r.plain;
    const queues = r.queues;
    if (plain.length + queues.length === 0) {
      if (reply !== undefined && this.opts.noResponders && this.headers) this.sendNoResponders(reply);
      return;
    }
    // Small payloads are copied byte by byte from the read buffer; larger ones through one view
    // shared by all deliveries (cheaper than a byte loop from about 64 bytes on).
    const payload = size > LOOP_COPY_MAX ? view(data, start, end) : null;
    // Clustered: routes take part in the match (src/server/cluster.ts); one branch here otherwise.
    // With leaf connections the leaf manager takes this role (src/server/leafnodes.ts).
    const cluster = srv.linkPublisher();
    if (cluster !== null) delivered = cluster.publish(this, r, this.echo, subject, reply, headerSize, data, start, end, payload);
    else {
      for (let i = 0; i < plain.length; i++) {
        const sub = plain[i]!;
        const t = sub.client;
        if (t === this && !this.echo) continue;
        if (t.deliver(this, sub, subject, reply, headerSize, data, start, end, payload)) delivered = true;
      }
      for (let g = 0; g < queues.length; g++) {
        const group = queues[g]!;
        const n = group.length;
        const startAt = n === 1 ? 0 : Math.floor(Math.random() * n);
        for (let k = 0; k < n; k++) {
          const sub = group[(startAt + k) % n]!;
          const t = sub.client;
          if (t === this && !this.echo) continue;
          if (t.deliver(this, sub, subject, reply, headerSize, data, start, end, payload)) {
            delivered = true;
            break;
          }
        }
      }
    }
    if (!delivered && reply !== undefined && this.opts.noResponders && this.headers) this.sendNoResponders(reply);
  }

  /**
   * The subscriptions matching `subject`. A run of publishes to one subject (the common case) costs a
   * string comparison; any other subject goes to the index and its cache. (nats-server keeps a
   * per-client cache to avoid the sublist lock; here the index cache is as cheap as such a cache
   * would be, and a per-client map of fresh strings would only add hashing and retained garbage.)
   */
  private lookup(subject: string): MatchResult<Subscription> {
    const index = this.account.index;
    const gen = index.generation;
    if (subject === this.lastSubject && gen === this.lastGen && this.lastMatch !== null) return this.lastMatch;
    const r = index.match(subject);
    this.lastSubject = subject;
    this.lastMatch = r;
    this.lastGen = gen;
    return r;
  }

  private tracePub(subject: string, reply: string | undefined, headerSize: number, payload: Buffer): void {
    const r = reply ? ` ${reply}` : '';
    const op = headerSize >= 0 ? `HPUB ${subject}${r} ${headerSize} ${payload.length}` : `PUB ${subject}${r} ${payload.length}`;
    this.traceIn(op);
    const max = 128;
    const shown = payload.subarray(0, max).toString('latin1');
    this.server.logger.trace(`${this.logPrefix}<<- MSG_PAYLOAD: [${JSON.stringify(shown)}${payload.length > max ? '...' : ''}]`);
  }

  private authUserDesc(): string {
    if (this.opts.nkey) return `Nkey ${JSON.stringify(this.opts.nkey)}`;
    return `User ${JSON.stringify(this.user)}`;
  }

  /** The 503 status to the requester's own reply subscription (nats-server 2.9.10's frame). */
  private sendNoResponders(reply: string): void {
    for (const sub of this.subs.values()) {
      if (!matchLiteral(reply, sub.subject)) continue;
      const n = NO_RESPONDERS_HDR.length;
      const len = hmsgHeaderLength(reply, sub.sid, undefined, n, n) + n + 2;
      const buf = this.reserve(len);
      let k = this.chunkOff;
      k += writeHmsgHeader(buf, k, reply, sub.sid, undefined, n, n);
      k += NO_RESPONDERS_HDR.copy(buf, k);
      buf[k++] = 13;
      buf[k++] = 10;
      this.chunkOff = k;
      this.queued += len;
      this.server.markPending(this);
      return;
    }
  }

  onSub(subject: string, queue: string | undefined, sid: string): void {
    if (this.deferred) {
      this.deferred.push(() => this.onSub(subject, queue, sid));
      return;
    }
    const srv = this.server;
    if (srv.logger.traceEnabled) this.traceIn(queue !== undefined ? `SUB ${subject} ${queue} ${sid}` : `SUB ${subject} ${sid}`);
    this.activity = true;
    const perms = this.permissions;
    if (perms !== null && perms.subscribe !== null && !perms.subscribe.allowed(subject, queue)) {
      this.enqueue(errPermSubscribe(subject, queue));
      const q = queue !== undefined ? `, Queue: ${goQuote(wireToUtf8(queue))}` : '';
      this.error(`Subscription Violation - ${this.authUserDesc()}, Subject ${goQuote(wireToUtf8(subject))}${q}, SID ${wireToUtf8(sid)}`);
      srv.markPending(this);
      return;
    }
    const max = minLimit(minLimit(srv.options.maxSubscriptions, this.account.limits.maxSubscriptions), this.maxSubs >= 0 ? this.maxSubs : -1);
    if ((max > 0 && this.subs.size >= max) || this.maxSubs === 0) {
      this.error(ERR_MAX_SUBSCRIPTIONS.text);
      this.sendErr(ERR_MAX_SUBSCRIPTIONS);
      return;
    }
    if (!this.subs.has(sid)) {
      if (queue !== undefined && !isValidQueueName(queue)) {
        this.sendErr(ERR_INVALID_SUBJECT);
        return;
      }
      const sub = new Subscription(this, subject, queue, sid);
      if (!this.account.index.insert(sub)) {
        this.sendErr(ERR_INVALID_SUBJECT);
        return;
      }
      if (perms !== null && perms.subscribe !== null && perms.subscribe.needsDeliveryFilter(subject)) sub.denyFilter = true;
      this.subs.set(sid, sub);
    }
    if (this.verbose) this.sendOK();
  }

  onUnsub(sid: string, max: number | undefined): void {
    if (this.deferred) {
      this.deferred.push(() => this.onUnsub(sid, max));
      return;
    }
    if (this.server.logger.traceEnabled) this.traceIn(max !== undefined ? `UNSUB ${sid} ${max}` : `UNSUB ${sid}`);
    const sub = this.subs.get(sid);
    if (sub !== undefined) {
      if (max !== undefined && max > 0 && max > sub.delivered) sub.max = max;
      else this.removeSub(sub);
    }
    if (this.verbose) this.sendOK();
  }

  onPing(): void {
    if (this.deferred) {
      this.deferred.push(() => this.onPing());
      return;
    }
    if (this.server.logger.traceEnabled) {
      this.traceIn('PING');
      this.traceOut('PONG');
    }
    this.enqueue(PONG);
    this.lastPingIn = Date.now();
    if (this.connectReceived && this.opts.protocol >= 1) this.firstPongSent = true;
    this.server.markPending(this);
  }

  onPong(): void {
    if (this.deferred) {
      this.deferred.push(() => this.onPong());
      return;
    }
    if (this.server.logger.traceEnabled) this.traceIn('PONG');
    this.pingOut = 0;
    if (this.rttStart > 0) {
      this.rttNs = (performance.now() - this.rttStart) * 1e6;
      this.rttStart = 0;
      this.rttMeasured = true;
    }
  }

  onInfo(_json: string): void {
    // nats-server ignores INFO from clients.
  }

  onOk(): void {
    // ignored
  }

  onErr(text: string): void {
    this.error(`Client Error ${text}`);
    this.close(ClosedReason.ParseError);
  }

  onViolation(kind: ProtocolViolation, detail?: string): void {
    const err = VIOLATION_ERRORS[kind];
    if (kind === 'auth_violation') this.error('authentication error');
    if (err) this.sendErr(err);
    this.close(VIOLATION_REASON[kind]);
    if (kind === 'unknown_op') this.error(`Client parser ERROR${detail ? ': ' + detail : ''}`);
    else if (kind === 'max_control_line') this.error(`${ERR_MAX_CONTROL_LINE.text}${detail ? ': ' + detail : ''}`);
    else if (kind === 'max_payload') this.error(`maximum payload exceeded${detail ? ': ' + detail : ''}`);
    else if (kind === 'bad_args') this.error(`${detail ?? 'protocol error'}`);
  }

  // -------------------------------------------------------------------------------------------
  // Delivery (this client is the receiver)

  /**
   * Queues one message from `producer` for subscription `sub` of this client. Returns false if
   * nothing was delivered (connection closed, subscription gone, or filtered by permissions).
   */
  deliver(
    producer: Producer,
    sub: Subscription,
    subject: string,
    reply: string | undefined,
    headerSize: number,
    data: Buffer,
    start: number,
    end: number,
    payload: Buffer | null,
    msgSubject?: string,
  ): boolean {
    if (this.state === State.Closed || sub.closed) return false;
    if (msgSubject !== undefined) subject = msgSubject;
    if (sub.denyFilter && !this.permissions!.subscribe!.deliverable(subject)) return false;
    if (reply !== undefined && this.permits !== null) this.permits.grant(reply, Date.now());
    sub.delivered++;

    // The payload is data[start, end), also as `payload` (a view) unless it is small. A client
    // without header support gets an HPUB as a plain MSG without the headers.
    let from = start;
    let hdr = headerSize;
    if (hdr >= 0 && !this.headers) {
      from += hdr;
      hdr = -1;
    }
    const size = end - from;
    const line = deliveryLineLength(subject, sub.sid, reply, hdr, size);
    const copy = size <= COPY_MAX;
    const buf = this.reserve(copy ? line + size + 2 : line);
    let k = this.writeMsgLine(buf, this.chunkOff, sub, subject, reply, hdr, size, msgSubject !== undefined);
    const body = payload === null || from === start ? payload : payload.subarray(from - start);
    if (copy) {
      if (body === null) for (let i = from; i < end; i++) buf[k++] = data[i]!;
      else k = put(buf, k, body);
      buf[k++] = 13;
      buf[k++] = 10;
      this.chunkOff = k;
    } else {
      // Large payloads are queued by reference (a view of the producer's read buffer; a copy
      // when that buffer is reused for the next read).
      this.chunkOff = k;
      this.sealChunk();
      this.outList.push(producer.parser.chunksReused ? Buffer.from(body!) : body!, CRLF);
      this.outDone.push(undefined, undefined);
    }
    this.queued += line + size + 2;
    this.outMsgs++;
    this.outBytes += size;
    const srv = this.server;
    srv.outMsgs++;
    srv.outBytes += size;
    const acc = this.account;
    acc.outMsgs++;
    acc.outBytes += size;
    if (srv.logger.traceEnabled) this.traceDelivery(subject, sub.sid, reply, hdr, size);

    if (sub.max > 0 && sub.delivered >= sub.max) this.removeSub(sub);
    if (!this.flagged) srv.markPending(this);
    const pending = this.pendingBytes;
    const maxPending = srv.options.maxPending;
    if (pending > maxPending * STALL_SHARE) {
      if (pending > maxPending) this.slowConsumer();
      else this.stallProducer(producer, pending, maxPending);
    }
    return true;
  }

  /** Writes `MSG <subject> <sid> [reply] <size>\r\n` (or the HMSG form when `hdr >= 0`) at `k`; returns the new offset. */
  private writeMsgLine(buf: Buffer, k: number, sub: Subscription, subject: string, reply: string | undefined, hdr: number, size: number, own = false): number {
    const head = own ? null : sub.head;
    if (head === null) {
      return k + writeDeliveryLine(buf, k, subject, sub.sid, reply, hdr, size);
    }
    // Literal subscription: the subject is the subscription's, `MSG <subject> <sid> ` is pre-encoded.
    if (hdr >= 0) buf[k++] = 0x48; // H
    k = put(buf, k, head);
    if (reply !== undefined && reply.length > 0) {
      k += writeLatin1(buf, k, reply);
      buf[k++] = 0x20;
    }
    if (hdr >= 0) {
      k += writeDecimal(buf, k, hdr);
      buf[k++] = 0x20;
    }
    k += writeDecimal(buf, k, size);
    buf[k++] = 13;
    buf[k++] = 10;
    return k;
  }

  private traceDelivery(subject: string, sid: string, reply: string | undefined, hdr: number, size: number): void {
    const r = reply ? ` ${reply}` : '';
    this.traceOut(hdr >= 0 ? `HMSG ${subject} ${sid}${r} ${hdr} ${size}` : `MSG ${subject} ${sid}${r} ${size}`);
  }

  private removeSub(sub: Subscription): void {
    if (sub.closed) return;
    sub.closed = true;
    this.subs.delete(sub.sid);
    this.account.index.remove(sub);
  }

  private uncountAccount(): void {
    if (!this.accountCounted) return;
    this.account.numClients--;
    this.accountCounted = false;
  }

  /** Reading is paused while stalled or while a CONNECT is being authenticated asynchronously. */
  updateReading(): void {
    if (this.state !== State.Open) return;
    if (this.stall !== null || this.deferred !== null) this.socket.pause();
    else this.socket.resume();
  }

  /**
   * Queues a control frame (copied into the chunk). max_pending applies to these too (as
   * nats-server's queueOutbound): a client that floods PINGs and never reads its PONGs is cut.
   */
  enqueue(frame: Buffer): void {
    if (this.state === State.Closed) return;
    const n = frame.length;
    const buf = this.reserve(n);
    this.chunkOff = put(buf, this.chunkOff, frame);
    this.queued += n;
    if (this.pendingBytes > this.server.options.maxPending) this.slowConsumer();
  }

  private sendOK(): void {
    if (this.server.logger.traceEnabled) this.traceOut('OK');
    this.enqueue(OK);
    this.server.markPending(this);
  }

  private traceOutErr(text: string): void {
    if (this.server.logger.traceEnabled) this.traceOut(`-ERR ${text}`);
  }

  /** Queues the error frame of `e` (the caller decides whether to close). */
  sendErr(e: WireError): void {
    this.traceOutErr(e.text);
    this.enqueue(e.frame);
    this.server.markPending(this);
  }

  /** Writes everything queued, in one batch (one write, or one corked writev). */
  flush(): void {
    this.flagged = false;
    if (this.queued === 0) return;
    if (this.flushOut() === 0) return;
    // Message delivery counts as activity (nats-server updates `last` when it flushes messages).
    if (this.outMsgs !== this.flushedMsgs) {
      this.flushedMsgs = this.outMsgs;
      this.last = Date.now();
    }
  }

  protected override onDrain(): void {
    this.last = Date.now();
    super.onDrain();
  }

  protected get writeDeadlineMs(): number {
    return this.server.options.writeDeadlineMs;
  }

  protected writeDeadlineExceeded(): void {
    const sock = this.socket;
    const dl = goDuration(this.server.options.writeDeadlineMs * 1e6);
    const chunks = (sock as unknown as { writableBuffer?: unknown[] }).writableBuffer?.length ?? 1;
    this.notice(`Slow Consumer Detected: WriteDeadline of ${dl} exceeded with ${chunks} chunks of ${sock.writableLength} total bytes.`);
    this.server.slowConsumers++;
    this.account.slowConsumers++;
    this.close(ClosedReason.SlowConsumerWriteDeadline, true);
  }

  private slowConsumer(): void {
    if (this.isClosed) return;
    this.notice(`Slow Consumer Detected: MaxPending of ${this.server.options.maxPending} Exceeded`);
    this.server.slowConsumers++;
    this.account.slowConsumers++;
    this.close(ClosedReason.SlowConsumerPendingBytes, true);
  }

  // -------------------------------------------------------------------------------------------
  // Timers

  private setFirstPingTimer(): void {
    const o = this.server.options;
    let d = o.pingIntervalMs;
    if (d <= 0) return;
    if (d > 2000) d = 2000;
    d += Math.floor(Math.random() * (d / 5));
    this.pingTimer = setTimeout(() => this.processPingTimer(), d);
  }

  private processPingTimer(): void {
    this.pingTimer = null;
    if (this.isClosed) return;
    this.debug('Client Ping Timer');
    const o = this.server.options;
    const interval = o.pingIntervalMs;
    const now = Date.now();
    const needRTT = !this.rttMeasured;
    let send = false;
    if (!needRTT && now - this.last < interval) {
      this.debug(`Delaying PING due to client activity ${goDuration(Math.round((now - this.last) / 1000) * 1e9)} ago`);
    } else if (!needRTT && now - this.lastPingIn < interval) {
      this.debug(`Delaying PING due to remote ping ${goDuration(Math.round((now - this.lastPingIn) / 1000) * 1e9)} ago`);
    } else {
      send = true;
    }
    if (send) {
      if (this.pingOut + 1 > o.pingMax) {
        this.debug('Stale Client Connection - Closing');
        this.sendErr(ERR_STALE_CONNECTION);
        this.server.staleConnections++;
        this.close(ClosedReason.StaleConnection);
        return;
      }
      this.sendPing();
    }
    this.pingTimer = setTimeout(() => this.processPingTimer(), interval);
  }

  private sendPing(): void {
    if (this.server.logger.traceEnabled) this.traceOut('PING');
    this.pingOut++;
    this.rttStart = performance.now();
    this.enqueue(PING);
    this.flush();
  }

  private authTimeout(): void {
    this.authTimer = null;
    if (this.isClosed || this.connectReceived) return;
    this.sendErr(ERR_AUTH_TIMEOUT);
    this.debug(ERR_AUTH_TIMEOUT.text);
    this.close(ClosedReason.AuthenticationTimeout);
  }

  /** Applies options that can change on reload (limits). */
  applyOptions(): void {
    const o = this.server.options;
    this.parser.setLimits({ maxControlLine: o.maxControlLine, maxPayload: minLimit(o.maxPayload, this.account.limits.maxPayload) });
  }

  /** Re-checks the connection's credentials after an auth reload; closes it if they no longer pass. */
  reauthorize(): void {
    // Operator mode: a reload keeps JWT users (their account's claims are not re-read).
    if (this.isClosed || !this.connectReceived || this.session) return;
    const auth = this.authn;
    // nats-server closes (Client Closed, no -ERR) a client whose nkey or listed user is gone.
    if (this.account.removed || !auth.stillConfigured(this.credentials(), this.user, this.account.name)) {
      this.close(ClosedReason.ClientClosed);
      return;
    }
    const r = auth.authenticate(this.credentials(), this.peerCert);
    const done = (res: AuthResult): void => {
      if (this.isClosed) return;
      if (!res.ok) {
        if (res.debug) this.debug(res.debug);
        this.error(res.log);
        this.sendErr(ERR_AUTH_VIOLATION);
        this.close(ClosedReason.AuthenticationViolation);
        return;
      }
      this.applyAuth(res);
      this.recheckSubscriptions();
    };
    // Ops that arrive while a signature or bcrypt hash is checked again wait for the new
    // permissions, as nats-server applies a reload before it reads on.
    if (r instanceof Promise) this.holdUntil(r, done);
    else done(r);
  }

  /** After a reload: removes the subscriptions the new permissions deny, with nats-server's -ERR and log line. */
  private recheckSubscriptions(): void {
    for (const sub of subscriptionsDeniedByReload(this.permissions, this.subs.values())) {
      this.removeSub(sub);
      this.sendErr(errPermSubscribeReload(sub.subject, sub.sid));
      this.server.logger.notice(removedByReloadLog(sub.subject, sub.sid, this.opts.user));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Closing

  private onSocketError(e: NodeJS.ErrnoException): void {
    if (this.isClosed) return;
    const reason = e.code === 'EPIPE' ? ClosedReason.WriteError : e.code === 'ECONNRESET' ? ClosedReason.ReadError : ClosedReason.ReadError;
    this.close(reason);
  }

  /**
   * Closes the connection: anything queued (e.g. an -ERR) is written first unless `discard`
   * (slow consumers), subscriptions are removed, the server records the closed connection.
   */
  close(reason: ClosedReason, discard = false): void {
    if (this.state === State.Closed) return;
    const wasOpen = this.state === State.Open;
    this.state = State.Closed;
    this.parser.halt();
    for (const t of [this.pingTimer, this.authTimer, this.tlsTimer, this.expTimer]) if (t !== null) clearTimeout(t);
    this.pingTimer = this.authTimer = this.tlsTimer = this.expTimer = null;
    this.stop = Date.now();
    this.reason = reason;
    // Producers waiting for this consumer go on, a stall of this producer ends, the rest is written.
    const drop = discard || reason === ClosedReason.TLSHandshakeError;
    this.closeOutbound(drop);
    const sock = this.socket;
    if (drop) {
      sock.destroy();
      if (sock !== this.raw) this.raw.destroy();
    } else {
      if (!sock.destroyed) sock.destroySoon();
      // A peer that never reads must not keep the socket alive.
      if (!sock.destroyed) setTimeout(() => sock.destroy(), 2000).unref();
    }
    const subsSnapshot = this.server.keepsClosedSubs() ? this.subsList() : [];
    this.debug(`Client connection closed: ${reason}`);
    const trace = this.server.logger.traceEnabled;
    this.uncountAccount();
    const index = this.account.index;
    for (const sub of this.subs.values()) {
      sub.closed = true;
      index.remove(sub);
      if (trace) this.server.logger.trace(`${this.logPrefix}<-> [DELSUB ${sub.sid}]`);
    }
    this.server.clientClosed(this, wasOpen, subsSnapshot);
  }

  // -------------------------------------------------------------------------------------------
  // Monitoring

  subsList(): ConnSnapshot['subs'] {
    const out: ConnSnapshot['subs'] = [];
    for (const s of this.subs.values()) {
      const e: ConnSnapshot['subs'][number] = { subject: wireToUtf8(s.subject), sid: wireToUtf8(s.sid), msgs: s.delivered, max: s.max };
      if (s.queue !== undefined) e.queue = wireToUtf8(s.queue);
      out.push(e);
    }
    return out;
  }

  snapshot(withSubs: boolean): ConnSnapshot {
    const s: ConnSnapshot = {
      cid: this.cid,
      ip: this.ip,
      port: this.port,
      start: this.start,
      lastActivity: this.last,
      rttNs: this.rttNs,
      pendingBytes: this.isClosed ? 0 : this.pendingBytes,
      inMsgs: this.inMsgs,
      outMsgs: this.outMsgs,
      inBytes: this.inBytes,
      outBytes: this.outBytes,
      numSubs: this.subs.size,
      name: this.opts.name,
      lang: this.opts.lang,
      version: this.opts.version,
      tlsVersion: this.tlsVersion,
      tlsCipher: this.tlsCipher,
      tlsFirst: this.tlsFirst,
      type: this.transport?.type,
      user: this.user,
      subs: withSubs ? this.subsList() : [],
    };
    const j = this.session;
    if (j) s.jwt = { account: this.account.name, jwt: this.opts.jwt ?? '', issuerKey: j.issuerKey, nameTag: j.nameTag, tags: j.tags };
    if (this.isClosed) {
      s.stop = this.stop;
      s.reason = this.reason;
    }
    return s;
  }
}

/** Reply subjects clients may not use (nats-server 2.9.10: service-import, gateway and JS ack prefixes). */
function isReservedReply(reply: string): boolean {
  const c = reply.charCodeAt(0);
  if (c === 0x5f /* _ */) {
    // Every _INBOX reply starts with `_`: look at the second character before any string compare.
    const c1 = reply.charCodeAt(1);
    if (c1 === 0x52 /* R */) return reply.startsWith('_R_.');
    if (c1 === 0x47 /* G */) return reply.startsWith('_GR_.');
    return false;
  }
  if (c === 0x24 /* $ */) return reply.startsWith('$JS.ACK.');
  return false;
}

function tlsErrorText(e: NodeJS.ErrnoException): string {
  const m = /:SSL routines:[^:]*:([^:]+)/.exec(e.message);
  // Go's text for a first record that is not a TLS handshake (plaintext, HTTP, garbage).
  if (e.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || e.code === 'ERR_SSL_HTTP_REQUEST' || e.code === 'ERR_SSL_HTTPS_PROXY_REQUEST' || e.code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
    return 'tls: first record does not look like a TLS handshake';
  }
  if (m) return `tls: ${m[1]!.trim()}`;
  if (e.code === 'ECONNRESET') return 'connection reset by peer';
  return e.message;
}

/** Something close to Go's encoding/json error for a bad CONNECT (logged only). */
function goJsonError(json: string, _e: Error): string {
  const first = json.trimStart()[0];
  if (first !== undefined && first !== '{' && first !== '[' && first !== '"' && !/[-0-9tfn]/.test(first)) {
    return `invalid character '${first}' looking for beginning of value`;
  }
  if (json.trim() === '') return 'unexpected end of JSON input';
  return `invalid CONNECT JSON: ${_e.message}`;
}

