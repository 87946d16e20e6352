// One leaf node connection (nats-server 2.9.10 leaf protocol), either accepted on the leaf port or
// solicited from a `leafnodes.remotes` entry: the INFO/CONNECT exchange of both roles, LS+/LS-
// with queue weights, LMSG/HMSG, PING/PONG, loop detection, close reasons and log lines as
// nats-server. The leaf manager (src/server/leafnodes.ts) owns interest propagation, the message
// paths and reconnects. The reader is the route reader with the leaf argument parser
// (src/protocol/leaf-parser.ts); interest is held as `LeafSub` subscriptions in the subject index,
// as routes hold theirs (src/server/route.ts).

import { credsConnectFields } from './jwt/creds.js';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  ERR_AUTH_TIMEOUT,
  ERR_ACCOUNT_AUTH_EXPIRED,
  ERR_AUTH_VIOLATION,
  ERR_LEAF_PORT,
  ERR_MAX_ACCOUNT_CONNECTIONS,
  ERR_STALE_CONNECTION,
  ERR_UNKNOWN_OP,
  ERR_USER_AUTH_EXPIRED,
  errFrame,
  errPermSubscribe,
  type WireError,
} from '../protocol/errors.js';
import type { RouteHandler, RouteMsg, RouteParser } from '../protocol/route-parser.js';
import { newLeafParser } from '../protocol/leaf-parser.js';
import { Subscription, type SubscriptionTarget } from './client.js';
import { STALL_SHARE, type Producer } from './connection/core.js';
import { ServerLink } from './connection/link.js';
import type { Logger } from './logger.js';
import type { ServerOptions } from '../config/types.js';
import { versionAtLeast, versionParts, type LeafRemoteOptions } from '../config/leafnodes.js';
import { PublishRule } from './permissions.js';
import { routeNonce } from './route.js';
import type { LeafAuth, Leafnodes } from './leafnodes.js';
import type { Account } from './accounts/account.js';
import type { AuthSession } from './auth.js';

/** nats-server's close reasons (logged as `Leafnode connection closed: <reason> account: <acc>`). */
export const LeafClosed = {
  ClientClosed: 'Client Closed',
  AuthenticationTimeout: ERR_AUTH_TIMEOUT.text,
  AuthenticationFailure: 'Authentication Failure',
  TLSHandshakeFailure: 'TLS Handshake Failure',
  StaleConnection: ERR_STALE_CONNECTION.text,
  ParseError: 'Parse Error',
  ProtocolViolation: 'Protocol Violation',
  MinimumVersionRequired: 'Minimum Version Required',
  IncorrectPort: 'Incorrect Port',
  ClusterNamesIdentical: 'Cluster Names Identical',
  DuplicateRemote: 'Duplicate Remote LeafNode Connection',
  ServerShutdown: 'Server Shutdown',
  ReadError: 'Read Error',
  WriteError: 'Write Error',
  SlowConsumerPendingBytes: 'Slow Consumer (Pending Bytes)',
  Revocation: 'Credentials Revoked',
  MissingAccount: 'Missing Account',
  MaxAccountConnectionsExceeded: 'Maximum Account Connections Exceeded',
  AuthenticationExpired: 'Authentication Expired',
  AuthenticationViolation: 'Authentication Violation',
} as const;
export type LeafClosed = (typeof LeafClosed)[keyof typeof LeafClosed];

/** Interest a leaf peer registered with LS+ (key `<subj>[ <queue>]`), in the leaf's account. */
export class LeafSub extends Subscription {
  weight: number;
  readonly leaf: Leaf;
  /** Interest from a spoke connection (the peer is our hub) is not sent to routes (nats-server). */
  readonly noRoute: boolean;
  /** The peer's cluster (origin): not offered back to leafs of the same cluster. */
  readonly origin: string;
  constructor(leaf: Leaf, subject: string, queue: string | undefined, weight: number, key: string) {
    super(leaf, subject, queue, key);
    this.leaf = leaf;
    this.weight = weight;
    this.noRoute = leaf.isSpoke;
    this.origin = leaf.remoteCluster;
  }
}

const PONG_FRAME = Buffer.from('PONG\r\n');

/** The account's `max_leafnodes` (-1 = unlimited) is reached. */
function leafLimitReached(acc: Account<Subscription>): boolean {
  const max = acc.limits.maxLeafnodes;
  return max >= 0 && acc.numLeafs >= max;
}
const LOOP_DELAY_MS = 30_000;

function stripV6Mapped(ip: string | undefined): string {
  if (!ip) return '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

function redact(json: string): string {
  return json.replace(/("pass"\s*:\s*)"(?:[^"\\]|\\.)*"/, '$1"[REDACTED]"');
}

export class Leaf extends ServerLink implements RouteHandler, SubscriptionTarget, Producer {
  readonly cid: number;
  readonly mgr: Leafnodes;
  readonly ip: string;
  readonly port: number;
  readonly start = Date.now();
  last = Date.now();
  /** Dialled by us from `remote` (a `leafnodes.remotes` entry). */
  readonly solicited: boolean;
  readonly remote: LeafRemoteOptions | undefined;
  readonly url: URL | undefined;
  /** Queue members on leafs are taken only when no local member can (src/server/cluster.ts). */
  readonly leafFallback = true;
  /** Runs over websocket (`ws://` remote or the websocket listener's `/leafnode` path). */
  viaWs = false;
  /** Accepted side: the nonce of the first INFO (nkey and JWT credentials sign it). */
  nonce = '';
  /** Accepted side, operator mode: the user JWT's expiry timer (nats-server's setExpiration). */
  private expTimer: NodeJS.Timeout | null = null;
  /** Accepted side, operator mode: the user JWT the spoke authenticated with (claim updates re-check it). */
  session: AuthSession | undefined;
  /** The peer is our hub (nats-server's isSpokeLeafNode). */
  isSpoke = false;
  remoteId = '';
  remoteName = '';
  remoteCluster = '';
  override headers = true;
  registered = false;
  reason = '';
  /**
   * The local account this connection is bound to: a remote's `account` (solicited), the
   * authenticated user's account (accepted; `$G` until then). LS+/LMSG go to and come from it only.
   */
  account: Account<Subscription>;
  /** Counted in `account.numLeafs`. */
  private accountCounted = false;
  /** Delay before the next dial of this remote (loop or permission errors: 30 s). */
  reconnectDelayMs = 0;
  private connectReceived = false;
  private authed = false;
  private infoReceived = false;
  /** The INFO of the hub (solicited). */
  hubInfo: Record<string, unknown> | null = null;
  /** LS+ the peer sent, by key. */
  readonly subs = new Map<string, LeafSub>();
  /** Interest we sent: key → count (nats-server's smap). */
  readonly smap = new Map<string, number>();
  /** Messages to the peer must pass this (deny_exports; the spoke's CONNECT deny_pub on a hub). */
  pubPerm: PublishRule | null = null;
  /** Our LS+ must pass this (deny_imports on the spoke). */
  subPerm: PublishRule | null = null;
  /** Subjects denied both ways on this connection (JetStream not extended: `$JS.API.>` ...). */
  bothDeny: PublishRule | null = null;

  // stats
  private authTimer: NodeJS.Timeout | null = null;

  // Producer (flow control)
  readonly parser = { chunksReused: false };

  /** Set by the leaf manager's publish: the publish this leaf is a target of, and its queue names. */
  pubEpoch = 0;
  pubQueues: string[] | null = null;

  /** deliver() batching: one LMSG per message with every queue name chosen for this leaf. */
  private pend: {
    subject: string;
    reply: string | undefined;
    hdr: number;
    /** The caller's buffer and range (identity of the message). */
    src: Buffer;
    start: number;
    end: number;
    /** A copy of the payload: the caller may reuse its buffer before the LMSG is written. */
    body: Buffer;
    plain: boolean;
    queues: string[] | null;
  } | null = null;

  private readonly reader: RouteParser;

  constructor(
    mgr: Leafnodes,
    sock: Socket,
    cid: number,
    remote: LeafRemoteOptions | undefined,
    url: URL | undefined,
    account?: Account<Subscription>,
  ) {
    super(sock);
    this.mgr = mgr;
    this.account = account ?? mgr.server.accounts.global;
    this.cid = cid;
    this.ip = stripV6Mapped(sock.remoteAddress);
    this.port = sock.remotePort ?? 0;
    this.solicited = remote !== undefined;
    this.remote = remote;
    this.url = url;
    if (remote) {
      this.isSpoke = !remote.hub;
      if (remote.denyExports.length > 0) this.pubPerm = new PublishRule({ allow: [], deny: remote.denyExports }, false);
      if (remote.denyImports.length > 0) this.subPerm = new PublishRule({ allow: [], deny: remote.denyImports }, false);
    }
    this.reader = newLeafParser(this);
    this.prefix = `${this.ip}:${this.port} - lid:${cid} - `;
  }

  // -------------------------------------------------------------------------------------------
  // Logging

  // -------------------------------------------------------------------------------------------
  // Start

  /** Accepted: the INFO goes out at once in clear (TLS, if configured, follows it). */
  sendFirstInfo(nonce: string): void {
    this.nonce = nonce;
    this.enqueueText(`INFO ${this.mgr.infoJson({ nonce, client_id: this.cid, ip: this.ip })} \r\n`);
    this.flushNow();
  }

  /** The socket is ready for NATS bytes (after the TLS handshake when there is one). */
  begin(sock: Socket): void {
    this.socket = sock;
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', (e: NodeJS.ErrnoException) => this.onSocketError(e));
    sock.on('close', () => this.close(LeafClosed.ClientClosed));
    sock.on('drain', () => this.onDrain());
    sock.resume();
    if (!this.solicited) {
      this.authTimer = setTimeout(() => {
        this.authTimer = null;
        if (this.connectReceived || this.closed) return;
        this.sendErr(ERR_AUTH_TIMEOUT);
        this.error(ERR_AUTH_TIMEOUT.text);
        this.close(LeafClosed.AuthenticationTimeout);
      }, this.mgr.authTimeoutMs);
    } else {
      // The hub's INFO must come within 1 s (nats-server's DEFAULT_LEAFNODE_INFO_WAIT).
      this.authTimer = setTimeout(() => {
        this.authTimer = null;
        if (this.infoReceived || this.closed) return;
        this.error('Leafnode Error: timeout waiting for the hub INFO');
        this.close(LeafClosed.StaleConnection);
      }, 1000 + 1000);
    }
    this.flushNow();
  }

  /** Continues on a socket replaced by TLS (solicited, after the first INFO). */
  resumeOn(sock: Socket, rest: () => void): void {
    this.socket = sock;
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', (e: NodeJS.ErrnoException) => this.onSocketError(e));
    sock.on('close', () => this.close(LeafClosed.ClientClosed));
    sock.on('drain', () => this.onDrain());
    rest();
  }

  protected get log(): Logger {
    return this.mgr.log;
  }

  protected get pingOptions(): ServerOptions {
    return this.mgr.server.options;
  }

  protected closeStale(): void {
    this.debug('Stale Client Connection - Closing');
    this.sendErr(ERR_STALE_CONNECTION);
    this.close(LeafClosed.StaleConnection);
  }

  // -------------------------------------------------------------------------------------------
  // Reading

  private onData(d: Buffer): void {
    this.last = Date.now();
    this.reader.parse(d);
    this.mgr.server.flushPending();
  }

  private onSocketError(e: NodeJS.ErrnoException): void {
    if (this.closed) return;
    if (e.code === 'EPIPE' || e.code === 'ECONNRESET') this.close(LeafClosed.ClientClosed);
    else {
      this.error(`Leafnode Error ${e.message}`);
      this.close(LeafClosed.ReadError);
    }
  }

  onParseError(reason: string, snippet: string): void {
    this.error(`Leafnode parser ERROR, ${reason}: proto='${JSON.stringify(snippet).slice(1, -1)}...'`);
    this.sendErr(ERR_UNKNOWN_OP);
    this.close(LeafClosed.ParseError);
  }

  onOp(op: string, args: string[], rest: string): void {
    if (this.closed) return;
    const log = this.mgr.log;
    if (log.traceEnabled && op !== 'CONNECT') this.trace('<<-', rest ? `${op} ${rest}` : op);
    switch (op) {
      case 'PING':
        this.enqueue(PONG_FRAME);
        this.scheduleFlush();
        return;
      case 'PONG':
        this.gotPong();
        return;
      case 'CONNECT':
        if (log.traceEnabled) this.trace('<<-', `CONNECT ${redact(rest)}`);
        if (this.solicited) return this.violation('CONNECT on a solicited leafnode connection');
        this.onConnect(rest);
        return;
      case 'INFO':
        this.onInfo(rest);
        return;
      case '+OK':
        return;
      case '-ERR':
        this.onErr(rest);
        return;
      case 'LS+':
        if (!this.requireRegistered(op)) return;
        this.onLeafSub(args, rest);
        return;
      case 'LS-':
        if (!this.requireRegistered(op)) return;
        this.onLeafUnsub(args, rest);
        return;
      default:
        this.sendErr(ERR_UNKNOWN_OP);
        this.error(`Leafnode parser ERROR, state=0, i=0: proto='${(op + ' ' + rest).slice(0, 32)}...'`);
        this.close(LeafClosed.ParseError);
    }
  }

  private violation(what: string): void {
    this.error(what);
    this.close(LeafClosed.ProtocolViolation);
  }

  private requireRegistered(op: string): boolean {
    if (this.registered) return true;
    this.violation(`Leafnode ${op} received before the handshake completed`);
    return false;
  }

  private onErr(rest: string): void {
    // `-ERR` is logged and does not close, except loop and same-cluster errors (nats-server).
    this.error(`Leafnode Error ${rest}`);
    if (rest.includes('Loop detected')) {
      this.reconnectDelayMs = LOOP_DELAY_MS;
      this.close(LeafClosed.ProtocolViolation);
    } else if (rest.includes('remote leafnode has same cluster name')) {
      this.error('Leafnode connection dropped with same cluster name error. Delaying attempt to reconnect for 30s');
      this.reconnectDelayMs = LOOP_DELAY_MS;
      this.close(LeafClosed.ClusterNamesIdentical);
    } else if (rest.includes('Permissions Violation') || rest.includes(ERR_AUTH_VIOLATION.text)) {
      if (rest.includes('Permissions Violation')) this.reconnectDelayMs = LOOP_DELAY_MS;
    }
  }

  private parseJson(what: string, json: string): Record<string, unknown> | null {
    try {
      const v = JSON.parse(json) as unknown;
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
      return v as Record<string, unknown>;
    } catch (e) {
      this.error(`Leafnode ${what}: ${(e as Error).message}`);
      this.close(LeafClosed.ProtocolViolation);
      return null;
    }
  }

  /** Accepted side: the spoke's CONNECT. */
  private onConnect(json: string): void {
    if (this.connectReceived) return;
    this.connectReceived = true;
    const j = this.parseJson('CONNECT', json);
    if (j === null) return;
    if (typeof j.lang === 'string' && j.lang !== '') {
      this.sendErr(ERR_LEAF_PORT);
      this.close(LeafClosed.IncorrectPort);
      return;
    }
    if (typeof j.gateway === 'string' && j.gateway !== '') {
      this.sendErr(ERR_LEAF_PORT);
      this.close(LeafClosed.IncorrectPort);
      return;
    }
    const r = this.mgr.authorize(j, this.viaWs, this.nonce, this.ip);
    if (r instanceof Promise) {
      // bcrypt or an nkey signature: checked asynchronously (reading waits).
      this.socket.pause();
      void r.then((v) => {
        if (this.closed) return;
        this.socket.resume();
        this.afterAuth(j, v);
      });
      return;
    }
    this.afterAuth(j, r);
  }

  private afterAuth(j: Record<string, unknown>, v: LeafAuth): void {
    if (this.authTimer !== null) {
      clearTimeout(this.authTimer);
      this.authTimer = null;
    }
    let ok = v.ok;
    if (ok) {
      // Bound to the account of the credentials (nats-server's registerLeafWithAccount).
      // Operator mode: the user JWT's account is registered on first use, as for a client.
      const accounts = this.mgr.server.accounts;
      const acc = accounts.get(v.account ?? '$G') ?? (v.session ? accounts.addFromJwt(v.session.accountConfig) : undefined);
      if (acc === undefined || acc.removed) {
        this.error(
          `authentication of user ${JSON.stringify(typeof j.user === 'string' ? j.user : '')} failed, unable to lookup account ${JSON.stringify(v.account ?? '')}: account not found`,
        );
        ok = false;
      } else if (leafLimitReached(acc)) {
        if (v.session) {
          // A JWT leaf (nats-server's RegisterNkeyUser → reportErrRegisterAccount → maxAccountConnExceeded).
          this.sendErr(ERR_MAX_ACCOUNT_CONNECTIONS);
          this.error(ERR_MAX_ACCOUNT_CONNECTIONS.text);
          this.close(LeafClosed.MaxAccountConnectionsExceeded);
          return;
        }
        // nats-server's registerWithAccount refuses the leaf: an authentication failure.
        ok = false;
      } else {
        this.account = acc;
        this.authed = true;
        if (v.session) this.applySession(v.session);
      }
    }
    if (!ok) {
      if (v.debug) this.debug(v.debug);
      if (v.error) this.error(v.error);
      this.error('authentication error');
      this.sendErr(ERR_AUTH_VIOLATION);
      this.close(LeafClosed.AuthenticationFailure);
      return;
    }
    const cluster = typeof j.cluster === 'string' ? j.cluster : '';
    const ours = this.mgr.clusterName;
    if (cluster !== '' && ours !== '' && cluster === ours) {
      this.sendErr('remote leafnode has same cluster name');
      this.close(LeafClosed.ClusterNamesIdentical);
      return;
    }
    const mv = this.mgr.opts.minVersion;
    if (mv !== undefined && !versionAtLeast(typeof j.version === 'string' ? j.version : '', versionParts(mv)!)) {
      // As nats-server: the INFO (so the spoke waits), the error, and the close after 5 s.
      this.enqueueText(`INFO ${this.mgr.infoJson({ client_id: this.cid, ip: this.ip, connect_info: true, remote_account: this.account.name })} \r\n`);
      const text = `connection rejected since minimum version required is ${JSON.stringify(mv)}`;
      this.sendErr(text);
      this.error(text);
      this.socket.pause();
      this.authTimer = setTimeout(() => this.close(LeafClosed.MinimumVersionRequired), 5000);
      this.authTimer.unref?.();
      return;
    }
    this.remoteCluster = cluster;
    this.remoteId = typeof j.server_id === 'string' ? j.server_id : '';
    this.remoteName = typeof j.name === 'string' ? j.name : this.remoteId;
    this.headers = j.headers === true;
    // The peer announces itself as a hub: this connection's remote is our hub.
    this.isSpoke = j.is_hub === true;
    const denyPub = Array.isArray(j.deny_pub) ? j.deny_pub.filter((x): x is string => typeof x === 'string') : [];
    if (denyPub.length > 0) this.pubPerm = new PublishRule({ allow: [], deny: denyPub }, false);
    if (!this.mgr.registerAccepted(this)) return;
    this.enqueueText(`INFO ${this.mgr.infoJson({ client_id: this.cid, ip: this.ip, connect_info: true, remote_account: this.account.name })} \r\n`);
    this.finishRegistration();
  }

  /** Operator mode: closed when the user JWT (or its account JWT) expires, as a client (nats-server's setExpiration). */
  private applySession(s: AuthSession): void {
    this.session = s;
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
      this.close(LeafClosed.AuthenticationExpired);
    }, Math.min(ms, 2 ** 31 - 1));
    this.expTimer.unref();
  }

  /** INFO: solicited side (first INFO, then the `connect_info` INFO); async INFOs otherwise. */
  private onInfo(json: string): void {
    const info = this.parseJson('INFO', json);
    if (info === null) return;
    if (!this.solicited) return;
    if (Array.isArray(info.leafnode_urls)) this.mgr.learnUrls(this, info.leafnode_urls);
    if (this.registered) return; // async INFO: only its leafnode_urls matter
    if (!this.infoReceived) {
      this.infoReceived = true;
      if (this.authTimer !== null) clearTimeout(this.authTimer);
      this.authTimer = null;
      const urls = info.leafnode_urls;
      if (!info.client_id || !Array.isArray(urls) || urls.length === 0) {
        this.error('attempted to connect to wrong port');
        this.close(LeafClosed.IncorrectPort);
        return;
      }
      this.hubInfo = info;
      this.remoteId = typeof info.server_id === 'string' ? info.server_id : '';
      this.remoteName = typeof info.server_name === 'string' && info.server_name !== '' ? info.server_name : this.remoteId;
      this.remoteCluster = typeof info.cluster === 'string' ? info.cluster : '';
      this.headers = info.headers === true;
      const needTls = !this.viaWs && (this.remote!.tls !== undefined || info.tls_required === true);
      const go = (): void => {
        if (this.closed) return;
        this.sendConnect(typeof info.nonce === 'string' ? info.nonce : '');
        if (info.info_on_connect !== true) {
          this.mgr.registerSolicited(this);
          this.finishRegistration();
          return;
        }
        // The hub's `connect_info` INFO must come within 2 s.
        this.authTimer = setTimeout(() => {
          this.authTimer = null;
          if (this.closed || this.registered) return;
          this.sendErr('Stale Leaf Node Connection - Closing');
          this.close(LeafClosed.StaleConnection);
        }, 2000);
      };
      if (needTls) this.mgr.upgradeSolicited(this, go);
      else go();
      return;
    }
    if (info.connect_info === true) {
      if (this.authTimer !== null) clearTimeout(this.authTimer);
      this.authTimer = null;
      this.mgr.registerSolicited(this);
      this.finishRegistration();
    }
  }

  private sendConnect(nonce: string): void {
    const mgr = this.mgr;
    const u = this.url!;
    const c: Record<string, unknown> = { version: mgr.version };
    const creds = this.remote!.credentials;
    if (creds !== undefined) {
      // Credentials take precedence over a user in the URL (nats-server).
      this.debug(`Authenticating with credentials file ${JSON.stringify(creds)}`);
      try {
        Object.assign(c, credsConnectFields(creds, nonce));
      } catch (e) {
        this.error((e as NodeJS.ErrnoException).code ? String((e as Error).message) : (e as Error).message);
      }
    }
    let user = u.username ? decodeURIComponent(u.username) : undefined;
    let pass = u.password ? decodeURIComponent(u.password) : undefined;
    if (user === undefined) {
      // Credentials remembered from another URL of this remote.
      for (const t of this.remote!.urls) {
        try {
          const v = new URL(t);
          if (v.username) {
            user = decodeURIComponent(v.username);
            pass = decodeURIComponent(v.password);
            break;
          }
        } catch {
          // ignore
        }
      }
    }
    if (user !== undefined && creds === undefined) c.user = user;
    if (pass !== undefined && creds === undefined) c.pass = pass;
    c.tls_required = 'encrypted' in this.socket;
    c.server_id = mgr.server.serverId;
    c.name = mgr.server.serverName;
    if (this.remote!.hub) c.is_hub = true;
    if (mgr.clusterName !== '') c.cluster = mgr.clusterName;
    c.headers = !mgr.server.options.noHeaderSupport;
    if (this.remote!.denyImports.length > 0) c.deny_pub = this.remote!.denyImports;
    const json = JSON.stringify(c);
    if (mgr.log.traceEnabled) this.trace('->>', `CONNECT ${redact(json)}`);
    this.enqueueText(`CONNECT ${json}\r\n`);
    this.flushNow();
    this.debug('Remote leafnode connect msg sent');
  }

  private finishRegistration(): void {
    if (this.solicited && leafLimitReached(this.account)) {
      // The account's `max_leafnodes` (nats-server: maxAccountConnExceeded).
      this.sendErr(ERR_MAX_ACCOUNT_CONNECTIONS);
      this.error(ERR_MAX_ACCOUNT_CONNECTIONS.text);
      this.close(LeafClosed.MaxAccountConnectionsExceeded);
      return;
    }
    this.registered = true;
    this.account.numLeafs++;
    this.accountCounted = true;
    this.mgr.addJetStreamDenies(this);
    this.mgr.sendInitialInterest(this);
    this.startPing();
    this.flushNow();
  }

  // -------------------------------------------------------------------------------------------
  // Interest

  private onLeafSub(a: string[], rest: string): void {
    if (a.length !== 1 && a.length !== 3) {
      this.violation(`processLeafSub Parse Error: '${rest}'`);
      return;
    }
    const subject = a[0]!;
    const queue = a.length === 3 ? a[1] : undefined;
    let weight = 1;
    if (a.length === 3) {
      weight = Number(a[2]);
      if (!Number.isInteger(weight) || weight < 1) weight = 1;
    }
    const mgr = this.mgr;
    if (subject.startsWith('$LDS.') && subject === mgr.ldsFor(this.account)) {
      const text = `Loop detected for leafnode account=${JSON.stringify(this.account.name)}. Delaying attempt to reconnect for 30s`;
      this.sendErr(text);
      this.error(text);
      this.reconnectDelayMs = LOOP_DELAY_MS;
      this.close(LeafClosed.ProtocolViolation);
      return;
    }
    const special = subject.startsWith('$LDS.') || subject.startsWith('$GR.') || subject.startsWith('_GR_.');
    if (!special && this.pubPerm !== null && !/[*>]/.test(subject) && !this.pubPerm.allowed(subject)) {
      if (this.isSpoke) return; // a spoke drops silently: nothing of it is sent to the hub
      this.sendErr(errPermSubscribe(subject));
      this.error(`Subscription Violation on "${subject}" - Check other side configuration`);
      this.close(LeafClosed.ProtocolViolation);
      return;
    }
    if (this.bothDeny !== null && !/[*>]/.test(subject) && !this.bothDeny.allowed(subject)) return;
    const key = queue === undefined ? subject : `${subject} ${queue}`;
    const old = this.subs.get(key);
    if (old !== undefined) {
      if (queue !== undefined && old.weight !== weight) mgr.setWeight(old, weight);
      return;
    }
    if (this.subs.size >= mgr.maxRemoteSubs) {
      this.violation(`Too many leafnode subscriptions (${this.subs.size}), closing`);
      return;
    }
    const sub = new LeafSub(this, subject, queue, weight, key);
    if (!this.account.index.insert(sub)) {
      this.debug(`Invalid leafnode subscription subject "${subject}", ignored`);
      return;
    }
    this.subs.set(key, sub);
  }

  private onLeafUnsub(a: string[], rest: string): void {
    if (a.length < 1 || a.length > 2) {
      this.violation(`processLeafUnsub Parse Error: '${rest}'`);
      return;
    }
    const key = a.join(' ');
    const sub = this.subs.get(key);
    if (sub === undefined) return;
    this.subs.delete(key);
    sub.closed = true;
    this.account.index.remove(sub);
  }

  // -------------------------------------------------------------------------------------------
  // Messages in

  onMsg(m: RouteMsg, data: Buffer, start: number, end: number): void {
    if (this.closed) return;
    if (!this.registered) {
      this.violation('Leafnode message received before the handshake completed');
      return;
    }
    this.inMsgs++;
    this.inBytes += end - start;
    if (this.mgr.log.traceEnabled) this.traceMsg('<<-', m.subject, m.reply, m.queues, m.hdr, end - start);
    if (this.bothDeny !== null && !this.bothDeny.allowed(m.subject)) return;
    this.mgr.deliverFromLeaf(this, m, data, start, end);
  }

  private traceMsg(dir: '<<-' | '->>', subject: string, reply: string | undefined, queues: string[] | null, hdr: number, size: number): void {
    const parts: string[] = [hdr >= 0 ? 'HMSG' : 'LMSG', subject];
    if (queues !== null && queues.length > 0) {
      if (reply !== undefined) parts.push('+', reply);
      else parts.push('|');
      parts.push(...queues);
    } else if (reply !== undefined) parts.push(reply);
    if (hdr >= 0) parts.push(String(hdr));
    parts.push(String(size));
    this.trace(dir, parts.join(' '));
  }

  // -------------------------------------------------------------------------------------------
  // Messages out

  /** May this message go to the peer (its publish permission as nats-server checks per delivery)? */
  permits(subject: string): boolean {
    if ((this.pubPerm === null || this.pubPerm.allowed(subject)) && (this.bothDeny === null || this.bothDeny.allowed(subject))) return true;
    this.debug(`Not permitted to deliver to "${subject}"`);
    return false;
  }

  /**
   * SubscriptionTarget, for matches outside the leaf manager's publish (messages from routes):
   * every delivery of one message is merged into one LMSG (plain + chosen queue names), written
   * when the next message starts or at the end of the current task.
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
  ): boolean {
    if (this.closed || !this.registered || producer === this) return false;
    // Messages from routes go only to leafs attached to us (we are their hub).
    if (this.isSpoke && !(producer instanceof Leaf)) return false;
    if (!this.permits(subject)) return false;
    const p = this.pend;
    const queue = sub.queue !== undefined && sub.queue !== '' ? sub.queue : undefined;
    if (p !== null && p.src === data && p.start === start && p.end === end && p.subject === subject) {
      if (queue !== undefined) (p.queues ??= []).push(queue);
      else p.plain = true;
      return true;
    }
    if (p !== null) this.flushPend();
    const body = Buffer.from(data.subarray(start, end));
    this.pend = { subject, reply, hdr: headerSize, src: data, start, end, body, plain: queue === undefined, queues: queue !== undefined ? [queue] : null };
    queueMicrotask(this.flushPendTask);
    return true;
  }

  private readonly flushPendTask = (): void => this.flushPend();

  private flushPend(): void {
    const p = this.pend;
    if (p === null) return;
    this.pend = null;
    this.sendMsg(p.subject, p.reply, p.queues, p.hdr, p.body, 0, p.body.length, false, null);
  }

  /** Writes one `LMSG`/`HMSG` (queues: the queue names chosen on this connection). */
  sendMsg(
    subject: string,
    reply: string | undefined,
    queues: string[] | null,
    headerSize: number,
    data: Buffer,
    start: number,
    end: number,
    copyLarge: boolean,
    producer: Producer | null,
  ): void {
    if (this.closed) return;
    const size = this.writeMsg(null, subject, reply, queues, headerSize, data, start, end, copyLarge);
    const hdr = headerSize >= 0 && this.headers ? headerSize : -1;
    if (this.mgr.log.traceEnabled) this.traceMsg('->>', subject, reply, queues, hdr, size);
    this.scheduleFlush();
    const pending = this.pendingBytes;
    const max = this.mgr.server.options.maxPending;
    if (pending > max) {
      // A peer that stops reading: memory stays bounded (nats-server closes it the same way).
      this.notice('Slow Consumer Detected: MaxPending Exceeded');
      this.close(LeafClosed.SlowConsumerPendingBytes);
      return;
    }
    if (producer !== null && pending > max * STALL_SHARE) this.stallProducer(producer, pending, max);
  }

  protected get writeDeadlineMs(): number {
    return this.mgr.server.options.writeDeadlineMs;
  }

  /** A leaf that writes nothing for write_deadline is closed (as nats-server does). */
  protected writeDeadlineExceeded(): void {
    this.notice('Slow Consumer Detected: WriteDeadline exceeded');
    this.close(LeafClosed.WriteError);
  }

  sendProto(line: string): void {
    if (this.closed) return;
    if (this.mgr.log.traceEnabled) this.trace('->>', line);
    this.enqueueText(line + '\r\n');
    this.scheduleFlush();
  }

  sendInfo(json: string): void {
    if (this.closed) return;
    this.enqueueText(`INFO ${json}\r\n`);
    this.scheduleFlush();
  }

  /** `-ERR`: one of the table's errors, a formatted one, or a leaf-specific text. */
  sendErr(e: WireError | Buffer | string): void {
    if (this.closed) return;
    const frame = typeof e === 'string' ? errFrame(e) : Buffer.isBuffer(e) ? e : e.frame;
    const line = frame.toString('latin1');
    if (this.mgr.log.traceEnabled) this.trace('->>', line.slice(0, -2));
    this.enqueueText(line);
    this.flushNow();
  }

  // -------------------------------------------------------------------------------------------
  // Producer

  updateReading(): void {
    if (this.closed) return;
    if (this.stall !== null) this.socket.pause();
    else this.socket.resume();
  }

  // -------------------------------------------------------------------------------------------
  // Close

  close(reason: LeafClosed): void {
    if (this.closed) return;
    this.flushPend();
    this.closed = true;
    this.reason = reason;
    this.reader.halt();
    this.stopPing();
    if (this.authTimer !== null) clearTimeout(this.authTimer);
    this.authTimer = null;
    if (this.expTimer !== null) clearTimeout(this.expTimer);
    this.expTimer = null;
    this.closeOutbound(false);
    const sock = this.socket;
    if (!sock.destroyed) sock.end();
    setTimeout(() => sock.destroy(), 2000).unref();
    const index = this.account.index;
    for (const sub of this.subs.values()) {
      sub.closed = true;
      index.remove(sub);
    }
    this.subs.clear();
    if (this.accountCounted) {
      this.account.numLeafs--;
      this.accountCounted = false;
    }
    // The account is known once a spoke authenticated (always for solicited connections).
    this.notice(`Leafnode connection closed: ${reason} account: ${this.solicited || this.authed ? this.account.name : ''}`);
    this.mgr.leafClosed(this);
  }

  /** The `ocsp_peer` re-check found the peer's certificate revoked (src/server/ocsp-peer.ts). */
  revoke(): void {
    this.close(LeafClosed.Revocation);
  }

  get tlsSocket(): TLSSocket | undefined {
    return 'encrypted' in this.socket ? (this.socket as TLSSocket) : undefined;
  }

  /** Used by the manager for the initial INFO nonce. */
  static nonce(): string {
    return routeNonce();
  }
}
