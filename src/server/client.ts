// One client connection: the protocol handler behind the parser, its subscriptions, its outbound
// buffer, and its timers (auth, ping, TLS handshake, write deadline).
//
// Hot path (a PUB): the parser hands a zero-copy view of the payload to onPub; the subject is
// looked up through a per-connection L1 cache (invalidated by the index generation) in front of the
// SubjectIndex; each target connection writes the MSG/HMSG line (and the payload, copied when
// small, by reference when large) into its own outbound chunk and registers itself once in the
// server's pending list; the server flushes every touched connection once when the read that
// caused the work has been parsed. No promises, timers or closures per message.

import type { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ProtocolHandler, ProtocolViolation } from '../protocol/handler.js';
import { ProtocolParser } from '../protocol/parser.js';
import {
  CRLF,
  NO_RESPONDERS_HDR,
  OK,
  PING,
  PONG,
  hmsgHeaderLength,
  msgHeaderLength,
  wireToUtf8,
  writeHmsgHeader,
  writeMsgHeader,
} from '../protocol/encode.js';
import {
  ERR_AUTH_TIMEOUT,
  ERR_AUTH_VIOLATION,
  ERR_INVALID_CLIENT_PROTOCOL,
  ERR_INVALID_PUBLISH_SUBJECT,
  ERR_INVALID_SUBJECT,
  ERR_MAX_SUBSCRIPTIONS,
  ERR_NO_RESPONDERS_REQUIRES_HEADERS,
  ERR_STALE_CONNECTION,
  VIOLATION_ERRORS,
  errPermPublish,
  errPermPublishReply,
  errPermSubscribe,
  goQuote,
  type WireError,
} from '../protocol/errors.js';
import type { AuthResult } from './auth.js';
import { type CompiledPermissions, ResponsePermits } from './permissions.js';
import { isValidLiteralSubject, isValidQueueName, matchLiteral, type MatchResult } from './subjects.js';
import { goDuration } from './monitor/format.js';
import { tlsVersionName } from './tls.js';
import type { Server } from './server.js';

/** Why a connection was closed: nats-server's ClosedState strings (shown in logs and /connz). */
export const ClosedReason = {
  ClientClosed: 'Client Closed',
  AuthenticationTimeout: 'Authentication Timeout',
  AuthenticationViolation: 'Authentication Failure',
  TLSHandshakeError: 'TLS Handshake Failure',
  SlowConsumerPendingBytes: 'Slow Consumer (Pending Bytes)',
  SlowConsumerWriteDeadline: 'Slow Consumer (Write Deadline)',
  WriteError: 'Write Error',
  ReadError: 'Read Error',
  ParseError: 'Parse Error',
  StaleConnection: 'Stale Connection',
  ProtocolViolation: 'Protocol Violation',
  BadClientProtocolVersion: 'Bad Client Protocol Version',
  MaxConnectionsExceeded: 'Maximum Connections Exceeded',
  MaxPayloadExceeded: 'Maximum Message Payload Exceeded',
  MaxControlLineExceeded: 'Maximum Control Line Exceeded',
  ServerShutdown: 'Server Shutdown',
  NoRespondersRequiresHeaders: 'No Responders Requires Headers',
} as const;
export type ClosedReason = (typeof ClosedReason)[keyof typeof ClosedReason];

const VIOLATION_REASON: Record<ProtocolViolation, ClosedReason> = {
  unknown_op: ClosedReason.ProtocolViolation,
  max_control_line: ClosedReason.MaxControlLineExceeded,
  max_payload: ClosedReason.MaxPayloadExceeded,
  auth_violation: ClosedReason.AuthenticationViolation,
  bad_args: ClosedReason.ProtocolViolation,
};

/** A subscription as stored in the subject index. */
export class Subscription {
  readonly subject: string;
  readonly queue: string | undefined;
  readonly sid: string;
  readonly client: Client;
  /** Auto-unsubscribe after this many deliveries (0 = none). */
  max = 0;
  delivered = 0;
  closed = false;
  /** Messages must pass the deny filter of the client's subscribe permissions. */
  denyFilter = false;

  constructor(client: Client, subject: string, queue: string | undefined, sid: string) {
    this.client = client;
    this.subject = subject;
    this.queue = queue;
    this.sid = sid;
  }
}

/** Client state: TLS handshake in progress, then open until closed. */
const enum State {
  Handshake,
  Open,
  Closed,
}

/** Outbound chunk sizes (like nats-server's 512 B / 4 KiB / 64 KiB pools). */
const MIN_CHUNK = 512;
const MAX_CHUNK = 64 * 1024;
/** Payloads up to this size are copied into the outbound chunk; larger ones are queued by reference. */
const COPY_MAX = 4096;
/** Per-connection L1 match cache size (nats-server: 512 entries). */
const L1_MAX = 512;

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
  account?: string;
  newAccount?: boolean;
  tlsRequired: boolean;
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
  user: string;
  subs: Array<{ subject: string; queue?: string; sid: string; msgs: number; max: number }>;
}

export class Client implements ProtocolHandler {
  readonly cid: number;
  readonly server: Server;
  readonly raw: Socket;
  /** The socket carrying protocol data (raw, or the TLS socket after the upgrade). */
  socket: Socket;
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
  permissions: CompiledPermissions | null = null;
  private permits: ResponsePermits | null = null;
  private connectReceived = false;
  private deferred: Deferred[] | null = null;
  peerCert: X509Certificate | undefined;

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
  private wdTimer: NodeJS.Timeout | null = null;

  // Outbound
  private chunk: Buffer | null = null;
  private chunkStart = 0;
  private chunkOff = 0;
  private outList: Buffer[] = [];
  private queued = 0;
  private lastFlush = 0;
  private flushedMsgs = 0;
  /** Registered in the server's pending list (flush at the end of the current read). */
  flagged = false;

  // L1 match cache
  private l1 = new Map<string, MatchResult<Subscription>>();
  private l1Gen = -1;

  private state: State = State.Handshake;
  private readonly logPrefix: string;

  constructor(server: Server, raw: Socket, cid: number) {
    this.server = server;
    this.raw = raw;
    this.socket = raw;
    this.cid = cid;
    this.ip = stripV6Mapped(raw.remoteAddress);
    this.port = raw.remotePort ?? 0;
    this.start = Date.now();
    this.last = this.start;
    const o = server.options;
    this.parser = new ProtocolParser(this, { maxControlLine: o.maxControlLine, maxPayload: o.maxPayload });
    this.parser.headers = false;
    this.logPrefix = `${this.ip}:${this.port} - cid:${cid} - `;
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
    raw.on('close', () => this.close(ClosedReason.ClientClosed));
    this.debug('Client connection created');

    const srv = this.server;
    const tls = srv.tls;
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
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('drain', () => this.onDrain());
    sock.resume();
  }

  /** Common to plaintext and TLS: auth timer, ping timer, `expectConnect`. */
  private afterOpen(): void {
    const srv = this.server;
    const auth = srv.auth;
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
      if (this.state === State.Handshake && !this.isClosed) {
        this.error('TLS handshake error: EOF');
        this.close(ClosedReason.TLSHandshakeError);
      } else {
        this.close(ClosedReason.ClientClosed);
      }
    });
    sock.once('secure', () => this.onSecure(sock));
  }

  private onSecure(sock: TLSSocket): void {
    if (this.tlsTimer) {
      clearTimeout(this.tlsTimer);
      this.tlsTimer = null;
    }
    if (this.isClosed) return;
    const tls = this.server.tls!;
    this.peerCert = sock.getPeerX509Certificate();
    if (!tls.config.isPinned(this.peerCert)) {
      this.error('TLS handshake error: peer certificate not in pinned_certs');
      this.close(ClosedReason.TLSHandshakeError);
      return;
    }
    this.tlsVersion = tlsVersionName(sock.getProtocol());
    const c = sock.getCipher();
    this.tlsCipher = (c as { standardName?: string }).standardName ?? c.name;
    this.debug('TLS handshake complete');
    this.debug(`TLS version ${this.tlsVersion}, cipher suite ${this.tlsCipher}`);
    this.state = State.Open;
    this.attach(sock);
    if (this.tlsFirst) {
      this.sendInfo();
      this.flush();
    }
    this.afterOpen();
  }

  /** INFO for this connection (with the connection's id and IP). */
  private sendInfo(ldm = false): void {
    this.enqueue(this.server.infoFrame(this.cid, this.ip, ldm));
  }

  /** Async INFO with `ldm:true` (lame duck mode), to protocol-1 clients that completed a PING. */
  sendLameDuckInfo(): void {
    if (this.state !== State.Open || this.opts.protocol < 1 || !this.firstPongSent) return;
    this.sendInfo(true);
    this.flush();
  }

  // -------------------------------------------------------------------------------------------
  // Reading

  private onData(d: Buffer): void {
    this.parser.parse(d);
    if (this.activity) {
      this.activity = false;
      this.last = Date.now();
    }
    this.server.flushPending();
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
    o.user = typeof j.user === 'string' ? j.user : undefined;
    o.pass = typeof j.pass === 'string' ? j.pass : undefined;
    o.authToken = typeof j.auth_token === 'string' ? j.auth_token : undefined;
    o.account = typeof j.account === 'string' ? j.account : undefined;
    o.newAccount = j.new_account === true;
    this.verbose = o.verbose;
    this.pedantic = o.pedantic;
    this.echo = o.echo;
    this.headers = o.headers && !srv.options.noHeaderSupport;
    this.parser.headers = this.headers;

    const auth = srv.auth;
    if (!auth.enabled) {
      this.finishConnect({ ok: true, permissions: null });
      return;
    }
    const r = auth.authenticate({ user: o.user, pass: o.pass, auth_token: o.authToken }, this.peerCert);
    if (r instanceof Promise) {
      // bcrypt: hold further ops (in order) until the check is done.
      this.deferred = [];
      this.socket.pause();
      r.then(
        (res) => this.resumeAfterAuth(res),
        () => this.resumeAfterAuth({ ok: false, log: 'authentication error' }),
      );
      return;
    }
    this.finishConnect(r);
  }

  private resumeAfterAuth(r: AuthResult): void {
    const queue = this.deferred ?? [];
    this.deferred = null;
    if (this.isClosed) return;
    this.finishConnect(r);
    for (const fn of queue) {
      if (this.isClosed) break;
      fn();
    }
    if (!this.isClosed) this.socket.resume();
    this.server.flushPending();
  }

  private applyAuth(r: AuthResult): boolean {
    if (!r.ok) return false;
    this.user = r.user ?? '';
    this.permissions = r.permissions;
    this.permits = r.permissions?.responses ? new ResponsePermits(r.permissions.responses.max, r.permissions.responses.expiresMs) : null;
    return true;
  }

  private finishConnect(r: AuthResult): void {
    const o = this.opts;
    if (!r.ok || o.account !== undefined || o.newAccount) {
      this.error(r.ok ? 'authentication error' : r.log);
      this.sendErr(ERR_AUTH_VIOLATION);
      this.close(ClosedReason.AuthenticationViolation);
      return;
    }
    this.applyAuth(r);
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
    }
    if (this.verbose) this.sendOK();
  }

  onPub(subject: string, reply: string | undefined, headerSize: number, payload: Buffer): void {
    if (this.deferred) {
      this.deferred.push(() => this.onPub(subject, reply, headerSize, payload));
      return;
    }
    const srv = this.server;
    const size = payload.length;
    this.inMsgs++;
    this.inBytes += size;
    srv.inMsgs++;
    srv.inBytes += size;
    this.activity = true;
    if (srv.logger.traceEnabled) this.tracePub(subject, reply, headerSize, payload);

    if (this.pedantic && !isValidLiteralSubject(subject)) this.sendErr(ERR_INVALID_PUBLISH_SUBJECT);

    const perms = this.permissions;
    if (perms !== null && perms.publish !== null && !perms.publish.allowed(subject)) {
      if (this.permits === null || !this.permits.use(subject, Date.now())) {
        this.enqueue(errPermPublish(subject));
        this.traceOutErr(`Permissions Violation for Publish to ${goQuote(subject)}`);
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

    // Subject lookup through the L1 cache.
    const index = srv.index;
    const gen = index.generation;
    let r: MatchResult<Subscription> | undefined;
    if (this.l1Gen === gen) {
      r = this.l1.get(subject);
    } else {
      this.l1.clear();
      this.l1Gen = gen;
    }
    if (r === undefined) {
      r = index.match(subject);
      if (this.l1.size >= L1_MAX) this.l1.clear();
      this.l1.set(subject, r);
    }

    let delivered = false;
    const plain = r.plain;
    for (let i = 0; i < plain.length; i++) {
      const sub = plain[i]!;
      const t = sub.client;
      if (t === this && !this.echo) continue;
      if (t.deliver(sub, subject, reply, headerSize, payload)) delivered = true;
    }
    const queues = r.queues;
    for (let g = 0; g < queues.length; g++) {
      const group = queues[g]!;
      const n = group.length;
      const startAt = n === 1 ? 0 : Math.floor(Math.random() * n);
      for (let k = 0; k < n; k++) {
        const sub = group[(startAt + k) % n]!;
        const t = sub.client;
        if (t === this && !this.echo) continue;
        if (t.deliver(sub, subject, reply, headerSize, payload)) {
          delivered = true;
          break;
        }
      }
    }
    if (!delivered && reply !== undefined && this.opts.noResponders && this.headers) this.sendNoResponders(reply);
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
    const max = srv.options.maxSubscriptions;
    if (max > 0 && this.subs.size >= max) {
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
      if (!srv.index.insert(sub)) {
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
    else if (kind === 'max_control_line') this.error(`${err?.text ?? 'maximum control line exceeded'}${detail ? ': ' + detail : ''}`);
    else if (kind === 'max_payload') this.error(`maximum payload exceeded${detail ? ': ' + detail : ''}`);
    else if (kind === 'bad_args') this.error(`${detail ?? 'protocol error'}`);
  }

  // -------------------------------------------------------------------------------------------
  // Delivery (this client is the receiver)

  /**
   * Queues one message for subscription `sub` of this client. Returns false if nothing was
   * delivered (connection closed, subscription gone, or filtered by permissions).
   */
  deliver(sub: Subscription, subject: string, reply: string | undefined, headerSize: number, payload: Buffer): boolean {
    if (this.state === State.Closed || sub.closed) return false;
    if (sub.denyFilter && !this.permissions!.subscribe!.deliverable(subject)) return false;
    if (reply !== undefined && this.permits !== null) this.permits.grant(reply, Date.now());
    sub.delivered++;

    let body = payload;
    let len: number;
    let hdr = headerSize;
    if (hdr >= 0 && !this.headers) {
      body = payload.subarray(hdr);
      hdr = -1;
    }
    const size = body.length;
    if (hdr >= 0) len = hmsgHeaderLength(subject, sub.sid, reply, hdr, size);
    else len = msgHeaderLength(subject, sub.sid, reply, size);

    if (size <= COPY_MAX) {
      const total = len + size + 2;
      const buf = this.reserve(total);
      let k = this.chunkOff;
      k += hdr >= 0 ? writeHmsgHeader(buf, k, subject, sub.sid, reply, hdr, size) : writeMsgHeader(buf, k, subject, sub.sid, reply, size);
      if (size <= 32) {
        // Tiny payloads: a byte loop beats Buffer#copy's call overhead.
        for (let i = 0; i < size; i++) buf[k + i] = body[i]!;
        k += size;
      } else {
        k += body.copy(buf, k);
      }
      buf[k++] = 13;
      buf[k++] = 10;
      this.chunkOff = k;
      this.queued += total;
    } else {
      const buf = this.reserve(len);
      const k = this.chunkOff;
      this.chunkOff += hdr >= 0 ? writeHmsgHeader(buf, k, subject, sub.sid, reply, hdr, size) : writeMsgHeader(buf, k, subject, sub.sid, reply, size);
      this.sealChunk();
      this.outList.push(body, CRLF);
      this.queued += len + size + 2;
    }
    this.outMsgs++;
    this.outBytes += size;
    const srv = this.server;
    srv.outMsgs++;
    srv.outBytes += size;
    if (srv.logger.traceEnabled) this.traceDelivery(subject, sub.sid, reply, hdr, size);

    if (sub.max > 0 && sub.delivered >= sub.max) this.removeSub(sub);
    if (!this.flagged) srv.markPending(this);
    if (this.queued + this.socket.writableLength > srv.options.maxPending) this.slowConsumer();
    return true;
  }

  private traceDelivery(subject: string, sid: string, reply: string | undefined, hdr: number, size: number): void {
    const r = reply ? ` ${reply}` : '';
    this.traceOut(hdr >= 0 ? `HMSG ${subject} ${sid}${r} ${hdr} ${size}` : `MSG ${subject} ${sid}${r} ${size}`);
  }

  private removeSub(sub: Subscription): void {
    if (sub.closed) return;
    sub.closed = true;
    this.subs.delete(sub.sid);
    this.server.index.remove(sub);
  }

  // -------------------------------------------------------------------------------------------
  // Outbound buffer

  /** Makes room for `n` bytes in the current chunk; returns the chunk (write at chunkOff). */
  private reserve(n: number): Buffer {
    const c = this.chunk;
    if (c !== null && c.length - this.chunkOff >= n) return c;
    this.sealChunk();
    let size = this.lastFlush * 2;
    if (size < MIN_CHUNK) size = MIN_CHUNK;
    else if (size > MAX_CHUNK) size = MAX_CHUNK;
    if (size < n) size = n;
    const nc = Buffer.allocUnsafe(size);
    this.chunk = nc;
    this.chunkStart = 0;
    this.chunkOff = 0;
    return nc;
  }

  /** Moves the filled, unflushed part of the current chunk to the out list. */
  private sealChunk(): void {
    if (this.chunk !== null && this.chunkOff > this.chunkStart) {
      this.outList.push(this.chunk.subarray(this.chunkStart, this.chunkOff));
      this.chunkStart = this.chunkOff;
    }
  }

  /** Queues a control frame (copied into the chunk). */
  enqueue(frame: Buffer): void {
    if (this.state === State.Closed) return;
    const n = frame.length;
    const buf = this.reserve(n);
    frame.copy(buf, this.chunkOff);
    this.chunkOff += n;
    this.queued += n;
  }

  private sendOK(): void {
    if (this.server.logger.traceEnabled) this.traceOut('OK');
    this.enqueue(OK);
    this.server.markPending(this);
  }

  private traceOutErr(text: string): void {
    if (this.server.logger.traceEnabled) this.traceOut(`-ERR ${text}`);
  }

  /** Queues `-ERR '<text>'` (the caller decides whether to close). */
  sendErr(e: WireError): void {
    this.traceOutErr(e.text);
    this.enqueue(e.frame);
    this.server.markPending(this);
  }

  /** Bytes waiting to be written (queued here + buffered in the socket). */
  get pendingBytes(): number {
    return this.queued + (this.socket.writableLength ?? 0);
  }

  /** Writes everything queued, in one batch. */
  flush(): void {
    this.flagged = false;
    if (this.queued === 0) return;
    const sock = this.socket;
    if (sock.destroyed || !sock.writable) {
      this.outList.length = 0;
      this.queued = 0;
      return;
    }
    this.sealChunk();
    const list = this.outList;
    const bytes = this.queued;
    if (list.length === 1) {
      sock.write(list[0]!);
    } else {
      sock.cork();
      for (let i = 0; i < list.length; i++) sock.write(list[i]!);
      sock.uncork();
    }
    list.length = 0;
    this.queued = 0;
    this.lastFlush = bytes;
    // Message delivery counts as activity (nats-server updates `last` when it flushes messages).
    if (this.outMsgs !== this.flushedMsgs) {
      this.flushedMsgs = this.outMsgs;
      this.last = Date.now();
    }
    // Drop a nearly full chunk instead of keeping it around.
    if (this.chunk !== null && this.chunk.length - this.chunkOff < 64) this.chunk = null;
    if (sock.writableNeedDrain && this.wdTimer === null && this.state !== State.Closed) {
      const dl = this.server.options.writeDeadlineMs;
      if (dl > 0) this.wdTimer = setTimeout(() => this.writeDeadlineExceeded(), dl);
    }
  }

  private onDrain(): void {
    if (this.wdTimer !== null) {
      clearTimeout(this.wdTimer);
      this.wdTimer = null;
    }
    this.last = Date.now();
  }

  private writeDeadlineExceeded(): void {
    this.wdTimer = null;
    if (this.isClosed) return;
    const sock = this.socket;
    if (!sock.writableNeedDrain) return;
    const dl = goDuration(this.server.options.writeDeadlineMs * 1e6);
    const chunks = (sock as unknown as { writableBuffer?: unknown[] }).writableBuffer?.length ?? 1;
    this.notice(`Slow Consumer Detected: WriteDeadline of ${dl} exceeded with ${chunks} chunks of ${sock.writableLength} total bytes.`);
    this.server.slowConsumers++;
    this.close(ClosedReason.SlowConsumerWriteDeadline, true);
  }

  private slowConsumer(): void {
    if (this.isClosed) return;
    this.notice(`Slow Consumer Detected: MaxPending of ${this.server.options.maxPending} Exceeded`);
    this.server.slowConsumers++;
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
    this.debug('Authentication Timeout');
    this.close(ClosedReason.AuthenticationTimeout);
  }

  /** Applies options that can change on reload (limits). */
  applyOptions(): void {
    const o = this.server.options;
    this.parser.setLimits({ maxControlLine: o.maxControlLine, maxPayload: o.maxPayload });
  }

  /** Re-checks the connection's credentials after an auth reload; closes it if they no longer pass. */
  reauthorize(): void {
    if (this.isClosed || !this.connectReceived) return;
    const auth = this.server.auth;
    const o = this.opts;
    const r = auth.authenticate({ user: o.user, pass: o.pass, auth_token: o.authToken }, this.peerCert);
    const done = (res: AuthResult): void => {
      if (this.isClosed) return;
      if (!res.ok) {
        this.error(res.log);
        this.sendErr(ERR_AUTH_VIOLATION);
        this.close(ClosedReason.AuthenticationViolation);
        return;
      }
      this.applyAuth(res);
    };
    if (r instanceof Promise) r.then(done, () => undefined);
    else done(r);
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
    for (const t of [this.pingTimer, this.authTimer, this.tlsTimer, this.wdTimer]) if (t !== null) clearTimeout(t);
    this.pingTimer = this.authTimer = this.tlsTimer = this.wdTimer = null;
    this.stop = Date.now();
    this.reason = reason;
    const sock = this.socket;
    if (discard || reason === ClosedReason.TLSHandshakeError) {
      this.outList.length = 0;
      this.queued = 0;
      sock.destroy();
      if (sock !== this.raw) this.raw.destroy();
    } else {
      if (this.queued > 0 && !sock.destroyed && sock.writable) {
        this.state = State.Open; // let flush write
        this.flush();
        this.state = State.Closed;
      }
      this.outList.length = 0;
      this.queued = 0;
      if (!sock.destroyed) sock.destroySoon();
      // A peer that never reads must not keep the socket alive.
      if (!sock.destroyed) setTimeout(() => sock.destroy(), 2000).unref();
    }
    this.chunk = null;
    const subsSnapshot = this.server.keepsClosedSubs() ? this.subsList() : [];
    this.debug(`Client connection closed: ${reason}`);
    const trace = this.server.logger.traceEnabled;
    for (const sub of this.subs.values()) {
      sub.closed = true;
      this.server.index.remove(sub);
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
      user: this.user,
      subs: withSubs ? this.subsList() : [],
    };
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
  if (c === 0x5f /* _ */) return reply.startsWith('_R_.') || reply.startsWith('_GR_.');
  if (c === 0x24 /* $ */) return reply.startsWith('$JS.ACK.');
  return false;
}

function tlsErrorText(e: NodeJS.ErrnoException): string {
  const m = /:SSL routines:[^:]*:([^:]+)/.exec(e.message);
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

