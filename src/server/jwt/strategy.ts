// The JWT branch of nats-server 2.9.10's processClientOrLeafAuthentication (auth.go), as an
// authentication strategy: the CONNECT's user JWT is decoded and validated, its account is
// looked up through the resolver (and kept), the account must be signed by a trusted operator
// key, the user by the account or one of its signing keys (scoped keys apply their template),
// the nonce signature is checked (not for bearer tokens), then revocation, source network and
// time window; the result carries the permissions, limits, account and expiry for the client.
// Every refusal is the same ERR_AUTH_VIOLATION to the client; the reason is logged at
// debug level with nats-server's texts (source network and time window at error level).
// Loaded by dynamic import only when operator mode is configured.

import { verify as edVerify, type KeyObject } from 'node:crypto';
import { trustedKeysOf, type OperatorOptions } from '../../config/operator.js';
import type { AuthResult, AuthSession, Credentials } from '../auth.js';
import { decodeSig, nkeyPublicKeyObject, PREFIX_USER } from '../nkey.js';
import { CompiledPermissions } from '../permissions.js';
import {
  applyTemplate,
  connectionTypes,
  decodeAccountClaims,
  decodeUserClaims,
  hasEmptyPermissions,
  isRevoked,
  NO_LIMIT,
  permissionsFromJwt,
  srcAllowed,
  timesAllowed,
  validateAccount,
  validateUser,
  type AccountClaims,
  type JwtPermissions,
  type UserClaims,
} from './claims.js';
import { createResolver, type AccountResolver } from './resolver.js';

/** An account's claims as resolved (the server registers the Account when a user binds to it). */
export class JwtAccount {
  constructor(public claims: AccountClaims) {}
  get name(): string {
    return this.claims.subject;
  }
}

const FAIL = 'authentication error';
const DECODED_MAX = 4096;

function fail(debug: string, error?: string): AuthResult {
  return error ? { ok: false, log: FAIL, debug, error } : { ok: false, log: FAIL, debug };
}

function minLimit(value: number, limit: number): number {
  if (value !== NO_LIMIT) return limit !== NO_LIMIT && limit < value ? limit : value;
  return limit;
}

export interface JwtCredentials extends Credentials {
  /** The client's IP (source network check). */
  host?: string;
  /** STANDARD, WEBSOCKET or LEAFNODE. */
  connType?: string;
}

export class JwtAuthenticator {
  readonly trusted: Set<string>;
  readonly resolver: AccountResolver | undefined;
  private readonly accounts = new Map<string, JwtAccount>();
  private readonly lookups = new Map<string, Promise<JwtAccount>>();
  private readonly pinned: Set<string> | undefined;
  /** Decoded, signature-checked user JWTs by token (bounded, oldest out first). */
  private readonly decoded = new Map<string, UserClaims>();
  /** The users' public keys, ready to verify nonce signatures. */
  private readonly userKeys = new Map<string, KeyObject>();

  constructor(
    readonly op: OperatorOptions,
    systemAccount?: string,
  ) {
    this.trusted = new Set(trustedKeysOf(op));
    this.resolver = createResolver(op);
    if (op.pinnedAccounts && op.pinnedAccounts.length > 0) {
      this.pinned = new Set(op.pinnedAccounts);
      if (systemAccount) this.pinned.add(systemAccount);
    }
  }

  /** Warnings about preloaded account JWTs (nats-server's checkResolvePreloads). */
  preloadWarnings(): string[] {
    const out: string[] = [];
    for (const [k, v] of Object.entries(this.op.resolverPreload)) {
      try {
        const c = decodeAccountClaims(v);
        const issue = validateAccount(c);
        if (issue) out.push(`Account [${k}] has validation issues:`, `  - ${issue}`);
      } catch {
        out.push(`Preloaded account [${k}] not valid`);
      }
    }
    return out;
  }

  /** The account, fetched and registered on first use (nats-server's LookupAccount). */
  lookupAccount(name: string): Promise<JwtAccount> {
    const known = this.accounts.get(name);
    if (known) return Promise.resolve(known);
    let p = this.lookups.get(name);
    if (p) return p;
    if (!this.resolver) return Promise.reject(new Error('no account resolver configured'));
    p = this.resolver
      .fetch(name)
      .then((jwt) => {
        let c: AccountClaims;
        try {
          c = decodeAccountClaims(jwt);
        } catch (e) {
          throw new Error((e as Error).message);
        }
        if (c.subject !== name) throw new Error('account validation failed');
        if (!this.trusted.has(c.issuer) || validateAccount(c)) throw new Error('account validation failed');
        const a = this.accounts.get(name) ?? new JwtAccount(c);
        this.accounts.set(name, a);
        return a;
      })
      .finally(() => this.lookups.delete(name));
    this.lookups.set(name, p);
    return p;
  }

  /** Replaces an account's claims (an update: reload of a MEMORY resolver's preloads). */
  updateAccount(claims: AccountClaims): JwtAccount {
    const a = this.accounts.get(claims.subject);
    if (a) a.claims = claims;
    const n = a ?? new JwtAccount(claims);
    this.accounts.set(claims.subject, n);
    return n;
  }

  /** Forgets an account (removed from the resolver): the next login looks it up again. */
  forgetAccount(name: string): void {
    this.accounts.delete(name);
  }

  /** The accounts registered so far. */
  get registered(): ReadonlyMap<string, JwtAccount> {
    return this.accounts;
  }

  authenticate(c: JwtCredentials): AuthResult | Promise<AuthResult> {
    if (!c.jwt) return fail('Authentication requires a user JWT');
    // A user JWT decoded before (the same .creds file connecting again) is not parsed and its
    // signature not checked again; the time, revocation and other checks below run every time.
    let juc = this.decoded.get(c.jwt);
    if (juc === undefined) {
      try {
        juc = decodeUserClaims(c.jwt);
      } catch (e) {
        return fail(`User JWT not valid: ${(e as Error).message}`);
      }
      if (this.decoded.size >= DECODED_MAX) this.decoded.delete(this.decoded.keys().next().value!);
      this.decoded.set(c.jwt, juc);
    }
    // nats-server validates with a time check: an expired or not yet valid user JWT is refused.
    const nowSec = Math.floor(Date.now() / 1000);
    const issue = validateUser(juc, nowSec);
    if (issue) return fail(`User JWT no longer valid: ${issue}`);
    const { allowed, unknown } = connectionTypes(juc.allowedConnectionTypes);
    if (unknown.length > 0 && allowed.size === 0) return fail(`invalid connection types [${unknown.map((u) => JSON.stringify(u)).join(' ')}]`);
    if (allowed.size > 0 && !allowed.has(c.connType ?? 'STANDARD')) return fail('Connection type not allowed');
    const issuer = juc.issuerAccount !== '' ? juc.issuerAccount : juc.issuer;
    if (this.pinned && !this.pinned.has(issuer)) return fail(`Account ${issuer} not listed as operator pinned account`);
    return this.lookupAccount(issuer).then(
      (acc) => this.finish(c, juc, acc, allowed),
      (e: Error) => fail(`Account JWT lookup error: ${e.message}`),
    );
  }

  private finish(c: JwtCredentials, juc: UserClaims, acc: JwtAccount, allowedTypes: Set<string>): AuthResult | Promise<AuthResult> {
    const ac = acc.claims;
    if (!this.trusted.has(ac.issuer)) return fail('Account JWT not signed by trusted operator');
    let perms: JwtPermissions = juc.perms;
    let subs = juc.subs;
    let payload = juc.payload;
    let src = juc.src;
    let times = juc.times;
    let locale = juc.locale;
    let bearer = juc.bearer;
    if (juc.issuer !== ac.subject) {
      if (!ac.signingKeys.has(juc.issuer)) return fail('User JWT issuer is not known');
      const scope = ac.signingKeys.get(juc.issuer);
      if (scope) {
        if (!hasEmptyPermissions(juc)) return fail('User JWT is not valid: scoped users require no permissions or limits set');
        const t = scope.template;
        try {
          perms = {
            pub: { allow: applyTemplate(t.perms.pub.allow, juc, ac), deny: applyTemplate(t.perms.pub.deny, juc, ac) },
            sub: { allow: applyTemplate(t.perms.sub.allow, juc, ac), deny: applyTemplate(t.perms.sub.deny, juc, ac) },
            resp: t.perms.resp,
          };
        } catch {
          return fail('User JWT generated invalid permissions');
        }
        subs = t.subs;
        payload = t.payload;
        src = t.src;
        times = t.times;
        locale = t.locale;
        bearer = t.bearer;
        if (t.allowedConnectionTypes.length > 0) {
          const ct = connectionTypes(t.allowedConnectionTypes).allowed;
          if (!ct.has(c.connType ?? 'STANDARD')) return fail('Connection type not allowed');
        }
      }
    } else if (juc.issuerAccount !== '' && juc.issuerAccount !== juc.issuer) {
      return fail('User JWT issuer is not known');
    }
    void allowedTypes;
    const nowSec = Math.floor(Date.now() / 1000);
    if (ac.exp > 0 && nowSec > ac.exp) return fail('Account JWT has expired');
    if (bearer && ac.disallowBearer) return fail('Account does not allow bearer token');

    const rest = (): AuthResult => this.admit(c, juc, acc, { perms, subs, payload, src, times, locale, bearer });
    if (bearer) return rest();
    if (!c.sig) return fail('Signature missing');
    const sig = decodeSig(c.sig);
    if (!sig) return fail('Signature not valid base64');
    let key = this.userKeys.get(juc.subject);
    if (!key) {
      key = nkeyPublicKeyObject(juc.subject, PREFIX_USER);
      if (key) {
        if (this.userKeys.size >= DECODED_MAX) this.userKeys.delete(this.userKeys.keys().next().value!);
        this.userKeys.set(juc.subject, key);
      }
    }
    if (!key) return fail('User nkey not valid: invalid public key');
    if (sig.length !== 64) return fail('Signature not verified');
    return new Promise<AuthResult>((resolve) => {
      try {
        edVerify(null, Buffer.from(c.nonce ?? '', 'latin1'), key, sig, (err, ok) => resolve(!err && ok ? rest() : fail('Signature not verified')));
      } catch {
        resolve(fail('Signature not verified'));
      }
    });
  }

  private admit(
    c: JwtCredentials,
    juc: UserClaims,
    acc: JwtAccount,
    eff: { perms: JwtPermissions; subs: number; payload: number; src: string[]; times: { start: string; end: string }[]; locale: string; bearer: boolean },
  ): AuthResult {
    const ac = acc.claims;
    if (isRevoked(ac.revocations, juc.subject, juc.iat)) return fail('User authentication revoked');
    if (!srcAllowed(eff.src, c.host ?? '')) return fail(`Bad src Ip ${c.host ?? ''}`, `Bad src Ip ${c.host ?? ''}`);
    const t = timesAllowed(eff.times, eff.locale);
    if (!t.ok) return fail('Outside connect times', 'Outside connect times');
    // The account connection limit is checked when the client binds to the account (client.ts,
    // from the account's limits), as nats-server's registerWithAccount.
    let p = permissionsFromJwt(eff.perms);
    if (!p && ac.config.defaultPermissions) p = ac.config.defaultPermissions;
    // Expiry: the user JWT's exp or the end of the time window, whichever is first.
    let expiresInMs: number | undefined;
    if (juc.exp === 0) {
      if (t.validForMs !== 0) expiresInMs = t.validForMs;
    } else {
      const nowSec = Date.now() / 1000;
      const at = juc.exp > nowSec ? Math.round((juc.exp - Math.floor(nowSec)) * 1000) : 0;
      expiresInMs = t.validForMs !== 0 && t.validForMs < at ? t.validForMs : at;
    }
    let accountExpiresInMs: number | undefined;
    if (ac.exp > 0) accountExpiresInMs = Math.max(0, ac.exp * 1000 - Date.now());
    const session: AuthSession = {
      accountConfig: ac.config,
      pubKey: juc.subject,
      issuedAt: juc.iat,
      issuerKey: juc.issuerAccount !== '' ? juc.issuer : ac.subject,
      bearer: eff.bearer,
      nameTag: juc.name,
      tags: juc.tags,
      maxPayload: minLimit(eff.payload, ac.payload),
      maxSubs: minLimit(eff.subs, ac.subs),
      expiresInMs,
      accountExpiresInMs,
    };
    return { ok: true, user: juc.subject, account: ac.subject, permissions: CompiledPermissions.from(p), session };
  }
}

/** Strategies by operator options (the client and websocket authenticators share one: the same accounts). */
const strategies = new WeakMap<OperatorOptions, JwtAuthenticator>();

export function jwtAuthenticatorFor(op: OperatorOptions, systemAccount?: string): JwtAuthenticator {
  let s = strategies.get(op);
  if (!s) {
    s = new JwtAuthenticator(op, systemAccount);
    strategies.set(op, s);
  }
  return s;
}
