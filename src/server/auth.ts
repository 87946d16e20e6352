// Client authentication as nats-server does it for a single (global) account:
// token, single user/password, a users list (plain or bcrypt passwords), `no_auth_user`,
// `verify_and_map` (TLS client certificate identity -> user, no password), and nkey users
// (nonce signatures, in nkey-auth.ts).
//
// Plain secrets are compared in constant time (timingSafeEqual over SHA-256 digests, so lengths
// do not leak either); bcrypt hashes (`$2a$`, `$2b$`, `$2x$`, `$2y$`) are checked asynchronously
// with bcryptjs so a slow hash does not stall the event loop (bcryptjs is loaded on the first
// bcrypt check, so a configuration without bcrypt passwords never loads it).

import { createHash, timingSafeEqual, type X509Certificate } from 'node:crypto';
import type { AuthorizationOptions, ServerOptions, UserEntry } from '../config/types.js';
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
}

export interface AuthOk {
  ok: true;
  /** The authenticated user name (absent for token/anonymous). */
  user?: string;
  permissions: CompiledPermissions | null;
  /** The account the user belongs to (absent: the global account `$G`). */
  account?: string;
}

export interface AuthFailed {
  ok: false;
  /** What nats-server logs at error level: `authentication error` [+ ` - User "x"`]. */
  log: string;
  /** Why, at debug level first (nats-server: `Signature missing`, ...). */
  debug?: string;
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

export class Authenticator {
  /** INFO `auth_required` (false when nothing is configured or `no_auth_user` is set). */
  readonly required: boolean;
  /** Whether any authentication is configured (CONNECT is checked). */
  readonly enabled: boolean;
  /** The auth timeout in ms. */
  readonly timeoutMs: number;
  readonly hasPlaintextPasswords: boolean;
  private readonly auth: AuthorizationOptions | undefined;
  private readonly users = new Map<string, CompiledUser>();
  private readonly usersByDn = new Map<string, CompiledUser>();
  private readonly noAuthUser: string | undefined;
  private readonly verifyAndMap: boolean;
  private readonly defaultPermissions: CompiledPermissions | null;
  private readonly nkeys: Map<string, NkeyUser>;
  /** INFO carries a nonce (nkey users are configured). */
  readonly nonceRequired: boolean;

  /** The kind of connection this authenticator admits (`allowed_connection_types`). */
  readonly connType: ConnectionType;

  constructor(opts: ServerOptions, connType: ConnectionType = 'STANDARD') {
    const a = opts.authorization;
    this.auth = a;
    this.connType = connType;
    this.noAuthUser = opts.noAuthUser;
    this.verifyAndMap = !!opts.tls?.verifyAndMap;
    this.defaultPermissions = CompiledPermissions.from(a?.defaultPermissions);
    let plaintext = false;
    // Users of `accounts {}` entries join the authorization block's (names are unique across both).
    const accountUsers = (opts.accounts ?? []).flatMap((acc) => acc.users);
    const accountNkeys = (opts.accounts ?? []).flatMap((acc) => acc.nkeys ?? []);
    for (const u of [...(a?.users ?? []), ...accountUsers]) {
      const cu: CompiledUser = { entry: u, permissions: CompiledPermissions.from(u.permissions) ?? this.defaultPermissions };
      this.users.set(u.user, cu);
      if (u.user.includes('=')) this.usersByDn.set(normDn(u.user), cu);
      if (u.password !== undefined && !isBcrypt(u.password)) plaintext = true;
    }
    if (a?.password !== undefined && !isBcrypt(a.password)) plaintext = true;
    // A bcrypt password is configured: load bcryptjs now, so the first CONNECT does not wait for it.
    if ([a?.password, a?.token, ...[...(a?.users ?? []), ...accountUsers].map((u) => u.password)].some((p) => p !== undefined && isBcrypt(p))) {
      void import('bcryptjs').catch(() => undefined);
    }
    this.hasPlaintextPasswords = plaintext;
    this.nkeys = compileNkeys([...(a?.nkeys ?? []), ...accountNkeys], this.defaultPermissions);
    this.nonceRequired = this.nkeys.size > 0;
    this.enabled = (!!a && (a.token !== undefined || a.user !== undefined)) || this.users.size > 0 || this.nkeys.size > 0;
    this.required = this.enabled && !(this.noAuthUser && this.users.has(this.noAuthUser));
    const tlsTimeout = opts.tls ? opts.tls.timeoutMs : 0;
    // nats-server: default auth timeout 2 s, or TLS timeout + 1 s when TLS is on.
    this.timeoutMs = a?.timeoutMs ?? (opts.tls ? tlsTimeout + 1000 : 2000);
  }

  /**
   * Checks a CONNECT. `peerCert` is the verified client certificate (TLS), used by
   * `verify_and_map`. Returns synchronously unless a bcrypt hash or an nkey signature must be
   * checked.
   */
  authenticate(c: Credentials, peerCert?: X509Certificate): AuthResult | Promise<AuthResult> {
    if (this.nkeys.size === 0) return this.check(c, peerCert);
    // With nkey users configured, nats-server logs every failure as `- Nkey "<CONNECT nkey>"`.
    const log = `authentication error - Nkey ${JSON.stringify(c.nkey ?? '')}`;
    const relog = (r: AuthResult): AuthResult => (r.ok ? r : r.debug ? { ok: false, log, debug: r.debug } : { ok: false, log });
    const r = c.nkey ? checkNkey(this.nkeys, c, this.connType) : this.check(c, peerCert);
    return r instanceof Promise ? r.then(relog) : relog(r);
  }

  /**
   * Whether the user or nkey a connection authenticated as is still configured, in the same
   * account (reload; nats-server's clientHasMovedToDifferentAccount).
   */
  stillConfigured(c: Credentials, user: string | undefined, account = '$G'): boolean {
    if (c.nkey) {
      const n = this.nkeys.get(c.nkey);
      return n !== undefined && (n.account ?? '$G') === account;
    }
    if (user === undefined || user === '') return true;
    // A user name that is not in a `users` list (also the single `user` of an authorization
    // block) counts as moved: nats-server closes such clients on every auth reload.
    const u = this.users.get(user);
    return u !== undefined && (u.entry.account ?? '$G') === account;
  }

  private check(c: Credentials, peerCert?: X509Certificate): AuthResult | Promise<AuthResult> {
    if (!this.enabled) return { ok: true, permissions: null };
    const a = this.auth ?? { users: [] };

    if (this.verifyAndMap && this.users.size > 0) {
      if (!peerCert) return { ok: false, log: 'authentication error' };
      for (const id of certIdentities(peerCert)) {
        const u = this.users.get(id) ?? (id.includes('=') ? this.usersByDn.get(normDn(id)) : undefined);
        if (u && typeAllowed(u.entry.allowedConnectionTypes, this.connType)) return okFor(u.entry.user, u.entry.account, u.permissions);
      }
      return { ok: false, log: 'authentication error' };
    }

    if (this.users.size > 0) {
      let name = c.user;
      if ((name === undefined || name === '') && this.noAuthUser && !c.auth_token) name = this.noAuthUser;
      const fail: AuthFailed = { ok: false, log: `authentication error - User ${JSON.stringify(c.user ?? '')}` };
      const u = name !== undefined ? this.users.get(name) : undefined;
      if (!u) return fail;
      if (!typeAllowed(u.entry.allowedConnectionTypes, this.connType)) return { ...fail, debug: 'Connection type not allowed' };
      const ok = okFor(u.entry.user, u.entry.account, u.permissions);
      // The no_auth_user default user is accepted without a password.
      if (name === this.noAuthUser && (c.user === undefined || c.user === '')) return ok;
      if (u.entry.password === undefined) return fail;
      const r = comparePassword(u.entry.password, c.pass ?? '');
      if (typeof r === 'boolean') return r ? ok : fail;
      return r.then((good) => (good ? ok : fail));
    }

    const fail: AuthFailed = { ok: false, log: 'authentication error' };
    if (a.token !== undefined) {
      const r = comparePassword(a.token, c.auth_token ?? '');
      const ok: AuthOk = { ok: true, permissions: this.defaultPermissions };
      if (typeof r === 'boolean') return r ? ok : fail;
      return r.then((good) => (good ? ok : fail));
    }
    if (a.user !== undefined) {
      if (!safeEqual(a.user, c.user ?? '')) return fail;
      const ok: AuthOk = { ok: true, user: a.user, permissions: this.defaultPermissions };
      const r = comparePassword(a.password ?? '', c.pass ?? '');
      if (typeof r === 'boolean') return r ? ok : fail;
      return r.then((good) => (good ? ok : fail));
    }
    // Only nkey users are configured and the CONNECT has no nkey.
    if (this.nkeys.size > 0) return fail;
    return { ok: true, permissions: null };
  }
}
