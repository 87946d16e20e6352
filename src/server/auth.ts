// Client authentication as nats-server does it: token, single user/password, a users list (plain
// or bcrypt passwords, users of `accounts {}` entries included), `no_auth_user`, `verify_and_map`
// (TLS client certificate identity -> user, no password), and nkey users (nonce signatures, in
// nkey-auth.ts). Each mechanism is a strategy (`AuthStrategy`); the Authenticator picks the one
// that applies to a CONNECT in nats-server's order (processClientOrLeafAuthentication).
//
// Plain secrets are compared in constant time (timingSafeEqual over SHA-256 digests, so lengths
// do not leak either); bcrypt hashes (`$2a$`, `$2b$`, `$2x$`, `$2y$`) are checked asynchronously
// with bcryptjs so a slow hash does not stall the event loop (bcryptjs is loaded on the first
// bcrypt check, so a configuration without bcrypt passwords never loads it).

import { createHash, timingSafeEqual, type X509Certificate } from 'node:crypto';
import type { AccountConfig, ServerOptions, UserEntry } from '../config/types.js';
import type { OperatorOptions } from '../config/operator.js';
import type { JwtAuthenticator } from './jwt/strategy.js';
import { checkNkey, compileNkeys, type NkeyUser } from './nkey-auth.js';
import { CompiledPermissions } from './permissions.js';

/** The CONNECT fields that carry credentials. */
export interface Credentials {
  user?: string;
  pass?: string;
  auth_token?: string;
  /** CONNECT `nkey` and `sig`, and the nonce this connection's INFO carried. */
  nkey?: string;
  sig?: string;
  nonce?: string;
  /** CONNECT `jwt` (operator mode), the client's IP and connection type (STANDARD, WEBSOCKET, LEAFNODE). */
  jwt?: string;
  host?: string;
  connType?: string;
}

/** What operator mode (src/server/jwt/) gives an authenticated connection besides permissions. */
export interface AuthSession {
  /** The account JWT as configuration (the account is registered with it on first use; AuthOk.account is its public key). */
  accountConfig: AccountConfig;
  /** The user's public key, JWT name and tags, when the JWT was issued, whether it is a bearer token. */
  pubKey: string;
  issuedAt: number;
  bearer: boolean;
  /** The key that signed the user JWT when it is a signing key, else the account (/connz `issuer_key`). */
  issuerKey: string;
  nameTag: string;
  tags: string[];
  /** -1 = no limit (the server's own limits still apply). */
  maxPayload: number;
  maxSubs: number;
  /** When the user JWT (or its time window) ends (ERR_USER_AUTH_EXPIRED). */
  expiresInMs?: number;
  /** When the account JWT expires (ERR_ACCOUNT_AUTH_EXPIRED). */
  accountExpiresInMs?: number;
}

export interface AuthOk {
  ok: true;
  /** The authenticated user name (absent for token/anonymous). */
  user?: string;
  permissions: CompiledPermissions | null;
  session?: AuthSession;
  /** The account the user belongs to (absent: the global account `$G`). */
  account?: string;
}

export interface AuthFailed {
  ok: false;
  /** What nats-server logs at error level: `authentication error` [+ ` - User "x"`]. */
  log: string;
  /** Why, at debug level first (nats-server: `Signature missing`, ...). */
  debug?: string;
  /** Logged at error level before `log` (nats-server: `Bad src Ip ...`, `Outside connect times`). */
  error?: string;
}

export type AuthResult = AuthOk | AuthFailed;

const BCRYPT_RE = /^\$2[abxy]\$\d{2}\$/;

export function isBcrypt(s: string): boolean {
  return BCRYPT_RE.test(s);
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time comparison of a configured secret with the one a client sent. */
export function safeEqual(expected: string, given: string): boolean {
  return timingSafeEqual(digest(expected), digest(given));
}

/** Plain or bcrypt; resolves to whether `given` matches `configured`. */
export function comparePassword(configured: string, given: string): boolean | Promise<boolean> {
  if (isBcrypt(configured)) {
    // bcryptjs accepts $2a$/$2b$ (and $2y$ via the same algorithm when rewritten).
    const hash = configured.startsWith('$2y$') || configured.startsWith('$2x$') ? '$2a$' + configured.slice(4) : configured;
    return import('bcryptjs').then(({ default: bcrypt }) => bcrypt.compare(given, hash)).catch(() => false);
  }
  return safeEqual(configured, given);
}

interface CompiledUser {
  entry: UserEntry;
  permissions: CompiledPermissions | null;
}

/** The connection kinds `allowed_connection_types` names (a client connection is one of the first two). */
export type ConnectionType = 'STANDARD' | 'WEBSOCKET' | 'LEAFNODE' | 'LEAFNODE_WS' | 'MQTT' | 'MQTT_WS';

/** nats-server: a user with allowed connection types may only connect as one of them. */
function typeAllowed(allowed: string[] | undefined, t: ConnectionType): boolean {
  return allowed === undefined || allowed.length === 0 || allowed.includes(t);
}

function okFor(name: string | undefined, account: string | undefined, permissions: CompiledPermissions | null): AuthOk {
  const r: AuthOk = { ok: true, permissions };
  if (name !== undefined) r.user = name;
  if (account !== undefined) r.account = account;
  return r;
}

/** Normalises a distinguished name for comparison: RDNs trimmed, sorted, case-insensitive types. */
function normDn(dn: string): string {
  return dn
    .split(/[,\n+]/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map((p) => {
      const i = p.indexOf('=');
      return i < 0 ? p : p.slice(0, i).trim().toUpperCase() + '=' + p.slice(i + 1).trim();
    })
    .sort()
    .join(',');
}

/** The identities of a client certificate nats-server tries, in its order. */
export function certIdentities(cert: X509Certificate): string[] {
  const ids: string[] = [];
  const san = cert.subjectAltName ?? '';
  const emails: string[] = [];
  const dns: string[] = [];
  const uris: string[] = [];
  for (const part of san.split(/,\s*/)) {
    const i = part.indexOf(':');
    if (i < 0) continue;
    const kind = part.slice(0, i);
    const val = part.slice(i + 1).replace(/^"|"$/g, '');
    if (kind === 'email') emails.push(val);
    else if (kind === 'DNS') dns.push(val);
    else if (kind === 'URI') uris.push(val);
  }
  ids.push(...emails, ...dns, ...uris);
  // Subject in RFC 2253 order (last RDN first, as Go's pkix.Name.String()) and in the
  // certificate's own order.
  const rdns = cert.subject.split('\n').filter((s) => s.length > 0);
  ids.push([...rdns].reverse().join(','), rdns.join(','));
  return ids;
}

/**
 * One authentication mechanism. The Authenticator asks each strategy, in order, whether it
 * `applies` to a CONNECT; the first that does decides (nats-server does not fall through from
 * one mechanism to the next).
 */
export interface AuthStrategy {
  readonly name: string;
  applies(c: Credentials, peerCert: X509Certificate | undefined): boolean;
  authenticate(c: Credentials, peerCert: X509Certificate | undefined): AuthResult | Promise<AuthResult>;
}

/** What the strategies share: the compiled users and the connection kind. */
interface AuthContext {
  users: Map<string, CompiledUser>;
  usersByDn: Map<string, CompiledUser>;
  nkeys: Map<string, NkeyUser>;
  noAuthUser: string | undefined;
  defaultPermissions: CompiledPermissions | null;
  connType: ConnectionType;
}

const FAIL: AuthFailed = { ok: false, log: 'authentication error' };

/** After the check of a secret that may be bcrypt (asynchronous) or plain. */
function passed(r: boolean | Promise<boolean>, ok: AuthOk, fail: AuthFailed): AuthResult | Promise<AuthResult> {
  if (typeof r === 'boolean') return r ? ok : fail;
  return r.then((good) => (good ? ok : fail));
}

/** nkey users: a CONNECT with an `nkey` signs the INFO nonce (nkey-auth.ts). */
class NkeyStrategy implements AuthStrategy {
  readonly name = 'nkey';
  constructor(private readonly ctx: AuthContext) {}
  applies(c: Credentials): boolean {
    return this.ctx.nkeys.size > 0 && !!c.nkey;
  }
  authenticate(c: Credentials): AuthResult | Promise<AuthResult> {
    return checkNkey(this.ctx.nkeys, c, this.ctx.connType);
  }
}

/** `verify_and_map`: the verified client certificate names the user (no password). */
class CertMapStrategy implements AuthStrategy {
  readonly name = 'tls-map';
  constructor(private readonly ctx: AuthContext) {}
  applies(): boolean {
    return this.ctx.users.size > 0;
  }
  authenticate(_c: Credentials, peerCert: X509Certificate | undefined): AuthResult {
    if (!peerCert) return FAIL;
    for (const id of certIdentities(peerCert)) {
      const u = this.ctx.users.get(id) ?? (id.includes('=') ? this.ctx.usersByDn.get(normDn(id)) : undefined);
      if (u && typeAllowed(u.entry.allowedConnectionTypes, this.ctx.connType)) return okFor(u.entry.user, u.entry.account, u.permissions);
    }
    return FAIL;
  }
}

/** A `users` list (any account): user + password, or nothing at all for the `no_auth_user`. */
class UsersStrategy implements AuthStrategy {
  readonly name = 'users';
  constructor(private readonly ctx: AuthContext) {}
  applies(): boolean {
    return this.ctx.users.size > 0;
  }
  authenticate(c: Credentials): AuthResult | Promise<AuthResult> {
    const { users, noAuthUser } = this.ctx;
    let name = c.user;
    if ((name === undefined || name === '') && noAuthUser && !c.auth_token) name = noAuthUser;
    const fail: AuthFailed = { ok: false, log: `authentication error - User ${JSON.stringify(c.user ?? '')}` };
    const u = name !== undefined ? users.get(name) : undefined;
    if (!u) return fail;
    if (!typeAllowed(u.entry.allowedConnectionTypes, this.ctx.connType)) return { ...fail, debug: 'Connection type not allowed' };
    const ok = okFor(u.entry.user, u.entry.account, u.permissions);
    // The no_auth_user default user is accepted without a password.
    if (name === noAuthUser && (c.user === undefined || c.user === '')) return ok;
    if (u.entry.password === undefined) return fail;
    return passed(comparePassword(u.entry.password, c.pass ?? ''), ok, fail);
  }
}

/** `authorization { token }`. */
class TokenStrategy implements AuthStrategy {
  readonly name = 'token';
  constructor(
    private readonly token: string,
    private readonly ctx: AuthContext,
  ) {}
  applies(): boolean {
    return true;
  }
  authenticate(c: Credentials): AuthResult | Promise<AuthResult> {
    return passed(comparePassword(this.token, c.auth_token ?? ''), { ok: true, permissions: this.ctx.defaultPermissions }, FAIL);
  }
}

/** `authorization { user, password }`. */
class SingleUserStrategy implements AuthStrategy {
  readonly name = 'user';
  constructor(
    private readonly user: string,
    private readonly password: string,
    private readonly ctx: AuthContext,
  ) {}
  applies(): boolean {
    return true;
  }
  authenticate(c: Credentials): AuthResult | Promise<AuthResult> {
    if (!safeEqual(this.user, c.user ?? '')) return FAIL;
    return passed(comparePassword(this.password, c.pass ?? ''), { ok: true, user: this.user, permissions: this.ctx.defaultPermissions }, FAIL);
  }
}

/** Operator mode: a user JWT signed by a trusted operator's account (src/server/jwt/, loaded on demand). */
class JwtStrategy implements AuthStrategy {
  readonly name = 'jwt';
  private impl: JwtAuthenticator | Promise<JwtAuthenticator>;
  constructor(op: OperatorOptions, systemAccount: string | undefined) {
    const p = import('./jwt/strategy.js').then((m) => (this.impl = m.jwtAuthenticatorFor(op, systemAccount)));
    p.catch(() => undefined);
    this.impl = p;
  }
  applies(): boolean {
    return true;
  }
  authenticate(c: Credentials): AuthResult | Promise<AuthResult> {
    const j = this.impl;
    // nats-server: with trusted keys every CONNECT needs a user JWT; failures log plain `authentication error`.
    return j instanceof Promise ? j.then((s) => s.authenticate(c)) : j.authenticate(c);
  }
  loaded(): Promise<JwtAuthenticator> {
    return Promise.resolve(this.impl);
  }
}

export class Authenticator {
  /** INFO `auth_required` (false when nothing is configured or `no_auth_user` is set). */
  readonly required: boolean;
  /** Whether any authentication is configured (CONNECT is checked). */
  readonly enabled: boolean;
  /** The auth timeout in ms. */
  readonly timeoutMs: number;
  readonly hasPlaintextPasswords: boolean;
  /** INFO carries a nonce (nkey users are configured, or operator mode). */
  readonly nonceRequired: boolean;
  /** Operator mode: the JWT strategy (the only one then). */
  private readonly jwt: JwtStrategy | undefined;
  /** The kind of connection this authenticator admits (`allowed_connection_types`). */
  readonly connType: ConnectionType;
  /** The mechanisms in the order they are tried (the first that applies decides). */
  readonly strategies: readonly AuthStrategy[];
  private readonly ctx: AuthContext;

  constructor(opts: ServerOptions, connType: ConnectionType = 'STANDARD') {
    const a = opts.authorization;
    this.connType = connType;
    const defaultPermissions = CompiledPermissions.from(a?.defaultPermissions);
    // Users of `accounts {}` entries join the authorization block's (names are unique across both).
    const allUsers = [...(a?.users ?? []), ...(opts.accounts ?? []).flatMap((acc) => acc.users)];
    const allNkeys = [...(a?.nkeys ?? []), ...(opts.accounts ?? []).flatMap((acc) => acc.nkeys ?? [])];
    const ctx: AuthContext = {
      users: new Map(),
      usersByDn: new Map(),
      nkeys: compileNkeys(allNkeys, defaultPermissions),
      noAuthUser: opts.noAuthUser,
      defaultPermissions,
      connType,
    };
    this.ctx = ctx;
    let plaintext = a?.password !== undefined && !isBcrypt(a.password);
    for (const u of allUsers) {
      const cu: CompiledUser = { entry: u, permissions: CompiledPermissions.from(u.permissions) ?? defaultPermissions };
      ctx.users.set(u.user, cu);
      if (u.user.includes('=')) ctx.usersByDn.set(normDn(u.user), cu);
      if (u.password !== undefined && !isBcrypt(u.password)) plaintext = true;
    }
    // A bcrypt password is configured: load bcryptjs now, so the first CONNECT does not wait for it.
    if ([a?.password, a?.token, ...allUsers.map((u) => u.password)].some((p) => p !== undefined && isBcrypt(p))) {
      void import('bcryptjs').catch(() => undefined);
    }
    this.hasPlaintextPasswords = plaintext;
    // nats-server's order: nkey (when the CONNECT has one), TLS map, users, token, single user.
    // Operator mode: every CONNECT needs a user JWT (users and nkeys cannot be configured then).
    const list: AuthStrategy[] = [];
    if (opts.operator) list.push((this.jwt = new JwtStrategy(opts.operator, opts.systemAccount)));
    else this.jwt = undefined;
    if (ctx.nkeys.size > 0) list.push(new NkeyStrategy(ctx));
    if (ctx.users.size > 0) list.push(opts.tls?.verifyAndMap ? new CertMapStrategy(ctx) : new UsersStrategy(ctx));
    else if (a?.token !== undefined) list.push(new TokenStrategy(a.token, ctx));
    else if (a?.user !== undefined) list.push(new SingleUserStrategy(a.user, a.password ?? '', ctx));
    this.strategies = list;
    this.nonceRequired = ctx.nkeys.size > 0 || this.jwt !== undefined;
    this.enabled = list.length > 0;
    this.required = this.jwt !== undefined || (this.enabled && !(opts.noAuthUser && ctx.users.has(opts.noAuthUser)));
    // nats-server: default auth timeout 2 s, or TLS timeout + 1 s when TLS is on.
    this.timeoutMs = a?.timeoutMs ?? (opts.tls ? opts.tls.timeoutMs + 1000 : 2000);
  }

  /**
   * Checks a CONNECT. `peerCert` is the verified client certificate (TLS), used by
   * `verify_and_map`. Returns synchronously unless a bcrypt hash or an nkey signature must be
   * checked.
   */
  authenticate(c: Credentials, peerCert?: X509Certificate): AuthResult | Promise<AuthResult> {
    if (!this.enabled) return { ok: true, permissions: null };
    const s = this.strategies.find((x) => x.applies(c, peerCert));
    // Only nkey users are configured and the CONNECT has no nkey: nothing applies.
    const r = s ? s.authenticate(c, peerCert) : FAIL;
    if (this.ctx.nkeys.size === 0) return r;
    // With nkey users configured, nats-server logs every failure as `- Nkey "<CONNECT nkey>"`.
    const log = `authentication error - Nkey ${JSON.stringify(c.nkey ?? '')}`;
    const relog = (x: AuthResult): AuthResult => (x.ok ? x : x.debug ? { ok: false, log, debug: x.debug } : { ok: false, log });
    return r instanceof Promise ? r.then(relog) : relog(r);
  }

  /**
   * Whether the user or nkey a connection authenticated as is still configured, in the same
   * account (reload; nats-server's clientHasMovedToDifferentAccount).
   */
  stillConfigured(c: Credentials, user: string | undefined, account = '$G'): boolean {
    if (this.jwt !== undefined) return true;
    if (c.nkey) {
      const n = this.ctx.nkeys.get(c.nkey);
      return n !== undefined && (n.account ?? '$G') === account;
    }
    if (user === undefined || user === '') return true;
    // A user name that is not in a `users` list (also the single `user` of an authorization
    // block) counts as moved: nats-server closes such clients on every auth reload.
    const u = this.ctx.users.get(user);
    return u !== undefined && (u.entry.account ?? '$G') === account;
  }

  /** Operator mode: the JWT strategy (loaded on first use). */
  jwtStrategy(): Promise<JwtAuthenticator> | undefined {
    return this.jwt?.loaded();
  }
}
