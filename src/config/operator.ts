// Operator mode configuration (nats-server 2.9.10 opts.go / jwt.go): `operator` (also `operators`,
// `root_operator(s)`, `root(s)`: a JWT inline or a file, or a list), `trusted_keys`/`trusted`,
// `resolver` (MEMORY, URL(<url>); the directory resolvers answer "not supported yet"),
// `resolver_preload`, `resolver_pinned_accounts`, and the `system_account` default taken from the
// operator JWT. The checks nats-server makes when the server is created (validateTrustedOperators)
// are made here too, so `-t` reports them (nats-server's `-t` does not: a documented difference).
//
// Decoding a JWT (base64url, JSON, Ed25519 signature by the issuer) is here because the
// configuration needs it (nats-server refuses a bad operator JWT or preload as a config error); the
// claim checks, resolvers and the authentication strategy are in src/server/jwt/ and are loaded
// only when operator mode is configured.

import { verify as edVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { nkeyPublicKeyObject, decodePublicKey, PREFIX_ACCOUNT, PREFIX_OPERATOR } from '../server/nkey.js';
import type { Position } from './errors.js';
import type { MapEntry, ConfigNode } from './parser.js';
import { goType } from './parser.js';
import type { ServerOptions } from './types.js';

export interface OperatorOptions {
  /** The operator JWTs (`operator: <jwt or file>` or a list), as read (decoded by src/server/jwt/). */
  operatorJwts: string[];
  /** `trusted_keys` / `trusted`: operator public keys trusted without a JWT. */
  trustedKeys: string[];
  /** `resolver`: MEMORY, URL(<url>), or a full/cache directory resolver. */
  resolver?: { kind: 'memory' } | { kind: 'url'; url: string } | { kind: 'dir'; dir: string; type: 'full' | 'cache'; allowDelete?: boolean; intervalMs?: number; limit?: number };
  /** `resolver_preload { <account public key>: <account jwt> }`. */
  resolverPreload: Record<string, string>;
  /** `resolver_pinned_accounts`: only users of these accounts may connect (the system account always may). */
  pinnedAccounts?: string[];
  /** URL resolver fetch timeout (ms); nats-server: 2 s. */
  fetchTimeoutMs?: number;
  /** `resolver_tls`: CA (to verify the account server) and client certificate for an https URL resolver. */
  resolverTls?: { caFile?: string; certFile?: string; keyFile?: string };
}

// ---- JWT decoding ------------------------------------------------------------------------------

export type JwtKind = 'operator' | 'account' | 'user' | 'activation';

/** A decoded, signature-checked JWT. `nats` holds the kind-specific claims. */
export interface DecodedJwt {
  raw: string;
  /** 1 (`ed25519`, v1 claims) or 2 (`ed25519-nkey`). */
  version: number;
  kind: string;
  jti: string;
  iat: number;
  iss: string;
  sub: string;
  name: string;
  exp: number;
  nbf: number;
  aud: string;
  nats: Record<string, unknown>;
}

const RAW_URL_RE = /^[A-Za-z0-9_-]*$/;

function b64(s: string): Buffer {
  // Go's base64.RawURLEncoding: no padding, URL alphabet.
  if (!RAW_URL_RE.test(s) || s.length % 4 === 1) throw new Error('illegal base64 data');
  return Buffer.from(s, 'base64url');
}

function json(b: Buffer): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(b.toString('utf8'));
  } catch (e) {
    throw new Error(`invalid character in JSON: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('json: cannot unmarshal non-object');
  return v as Record<string, unknown>;
}

function num(o: Record<string, unknown>, k: string): number {
  const v = o[k];
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`json: cannot unmarshal ${typeof v} into field ${k}`);
  return Math.trunc(v);
}

function str(o: Record<string, unknown>, k: string): string {
  const v = o[k];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new Error(`json: cannot unmarshal ${typeof v} into field ${k} of type string`);
  return v;
}

/** Issuer keys seen recently (an account key signs every user JWT of its account). */
const issuerKeys = new Map<string, ReturnType<typeof nkeyPublicKeyObject>>();

function issuerKey(iss: string): ReturnType<typeof nkeyPublicKeyObject> {
  let k = issuerKeys.get(iss);
  if (k === undefined && !issuerKeys.has(iss)) {
    k = nkeyPublicKeyObject(iss);
    if (k) {
      if (issuerKeys.size >= 1024) issuerKeys.delete(issuerKeys.keys().next().value!);
      issuerKeys.set(iss, k);
    }
  }
  return k;
}

/** The issuer prefixes each claim kind allows (jwt/v2 ExpectedPrefixes). */
const ISSUER_PREFIXES: Record<string, number[]> = {
  operator: [PREFIX_OPERATOR],
  account: [PREFIX_OPERATOR],
  user: [PREFIX_ACCOUNT],
  activation: [PREFIX_ACCOUNT, PREFIX_OPERATOR],
};

/**
 * jwt/v2 `Decode`: three chunks, header `typ: JWT` and alg `ed25519`/`ed25519-nkey`, claims JSON,
 * the issuer's Ed25519 signature (v1 over the claims chunk, v2 over header.claims), and the
 * issuer's key kind. Throws with the library's texts. `expect` checks the claim kind.
 */
export function decodeJwt(token: string, expect?: JwtKind): DecodedJwt {
  if (typeof token !== 'string') throw new Error('expected 3 chunks');
  const chunks = token.split('.');
  if (chunks.length !== 3) throw new Error('expected 3 chunks');
  const h = json(b64(chunks[0]!));
  const typ = typeof h.typ === 'string' ? h.typ : '';
  if (typ.toUpperCase() !== 'JWT') throw new Error(`not supported type ${JSON.stringify(typ)}`);
  const alg = (typeof h.alg === 'string' ? h.alg : '').toLowerCase();
  if (alg !== 'ed25519' && alg !== 'ed25519-nkey') throw new Error(`unexpected ${JSON.stringify(h.alg ?? '')} algorithm`);
  const c = json(b64(chunks[1]!));
  const natsV = c.nats;
  if (natsV !== undefined && natsV !== null && (typeof natsV !== 'object' || Array.isArray(natsV))) {
    throw new Error('json: cannot unmarshal nats claims');
  }
  const nats = (natsV ?? {}) as Record<string, unknown>;
  const topType = str(c, 'type');
  const kind = topType !== '' ? topType : str(nats, 'type');
  const version = topType !== '' ? 1 : num(nats, 'version');
  if (version > 2) throw new Error('JWT was generated by a newer version ');
  if (kind === 'cluster') throw new Error('ClusterClaims are not supported');
  if (kind === 'server') throw new Error('ServerClaims are not supported');
  const d: DecodedJwt = {
    raw: token,
    version,
    kind,
    jti: str(c, 'jti'),
    iat: num(c, 'iat'),
    iss: str(c, 'iss'),
    sub: str(c, 'sub'),
    name: str(c, 'name'),
    exp: num(c, 'exp'),
    nbf: num(c, 'nbf'),
    aud: str(c, 'aud'),
    nats,
  };
  const sig = b64(chunks[2]!);
  const key = issuerKey(d.iss);
  const signed = version <= 1 ? chunks[1]! : token.slice(0, chunks[0]!.length + chunks[1]!.length + 1);
  let ok = false;
  if (key && sig.length === 64) {
    try {
      ok = edVerify(null, Buffer.from(signed, 'latin1'), key, sig);
    } catch {
      ok = false;
    }
  }
  if (!ok) throw new Error(`claim failed V${version <= 1 ? 1 : 2} signature verification`);
  const prefixes = ISSUER_PREFIXES[kind];
  if (prefixes && !prefixes.some((p) => decodePublicKey(d.iss, p) !== undefined)) {
    throw new Error(`unable to validate expected prefixes - [${prefixes.map((p) => (p === PREFIX_OPERATOR ? 'operator' : 'account')).join(' ')}]`);
  }
  if (expect && kind !== expect) throw new Error(`not ${expect} claim`);
  return d;
}

/** The parts of an operator JWT the server uses. */
export interface OperatorClaims {
  subject: string;
  name: string;
  signingKeys: string[];
  systemAccount: string;
  accountServerUrl: string;
  strictSigningKeyUsage: boolean;
  assertServerVersion: string;
  exp: number;
}

/** jwt/v2 `DecodeOperatorClaims`. */
export function decodeOperatorClaims(token: string): OperatorClaims {
  const d = decodeJwt(token, 'operator');
  const n = d.nats;
  const sk = Array.isArray(n.signing_keys) ? n.signing_keys : [];
  const signingKeys: string[] = [];
  for (const k of sk) {
    if (typeof k === 'string') signingKeys.push(k);
    else if (k && typeof k === 'object' && typeof (k as { key?: unknown }).key === 'string') signingKeys.push((k as { key: string }).key);
  }
  return {
    subject: d.sub,
    name: d.name,
    signingKeys,
    systemAccount: typeof n.system_account === 'string' ? n.system_account : '',
    accountServerUrl: typeof n.account_server_url === 'string' ? n.account_server_url : '',
    strictSigningKeyUsage: n.strict_signing_key_usage === true,
    assertServerVersion: typeof n.assert_server_version === 'string' ? n.assert_server_version : '',
    exp: d.exp,
  };
}

/** nats-server's jwt.ParseDecoratedJWT: the JWT between `-----BEGIN ... JWT-----` lines, else the trimmed text. */
export function parseDecoratedJwt(text: string): string {
  const m = /-{3,}[^\n]*JWT[^\n]*-{3,}\r?\n([\s\S]*?)\r?\n\s*-{3,}/.exec(text);
  if (m) return m[1]!.trim();
  return text.trim();
}

/** nats-server's readOperatorJWT: a file's contents, else the value itself if it looks like a JWT (`eyJ`). */
export function readOperatorJwt(v: string): { jwt: string; claims: OperatorClaims } {
  let text: string;
  try {
    text = readFileSync(v, 'utf8');
  } catch (e) {
    if (!v.startsWith('eyJ')) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(`open ${v}: ${code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
    }
    text = v;
  }
  const jwt = parseDecoratedJwt(text);
  return { jwt, claims: decodeOperatorClaims(jwt) };
}

// ---- parsing -----------------------------------------------------------------------------------

/** What the parser needs from the option builder (src/config/options.ts). */
export interface OperatorBuilder {
  err(pos: Position | undefined, reason: string): void;
  /** A `tls {}` block (client side: no certificate required). */
  tls(e: MapEntry, kind: 'leafnode_remote'): { caFile?: string; certFile?: string; keyFile?: string } | undefined;
}

/** Parser state across keys (the order of `operator` and `resolver` matters, as in nats-server). */
export interface OperatorParseState {
  opts: OperatorOptions;
  claims: OperatorClaims[];
  resolverFromOperator: boolean;
  at?: Position;
  /** `system_account` as written in the file. */
  systemAccount?: string;
}

export function emptyOperatorState(): OperatorParseState {
  return { opts: { operatorJwts: [], trustedKeys: [], resolverPreload: {} }, claims: [], resolverFromOperator: false };
}

/** The top-level keys this module parses. */
export const OPERATOR_KEYS: ReadonlySet<string> = new Set([
  'operator',
  'operators',
  'roots',
  'root',
  'root_operators',
  'root_operator',
  'resolver',
  'account_resolver',
  'accounts_resolver',
  'resolver_preload',
  'resolver_pinned_accounts',
  'resolver_tls',
  'trusted',
  'trusted_keys',
]);

function strings(b: OperatorBuilder, e: MapEntry, what: string): string[] | undefined {
  const v = e.value;
  if (v.kind === 'string') return [v.value];
  if (v.kind === 'array') {
    const out: string[] = [];
    for (const it of v.items) {
      if (it.kind === 'string') out.push(it.value);
      else b.err(it.pos, `error parsing ${what}: unsupported type in array ${goType(it)}`);
    }
    return out;
  }
  b.err(e.keyPos, `error parsing ${what}: unsupported type ${goType(v)}`);
  return undefined;
}

function goDurMs(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s.trim());
  if (!m) return undefined;
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as Record<string, number>)[m[2]!]!;
}

/** Parses one top-level operator-mode key into `st`. */
export function parseOperatorKey(b: OperatorBuilder, st: OperatorParseState, e: MapEntry): void {
  const k = e.key.toLowerCase();
  const o = st.opts;
  st.at ??= e.keyPos;
  switch (k) {
    case 'operator':
    case 'operators':
    case 'roots':
    case 'root':
    case 'root_operators':
    case 'root_operator': {
      let files: string[] = [];
      // nats-server 2.9.10 takes a string only: a list is `unsupported type []interface {}` there
      // (its []string case is never hit by the config parser); tsnats refuses it the same way.
      if (e.value.kind === 'string') files = [e.value.value];
      else b.err(e.keyPos, `error parsing operators: unsupported type ${goType(e.value)}`);
      o.operatorJwts = [];
      st.claims = [];
      for (const f of files) {
        try {
          const r = readOperatorJwt(f);
          o.operatorJwts.push(r.jwt);
          st.claims.push(r.claims);
        } catch (x) {
          b.err(e.keyPos, `error parsing operator JWT: ${(x as Error).message}`);
        }
      }
      if (st.claims.length === 1) {
        const c = st.claims[0]!;
        if (!o.resolver && c.accountServerUrl !== '') {
          try {
            const u = new URL(c.accountServerUrl.trim());
            o.resolver = { kind: 'url', url: u.toString().replace(/\/$/, '') + '/accounts' };
            st.resolverFromOperator = true;
          } catch {
            // nats-server ignores an unparsable account_server_url here.
          }
        }
      }
      return;
    }
    case 'resolver':
    case 'account_resolver':
    case 'accounts_resolver':
      parseResolver(b, st, e);
      return;
    case 'resolver_preload': {
      const v = e.value;
      if (v.kind !== 'map') {
        b.err(e.keyPos, 'preload should be a map of account_public_key:account_jwt');
        return;
      }
      o.resolverPreload = {};
      for (const f of v.entries) {
        if (f.value.kind !== 'string') {
          b.err(f.keyPos, 'preload map value should be a string JWT');
          continue;
        }
        try {
          decodeJwt(f.value.value, 'account');
        } catch {
          b.err(f.keyPos, 'invalid account JWT');
          continue;
        }
        o.resolverPreload[f.key] = f.value.value;
      }
      return;
    }
    case 'resolver_tls': {
      const t = b.tls(e, 'leafnode_remote');
      if (t) o.resolverTls = { caFile: t.caFile, certFile: t.certFile, keyFile: t.keyFile };
      return;
    }
    case 'resolver_pinned_accounts': {
      const l = strings(b, e, 'resolver_pinned_accounts');
      if (l) o.pinnedAccounts = l;
      return;
    }
    case 'trusted':
    case 'trusted_keys': {
      const l = strings(b, e, 'trusted');
      if (!l) return;
      o.trustedKeys = l;
      for (const key of l) {
        if (!decodePublicKey(key, PREFIX_OPERATOR)) b.err(e.keyPos, `trust key ${JSON.stringify(key)} required to be a valid public operator nkey`);
      }
      return;
    }
  }
}

const RESOLVER_ERR = 'error parsing account resolver, should be MEM or  URL("url") or a map containing dir and type state=[FULL|CACHE])';

function parseResolver(b: OperatorBuilder, st: OperatorParseState, e: MapEntry): void {
  const o = st.opts;
  const v: ConfigNode = e.value;
  if (v.kind === 'string') {
    o.resolver = undefined;
    st.resolverFromOperator = false;
    const s = v.value;
    const url = /(?:URL)(?:\(\s*"?([^\s"]*)"?\s*\))?\s*/i.exec(s);
    if (/(MEM|MEMORY)\s*/i.test(s)) o.resolver = { kind: 'memory' };
    else if (url) {
      const u = (url[1] ?? '').trim();
      if (!/^https?:\/\//i.test(u)) {
        b.err(e.keyPos, `error parsing account resolver url [${JSON.stringify(u)}]: tsnats fetches accounts over http:// or https:// only`);
        return;
      }
      o.resolver = { kind: 'url', url: u };
    }
    if (!o.resolver) b.err(e.keyPos, RESOLVER_ERR);
    return;
  }
  if (v.kind === 'map') {
    let dir = '';
    let type = '';
    let allowDelete = false;
    let intervalMs: number | undefined;
    let limit: number | undefined;
    for (const f of v.entries) {
      const fv = f.value;
      switch (f.key.toLowerCase()) {
        case 'dir':
          if (fv.kind === 'string') dir = fv.value;
          break;
        case 'type':
          if (fv.kind === 'string') type = fv.value;
          break;
        case 'allow_delete':
          if (fv.kind === 'bool') allowDelete = fv.value;
          break;
        case 'limit':
          if (fv.kind === 'integer') limit = fv.value;
          break;
        case 'interval':
        case 'ttl':
        case 'timeout':
          if (fv.kind === 'string') {
            const ms = goDurMs(fv.value);
            if (ms === undefined) {
              b.err(e.keyPos, `time: invalid duration ${JSON.stringify(fv.value)}`);
              return;
            }
            if (f.key.toLowerCase() === 'interval') intervalMs = ms;
            if (f.key.toLowerCase() === 'timeout') o.fetchTimeoutMs = ms;
          }
          break;
      }
    }
    if (dir === '') {
      b.err(e.keyPos, 'dir has no value and needs to point to a directory');
      return;
    }
    const t = type.toUpperCase();
    if (t !== 'FULL' && t !== 'CACHE') {
      b.err(e.keyPos, RESOLVER_ERR);
      return;
    }
    o.resolver = { kind: 'dir', dir, type: t === 'FULL' ? 'full' : 'cache', allowDelete, intervalMs, limit };
    st.resolverFromOperator = false;
    b.err(e.keyPos, `resolver type ${t} (the nats-based directory resolver) is not supported by tsnats yet: use MEMORY with resolver_preload, or URL(...)`);
    return;
  }
  b.err(e.keyPos, `error parsing operator resolver, wrong type ${goType(v)}`);
}

function parseVersion(v: string): [number, number, number] | Error {
  if (v === '') return [0, 0, 0];
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(v);
  if (!m) return new Error(`"${v}" is not a valid version string`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/**
 * The whole-file checks of nats-server's validateTrustedOperators, and the `system_account`
 * default from the operator JWT. Sets `o.operator` when operator mode is configured.
 */
export function finishOperator(b: OperatorBuilder, st: OperatorParseState, o: ServerOptions, serverVersion: string): void {
  const op = st.opts;
  const used = op.operatorJwts.length > 0 || op.trustedKeys.length > 0 || op.resolver !== undefined || Object.keys(op.resolverPreload).length > 0;
  if (!used) return;
  o.operator = op;
  const at = undefined; // nats-server reports these without a position (at server creation)
  if (st.claims.length === 1 && (o.systemAccount === undefined || o.systemAccount === '') && st.claims[0]!.systemAccount !== '') {
    o.systemAccount = st.claims[0]!.systemAccount;
  }
  if (op.resolver?.kind === 'url' && Object.keys(op.resolverPreload).length > 0) {
    return b.err(at, 'resolver preloads only available for writeable resolver types MEM/DIR/CACHE_DIR');
  }
  if (st.claims.length === 0) return;
  if (!op.resolver) return b.err(at, 'operators require an account resolver to be configured');
  if ((o.accounts?.length ?? 0) > 0) return b.err(at, 'operators do not allow Accounts to be configured directly');
  if ((o.authorization?.users.length ?? 0) > 0 || (o.authorization?.nkeys?.length ?? 0) > 0) {
    return b.err(at, 'operators do not allow users to be configured directly');
  }
  if (op.trustedKeys.length > 0) return b.err(at, "conflicting options for 'TrustedKeys' and 'TrustedOperators'");
  if (o.systemAccount !== undefined && o.systemAccount !== '' && st.systemAccount !== undefined) {
    const nonEmpty = st.claims.some((c) => c.systemAccount !== '');
    if (nonEmpty && !st.claims.some((c) => c.systemAccount === o.systemAccount)) {
      return b.err(at, 'system_account in config and operator JWT must be identical');
    }
  }
  const sv = parseVersion(serverVersion) as [number, number, number];
  for (const c of st.claims) {
    const v = parseVersion(c.assertServerVersion);
    if (v instanceof Error) return b.err(at, `operator ${c.subject} expects version ${c.assertServerVersion} got error instead: ${v.message}`);
    const names = ['major', 'minor', 'update'];
    for (let i = 0; i < 3; i++) {
      if (v[i]! > sv[i]!) return b.err(at, `operator ${c.subject} expected ${names[i]} version ${v[i]} > server ${names[i]} version ${sv[i]}`);
      if (sv[i]! > v[i]!) break;
    }
  }
  for (const key of op.pinnedAccounts ?? []) {
    if (!decodePublicKey(key, PREFIX_ACCOUNT)) return b.err(at, `pinned account key ${JSON.stringify(key)} is not a valid public account nkey`);
  }
}

/** The keys trusted to sign accounts: each operator (unless strict) and its signing keys, or `trusted_keys`. */
export function trustedKeysOf(op: OperatorOptions): string[] {
  const keys = [...op.trustedKeys];
  for (const j of op.operatorJwts) {
    const c = decodeOperatorClaims(j);
    if (!c.strictSigningKeyUsage) keys.push(c.subject);
    keys.push(...c.signingKeys);
  }
  return keys;
}
