// One route connection (nats-server 2.9.10 cluster protocol): handshake (INFO/CONNECT both ways),
// RS+/RS- interest, RMSG/HMSG messages, PING/PONG, close reasons and log lines as nats-server.
// The route manager (src/server/cluster.ts) owns registration, gossip and the interest tables.

import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import {
  ERR_AUTH_TIMEOUT,
  ERR_AUTH_VIOLATION,
  ERR_ROUTE_PORT,
  ERR_STALE_CONNECTION,
  ERR_UNKNOWN_OP,
  errClusterNameMismatch,
  type WireError,
} from '../protocol/errors.js';
import { RouteParser, type RouteHandler, type RouteMsg } from '../protocol/route-parser.js';
import { Subscription, type SubscriptionTarget } from './client.js';
import { STALL_SHARE, type Producer } from './connection/core.js';
import { ServerLink } from './connection/link.js';
import type { Logger } from './logger.js';
import type { ServerOptions } from '../config/types.js';
import type { Cluster } from './cluster.js';
import type { Account } from './accounts/account.js';
import { GLOBAL_ACCOUNT } from '../config/accounts.js';

export { GLOBAL_ACCOUNT };

/** nats-server's close reasons for routes (also in logs: `Router connection closed: <reason>`). */
export const RouteClosed = {
  ClientClosed: 'Client Closed',
  DuplicateRoute: 'Duplicate Route',
  ClusterNameConflict: 'Cluster Name Conflict',
  DuplicateServerName: 'Duplicate Server Name',
  IncorrectPort: 'Incorrect Port',
  AuthenticationFailure: 'Authentication Failure',
  AuthenticationTimeout: ERR_AUTH_TIMEOUT.text,
  TLSHandshakeFailure: 'TLS Handshake Failure',
  StaleConnection: ERR_STALE_CONNECTION.text,
  ParseError: 'Parse Error',
  ProtocolViolation: 'Protocol Violation',
  RouteRemoved: 'Route Removed',
  ServerShutdown: 'Server Shutdown',
  ReadError: 'Read Error',
  WriteError: 'Write Error',
} as const;
export type RouteClosed = (typeof RouteClosed)[keyof typeof RouteClosed];

/**
 * A remote subscription: interest a route registered with RS+ (its key is `<acc> <subj>[ <queue>]`),
 * held in the subject index of the account the RS+ named.
 */
export class RouteSub extends Subscription {
  weight: number;
  readonly route: Route;
  readonly account: Account<Subscription>;
  constructor(route: Route, account: Account<Subscription>, subject: string, queue: string | undefined, weight: number, key: string) {
    super(route, subject, queue, key);
    this.route = route;
    this.account = account;
    this.weight = weight;
  }
}

/** Route INFO as received (fields tsnats uses). */
export interface RouteInfo {
  server_id?: string;
  server_name?: string;
  host?: string;
  port?: number;
  ip?: string;
  cluster?: string;
  cluster_dynamic?: boolean;
  headers?: boolean;
  auth_required?: boolean;
  tls_required?: boolean;
  connect_urls?: string[];
  ldm?: boolean;
  proto?: number;
  [k: string]: unknown;
}

const PONG_FRAME = Buffer.from('PONG\r\n');

function stripV6Mapped(ip: string | undefined): string {
  if (!ip) return '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** 15-char base64url nonce of 11 random bytes (nats-server's format). */
export function routeNonce(): string {
  return randomBytes(11).toString('base64url');
}

export class Route extends ServerLink implements RouteHandler, SubscriptionTarget, Producer {
  readonly rid: number;
  readonly cluster: Cluster;
  readonly ip: string;
  readonly port: number;
  readonly start = Date.now();
  last = Date.now();
  /** Dialled by us (the URL we dialled is `url`). */
  solicited: boolean;
  url: URL | undefined;
  /** The URL is in our configured `routes`. */
  explicit: boolean;
  remoteId = '';
  remoteName = '';
  remoteInfo: RouteInfo | null = null;
  /** The OCSP staple the peer sent in the TLS handshake (dialled routes). */
  peerStaple: Buffer | undefined;
  /** The peer's certificate (DER), taken with its staple. */
  peerLeaf: Buffer | undefined;
  registered = false;
  reason = '';
  private connectReceived = false;
  /** Ops held while a bcrypt password is checked. */
  private deferred: Array<() => void> | null = null;
  private infoReceived = false;
  readonly subs = new Map<string, RouteSub>();

  // stats
  private lastIn = 0;
  private authTimer: NodeJS.Timeout | null = null;

  // Producer (flow control: a client consumer that falls behind pauses this route's reading)
  readonly parser = { chunksReused: false };

  /** The account of the last routed message (a run of messages names the same one). */
  private inAccName = '';
  private inAcc: Account<Subscription> | undefined;

  /** Set by Cluster.publish: the publish this route is a target of, and its queue names. */
  pubEpoch = 0;
  pubQueues: string[] | null = null;

  private readonly reader: RouteParser;

  constructor(cluster: Cluster, sock: Socket, rid: number, solicited: boolean, url: URL | undefined, explicit: boolean) {
    super(sock);
    this.cluster = cluster;
    this.rid = rid;
    this.ip = stripV6Mapped(sock.remoteAddress);
    this.port = sock.remotePort ?? 0;
    this.solicited = solicited;
    this.url = url;
    this.explicit = explicit;
    this.reader = new RouteParser(this);
    this.prefix = `${this.ip}:${this.port} - rid:${rid} - `;
  }

  // -------------------------------------------------------------------------------------------
  // Logging

  // -------------------------------------------------------------------------------------------
  // Start

  /** The socket is open (after TLS when configured): send our part of the handshake and read. */
  begin(sock: Socket): void {
    this.socket = sock;
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', (e: NodeJS.ErrnoException) => this.onSocketError(e));
    sock.on('close', () => this.close(RouteClosed.ClientClosed));
    sock.on('drain', () => this.onDrain());
    const cl = this.cluster;
    if (this.solicited) {
      this.sendConnect();
      this.enqueue(cl.infoFrame(routeNonce()));
    } else {
      this.enqueue(cl.infoFrame(routeNonce()));
      if (cl.authRequired) {
        this.authTimer = setTimeout(() => {
          this.authTimer = null;
          if (this.connectReceived || this.closed) return;
          this.sendErr(ERR_AUTH_TIMEOUT);
          this.error(ERR_AUTH_TIMEOUT.text);
          this.close(RouteClosed.AuthenticationTimeout);
        }, cl.authTimeoutMs);
      }
    }
    this.startPing();
    this.notice('Route connection created');
    this.flushNow();
  }

  private sendConnect(): void {
    const cl = this.cluster;
    const u = this.url;
    let user = u?.username ? decodeURIComponent(u.username) : undefined;
    let pass = u?.password ? decodeURIComponent(u.password) : undefined;
    if (user === undefined && !this.explicit && cl.opts.user !== undefined) {
      user = cl.opts.user;
      pass = cl.opts.password;
    }
    const c: Record<string, unknown> = { echo: true, verbose: false, pedantic: false };
    if (user !== undefined) c.user = user;
    if (pass !== undefined) c.pass = pass;
    c.tls_required = cl.tlsConfig !== undefined;
    c.headers = true;
    c.name = cl.server.serverId;
    c.cluster = cl.name;
    if (cl.dynamic) c.cluster_dynamic = true;
    c.lnoc = true;
    const json = JSON.stringify(c);
    if (cl.log.traceEnabled) this.trace('->>', `CONNECT ${json.replace(/("pass":)"(?:[^"\\]|\\.)*"/, '$1"[REDACTED]"')}`);
    this.enqueueText(`CONNECT ${json}\r\n`);
  }

  protected get log(): Logger {
    return this.cluster.log;
  }

  protected get pingOptions(): ServerOptions {
    return this.cluster.server.options;
  }

  /** Routes skip the PING when something was received within the interval. */
  protected override pingDue(intervalMs: number): boolean {
    return Date.now() - this.lastIn >= intervalMs;
  }

  protected closeStale(): void {
    this.debug('Stale Router Connection - Closing');
    this.sendErr(ERR_STALE_CONNECTION);
    this.close(RouteClosed.StaleConnection);
  }

  // -------------------------------------------------------------------------------------------
  // Reading

  private onData(d: Buffer): void {
    this.last = this.lastIn = Date.now();
    this.reader.parse(d);
    this.cluster.server.flushPending();
  }

  private onSocketError(e: NodeJS.ErrnoException): void {
    if (this.closed) return;
    if (e.code === 'EPIPE' || e.code === 'ECONNRESET') this.close(RouteClosed.ClientClosed);
    else {
      this.error(`Router Error ${e.message}`);
      this.close(RouteClosed.ReadError);
    }
  }

  onParseError(reason: string, snippet: string): void {
    this.error(`Router parser ERROR, ${reason}: proto='${JSON.stringify(snippet).slice(1, -1)}...'`);
    this.sendErr(ERR_UNKNOWN_OP);
    this.close(RouteClosed.ParseError);
  }

  onOp(op: string, args: string[], rest: string): void {
    if (this.closed) return;
    if (this.deferred !== null) {
      this.deferred.push(() => this.onOp(op, args, rest));
      return;
    }
    const cl = this.cluster;
    if (cl.log.traceEnabled && op !== 'INFO' && op !== 'CONNECT') this.trace('<<-', rest ? `${op} ${rest}` : op);
    switch (op) {
      case 'PING':
        this.enqueue(PONG_FRAME);
        this.scheduleFlush();
        return;
      case 'PONG':
        this.gotPong();
        return;
      case 'CONNECT':
        if (cl.log.traceEnabled) this.trace('<<-', `CONNECT ${rest.replace(/("pass"\s*:\s*)"(?:[^"\\]|\\.)*"/, '$1"[REDACTED]"')}`);
        this.onConnect(rest);
        return;
      case 'INFO':
        if (cl.log.traceEnabled) this.trace('<<-', `INFO ${rest}`);
        this.onInfo(rest);
        return;
      case '+OK':
        return;
      case '-ERR':
        this.error(`Route Error ${rest}`);
        if (/cluster name/.test(rest)) this.error('cluster name from remote server conflicts');
        this.close(RouteClosed.ParseError);
        return;
      case 'RS+':
      case 'LS+':
        if (!this.requireRegistered(op)) return;
        this.onRemoteSub(op === 'LS+' ? args.slice(1) : args);
        return;
      case 'RS-':
      case 'LS-':
        if (!this.requireRegistered(op)) return;
        this.onRemoteUnsub(args);
        return;
      case 'SUB':
      case 'PUB':
      case 'HPUB':
      case 'UNSUB':
      case 'MSG':
        this.sendErr(ERR_UNKNOWN_OP);
        this.error(`Router parser ERROR, state=0, i=0: proto='${op} ${rest.slice(0, 32)}...'`);
        this.close(RouteClosed.ParseError);
        return;
      default:
        this.sendErr(ERR_UNKNOWN_OP);
        this.error(`Router parser ERROR, state=0, i=0: proto='${(op + ' ' + rest).slice(0, 32)}...'`);
        this.close(RouteClosed.ParseError);
    }
  }

  private requireRegistered(op: string): boolean {
    if (this.connectReceived || this.infoReceived) return true;
    this.error(`Router ${op} received before CONNECT/INFO`);
    this.close(RouteClosed.ProtocolViolation);
    return false;
  }

  private onConnect(json: string): void {
    if (this.authTimer !== null) {
      clearTimeout(this.authTimer);
      this.authTimer = null;
    }
    let j: Record<string, unknown>;
    try {
      const v = JSON.parse(json) as unknown;
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
      j = v as Record<string, unknown>;
    } catch (e) {
      this.error(`Router CONNECT: ${(e as Error).message}`);
      this.close(RouteClosed.ProtocolViolation);
      return;
    }
    const cl = this.cluster;
    if (typeof j.lang === 'string' && j.lang !== '') {
      this.sendErr(ERR_ROUTE_PORT);
      this.close(RouteClosed.IncorrectPort);
      return;
    }
    if (typeof j.gateway === 'string' && j.gateway !== '') {
      this.error(`Rejecting connection from gateway "${j.gateway}" on the Route port`);
      this.close(RouteClosed.ProtocolViolation);
      return;
    }
    const auth = cl.authorize(typeof j.user === 'string' ? j.user : undefined, typeof j.pass === 'string' ? j.pass : undefined);
    if (auth instanceof Promise) {
      // bcrypt: hold the following ops (in order) and stop reading until the check is done.
      this.deferred = [];
      this.socket.pause();
      void auth.then(
        (ok) => this.resumeAfterAuth(ok, j),
        () => this.resumeAfterAuth(false, j),
      );
      return;
    }
    this.finishConnect(auth, j);
  }

  private resumeAfterAuth(ok: boolean, j: Record<string, unknown>): void {
    const queue = this.deferred ?? [];
    this.deferred = null;
    if (this.closed) return;
    this.finishConnect(ok, j);
    for (const fn of queue) {
      if (this.closed) break;
      fn();
    }
    if (!this.closed) this.socket.resume();
    this.cluster.server.flushPending();
  }

  private finishConnect(ok: boolean, j: Record<string, unknown>): void {
    const cl = this.cluster;
    if (!ok) {
      this.error('authentication error');
      this.sendErr(ERR_AUTH_VIOLATION);
      this.close(RouteClosed.AuthenticationFailure);
      return;
    }
    const theirs = typeof j.cluster === 'string' ? j.cluster : '';
    if (theirs !== cl.name && !cl.tryAdoptName(theirs, j.cluster_dynamic === true)) {
      const e = errClusterNameMismatch(theirs, cl.name);
      this.error(e.text);
      this.sendErr(e);
      this.close(RouteClosed.ClusterNameConflict);
      return;
    }
    this.connectReceived = true;
    if (typeof j.name === 'string') this.remoteId = j.name;
    this.headers = j.headers === true;
  }

  private onInfo(json: string): void {
    let info: RouteInfo;
    try {
      const v = JSON.parse(json) as unknown;
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
      info = v as RouteInfo;
    } catch (e) {
      this.error(`Router INFO: ${(e as Error).message}`);
      this.close(RouteClosed.ProtocolViolation);
      return;
    }
    const cl = this.cluster;
    if (this.infoReceived) {
      cl.asyncInfo(this, info);
      return;
    }
    const id = typeof info.server_id === 'string' ? info.server_id : '';
    if (id === cl.server.serverId) {
      // A route to ourselves: never re-dialled.
      if (this.url) cl.markSelf(this.url);
      this.debug(`Detected route to self, ignoring "${this.url?.host ?? ''}"`);
      this.close(RouteClosed.DuplicateRoute);
      return;
    }
    const theirs = typeof info.cluster === 'string' ? info.cluster : '';
    if (theirs !== cl.name && !cl.tryAdoptName(theirs, info.cluster_dynamic === true)) {
      this.error(`Rejecting connection, cluster name "${theirs}" does not match "${cl.name}"`);
      this.close(RouteClosed.ClusterNameConflict);
      return;
    }
    if (!this.solicited && info.server_name !== undefined && info.server_name === cl.server.serverName) {
      this.error(`Remote server has a duplicate name: "${info.server_name}"`);
      this.close(RouteClosed.DuplicateServerName);
      return;
    }
    this.infoReceived = true;
    this.remoteInfo = info;
    this.remoteId = id;
    this.remoteName = typeof info.server_name === 'string' ? info.server_name : '';
    this.headers = info.headers === true;
    if (this.url === undefined && typeof info.port === 'number') {
      try {
        this.url = new URL(`nats-route://${hostPortOf(info.host && info.host !== '0.0.0.0' ? info.host : this.ip, info.port)}/`);
      } catch {
        // keep undefined
      }
    }
    cl.register(this);
  }

  // -------------------------------------------------------------------------------------------
  // Interest

  private onRemoteSub(a: string[]): void {
    // RS+ <acc> <subject> [<queue> <weight>]
    if (a.length !== 2 && a.length !== 4) {
      this.error(`processRemoteSub Parse Error: '${a.join(' ')}'`);
      this.close(RouteClosed.ProtocolViolation);
      return;
    }
    const [acc, subject, queue, w] = a as [string, string, string?, string?];
    const account = this.cluster.server.accounts.get(acc);
    if (account === undefined || account.removed) {
      // nats-server with a static configuration: an Error line, the interest is ignored.
      this.error(`Unknown account ${JSON.stringify(acc)} for remote subject ${JSON.stringify(subject)}`);
      return;
    }
    let weight = 1;
    if (w !== undefined) {
      weight = Number(w);
      if (!Number.isInteger(weight) || weight < 1) weight = 1;
    }
    if (!this.cluster.canExport(subject)) {
      this.debug(`Can not export "${subject}", ignoring remote subscription request`);
      return;
    }
    const key = queue === undefined ? `${acc} ${subject}` : `${acc} ${subject} ${queue}`;
    const old = this.subs.get(key);
    if (old !== undefined) {
      if (queue !== undefined && old.weight !== weight) this.cluster.setWeight(old, weight);
      return;
    }
    if (this.subs.size >= this.cluster.maxRemoteSubs) {
      this.error(`Too many remote subscriptions (${this.subs.size}), closing`);
      this.close(RouteClosed.ProtocolViolation);
      return;
    }
    const sub = new RouteSub(this, account, subject, queue, weight, key);
    if (!account.index.insert(sub)) {
      this.debug(`Invalid remote subscription subject "${subject}", ignored`);
      return;
    }
    this.subs.set(key, sub);
  }

  private onRemoteUnsub(a: string[]): void {
    if (a.length < 2 || a.length > 3) {
      this.error(`processRemoteUnsub Parse Error: '${a.join(' ')}'`);
      this.close(RouteClosed.ProtocolViolation);
      return;
    }
    const acc = this.cluster.server.accounts.get(a[0]!);
    if (acc === undefined) {
      this.debug(`Unknown account ${JSON.stringify(a[0])} for subject ${JSON.stringify(a[1])}`);
      return;
    }
    const key = a.join(' ');
    const sub = this.subs.get(key);
    if (sub === undefined) return;
    this.subs.delete(key);
    sub.closed = true;
    sub.account.index.remove(sub);
  }

  // -------------------------------------------------------------------------------------------
  // Messages in

  onMsg(m: RouteMsg, data: Buffer, start: number, end: number): void {
    if (this.closed) return;
    if (this.deferred !== null) {
      this.deferred.push(() => this.onMsg(m, data, start, end));
      return;
    }
    if (!this.connectReceived && !this.infoReceived) {
      this.error('Router message received before CONNECT/INFO');
      this.close(RouteClosed.ProtocolViolation);
      return;
    }
    const size = end - start;
    this.inMsgs++;
    this.inBytes += size;
    const cl = this.cluster;
    if (cl.log.traceEnabled) this.traceMsg('<<-', m);
    let acc = this.inAcc;
    if (m.account !== this.inAccName || acc === undefined || acc.removed) {
      acc = cl.server.accounts.get(m.account);
      if (acc === undefined || acc.removed) {
        this.debug(`Unknown account ${JSON.stringify(m.account)} for routed message on subject: ${JSON.stringify(m.subject)}`);
        return;
      }
      this.inAcc = acc;
      this.inAccName = m.account;
    }
    cl.deliverRouted(this, acc, m, data, start, end);
  }

  private traceMsg(dir: '<<-' | '->>', m: RouteMsg): void {
    const op = m.origin !== undefined ? 'LMSG' : m.hdr >= 0 ? 'HMSG' : 'RMSG';
    const parts: string[] = [op];
    if (m.origin !== undefined) parts.push(m.origin);
    parts.push(m.account, m.subject);
    if (m.queues !== null) {
      if (m.reply !== undefined) parts.push('+', m.reply);
      else parts.push('|');
      parts.push(...m.queues);
    } else if (m.reply !== undefined) parts.push(m.reply);
    if (m.hdr >= 0) parts.push(String(m.hdr));
    parts.push(String(m.size));
    this.trace(dir, parts.join(' '));
  }

  // -------------------------------------------------------------------------------------------
  // Messages out

  /**
   * SubscriptionTarget: a remote subscription matched outside Cluster.publish (not expected:
   * publishes go through Cluster.publish, which sends one message per route). Never delivers.
   */
  deliver(): boolean {
    return false;
  }

  /**
   * Writes one `RMSG`/`HMSG` in `account` for a publish: `queues` are the queue names chosen on
   * this route. `copyLarge`: the payload's buffer is reused by its reader after this callback.
   */
  sendMsg(
    account: string,
    subject: string,
    reply: string | undefined,
    queues: string[] | null,
    headerSize: number,
    data: Buffer,
    start: number,
    end: number,
    copyLarge: boolean,
    producer: Producer | null = null,
  ): void {
    if (this.closed) return;
    const size = this.writeMsg(account, subject, reply, queues, headerSize, data, start, end, copyLarge);
    const hdr = headerSize >= 0 && this.headers ? headerSize : -1;
    if (this.cluster.log.traceEnabled) {
      this.traceMsg('->>', { origin: undefined, account, subject, reply, queues, hdr, size });
    }
    this.scheduleFlush();
    if (producer !== null) {
      const pending = this.pendingBytes;
      const max = this.cluster.server.options.maxPending;
      if (pending > max * STALL_SHARE) this.stallProducer(producer, pending, max);
    }
  }

  // Routes are never closed as slow consumers (they stall their producers); a route that writes
  // nothing at all for write_deadline is closed (nats-server does the same).
  protected get writeDeadlineMs(): number {
    return this.cluster.server.options.writeDeadlineMs;
  }

  protected writeDeadlineExceeded(): void {
    this.error('Slow Consumer Detected: WriteDeadline exceeded');
    this.close(RouteClosed.WriteError);
  }

  /** `RS+`/`RS-` and other control lines. */
  sendProto(line: string): void {
    if (this.closed) return;
    if (this.cluster.log.traceEnabled) this.trace('->>', line);
    this.enqueueText(line + '\r\n');
    this.scheduleFlush();
  }

  sendInfo(json: string): void {
    if (this.closed) return;
    if (this.cluster.log.traceEnabled) this.trace('->>', `INFO ${json}`);
    this.enqueueText(`INFO ${json}\r\n`);
    this.scheduleFlush();
  }

  sendErr(e: WireError): void {
    if (this.closed) return;
    if (this.cluster.log.traceEnabled) this.trace('->>', e.frame.toString('latin1', 0, e.frame.length - 2));
    this.enqueueText(e.frame.toString('latin1'));
    this.flushNow();
  }

  // -------------------------------------------------------------------------------------------
  // Producer

  updateReading(): void {
    if (this.closed) return;
    if (this.stall !== null || this.deferred !== null) this.socket.pause();
    else this.socket.resume();
  }

  // -------------------------------------------------------------------------------------------
  // Close

  close(reason: RouteClosed): void {
    if (this.closed) return;
    this.closed = true;
    this.reason = reason;
    this.reader.halt();
    this.stopPing();
    if (this.authTimer !== null) clearTimeout(this.authTimer);
    this.authTimer = null;
    this.closeOutbound(false);
    const sock = this.socket;
    if (!sock.destroyed) sock.end();
    setTimeout(() => sock.destroy(), 2000).unref();
    for (const sub of this.subs.values()) {
      sub.closed = true;
      sub.account.index.remove(sub);
    }
    this.subs.clear();
    this.notice(`Router connection closed: ${reason}`);
    this.cluster.routeClosed(this);
  }

  get tlsSocket(): TLSSocket | undefined {
    return 'encrypted' in this.socket ? (this.socket as TLSSocket) : undefined;
  }
}

export function hostPortOf(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
