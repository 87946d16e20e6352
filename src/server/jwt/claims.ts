// User, account and activation claims (nats-io/jwt v2) as tsnats structures, with the checks
// nats-server 2.9.10 makes: validation (expiry, not-before, src CIDRs, time windows, locale),
// signing keys with user scopes, revocations, and the conversion of claims to permissions and
// limits. Missing numeric limits are 0, as Go's JSON decoding leaves them (nsc and @nats-io/jwt
// write -1 for "no limit"); tsnats applies them as nats-server does.

import { subjectIsSubsetOf } from '../subjects.js';
import { BlockList, isIP } from 'node:net';
import { decodeJwt, type DecodedJwt } from '../../config/operator.js';
import type { AccountConfig, ExportEntry, ImportEntry, Permissions, SubjectPermission } from '../../config/types.js';
import { decodePublicKey, PREFIX_ACCOUNT, PREFIX_USER } from '../nkey.js';

export const NO_LIMIT = -1;

/** Connection types a user JWT may allow (nats-server 2.9.10's convertAllowedConnectionTypes). */
const KNOWN_CONN_TYPES = new Set(['STANDARD', 'WEBSOCKET', 'LEAFNODE', 'LEAFNODE_WS', 'MQTT', 'MQTT_WS']);

export interface TimeRange {
  start: string;
  end: string;
}

export interface UserClaims {
  jwt: DecodedJwt;
  subject: string;
  issuer: string;
  issuerAccount: string;
  name: string;
  tags: string[];
  iat: number;
  exp: number;
  nbf: number;
  bearer: boolean;
  allowedConnectionTypes: string[];
  src: string[];
  times: TimeRange[];
  locale: string;
  subs: number;
  payload: number;
  data: number;
  /** The jwt permission block as in the claims (pub/sub/resp). */
  perms: JwtPermissions;
}

export interface JwtPermissions {
  pub: { allow: string[]; deny: string[] };
  sub: { allow: string[]; deny: string[] };
  resp?: { max: number; ttl: number };
}

export interface UserScope {
  key: string;
  role: string;
  template: {
    perms: JwtPermissions;
    subs: number;
    payload: number;
    data: number;
    src: string[];
    times: TimeRange[];
    locale: string;
    bearer: boolean;
    allowedConnectionTypes: string[];
  };
}

export interface AccountClaims {
  jwt: DecodedJwt;
  subject: string;
  issuer: string;
  name: string;
  tags: string[];
  iat: number;
  exp: number;
  /** Signing keys: null for a plain key, the scope for a user_scope key. */
  signingKeys: Map<string, UserScope | null>;
  revocations: Map<string, number>;
  conn: number;
  leaf: number;
  subs: number;
  payload: number;
  data: number;
  disallowBearer: boolean;
  defaultPermissions: JwtPermissions | undefined;
  config: AccountConfig;
}

function asObj(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function strList(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  // jwt v1 wrote src as a comma separated string.
  if (typeof v === 'string' && v !== '') return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return [];
}

function int(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0;
}

function perms(v: unknown): JwtPermissions {
  const o = asObj(v);
  const pub = asObj(o.pub);
  const sub = asObj(o.sub);
  const p: JwtPermissions = { pub: { allow: strList(pub.allow), deny: strList(pub.deny) }, sub: { allow: strList(sub.allow), deny: strList(sub.deny) } };
  if (o.resp !== undefined && o.resp !== null) {
    const r = asObj(o.resp);
    p.resp = { max: int(r.max), ttl: int(r.ttl) };
  }
  return p;
}

/** jwt/v2 ClaimsData.Validate: the time checks. */
export function timeCheck(exp: number, nbf: number, nowSec = Math.floor(Date.now() / 1000)): string | undefined {
  if (exp > 0 && nowSec > exp) return 'claim is expired';
  if (nbf > 0 && nbf > nowSec) return 'claim is not yet valid';
  return undefined;
}

const TIME_RE = /^([01]\d|2[0-3]):([0-5]\d):([0-5]\d)$/;

function validLocale(l: string): boolean {
  if (l === '' || l === 'Local' || l === 'UTC') return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: l });
    return true;
  } catch {
    return false;
  }
}

function validCidr(c: string): boolean {
  const i = c.indexOf('/');
  if (i < 0) return false;
  const ip = c.slice(0, i);
  const bits = c.slice(i + 1);
  const fam = isIP(ip);
  if (fam === 0 || !/^\d+$/.test(bits)) return false;
  return Number(bits) <= (fam === 4 ? 32 : 128);
}

/** jwt/v2 `DecodeUserClaims` (throws) — signature, kind, issuer prefix. */
export function decodeUserClaims(token: string): UserClaims {
  const d = decodeJwt(token, 'user');
  const n = d.nats;
  return {
    jwt: d,
    subject: d.sub,
    issuer: d.iss,
    issuerAccount: typeof n.issuer_account === 'string' ? n.issuer_account : '',
    name: d.name,
    tags: strList(n.tags),
    iat: d.iat,
    exp: d.exp,
    nbf: d.nbf,
    bearer: n.bearer_token === true,
    allowedConnectionTypes: strList(n.allowed_connection_types),
    src: strList(n.src),
    times: Array.isArray(n.times) ? n.times.map((t) => ({ start: String(asObj(t).start ?? ''), end: String(asObj(t).end ?? '') })) : [],
    locale: typeof n.times_location === 'string' ? n.times_location : '',
    subs: d.version <= 1 && n.subs === undefined ? NO_LIMIT : int(n.subs),
    payload: d.version <= 1 && n.payload === undefined ? NO_LIMIT : int(n.payload),
    data: d.version <= 1 && n.data === undefined ? NO_LIMIT : int(n.data),
    perms: perms(n),
  };
}

/** jwt/v2 UserClaims.Validate, the blocking results (time checks included). Undefined when valid. */
export function validateUser(u: UserClaims, nowSec?: number): string | undefined {
  const t = timeCheck(u.exp, u.nbf, nowSec);
  if (t) return t;
  if (!decodePublicKey(u.subject, PREFIX_USER)) return `${JSON.stringify(u.subject)} is not a valid user public key`;
  if (u.issuerAccount !== '' && !decodePublicKey(u.issuerAccount, PREFIX_ACCOUNT)) return 'account_id is not an account public key';
  for (const c of u.src) if (!validCidr(c)) return `invalid cidr ${JSON.stringify(c)}`;
  for (const r of u.times) {
    if (!TIME_RE.test(r.start)) return `time ${JSON.stringify(r.start)} is not a valid time`;
    if (!TIME_RE.test(r.end)) return `time ${JSON.stringify(r.end)} is not a valid time`;
  }
  if (!validLocale(u.locale)) return `could not parse time location ${JSON.stringify(u.locale)}`;
  return undefined;
}

/** Whether the user claims set no permissions or limits at all: every field its zero value (jwt/v2 HasEmptyPermissions). */
export function hasEmptyPermissions(u: UserClaims): boolean {
  const p = u.perms;
  return (
    p.pub.allow.length === 0 &&
    p.pub.deny.length === 0 &&
    p.sub.allow.length === 0 &&
    p.sub.deny.length === 0 &&
    p.resp === undefined &&
    u.subs === 0 &&
    u.payload === 0 &&
    u.data === 0 &&
    u.src.length === 0 &&
    u.times.length === 0 &&
    u.locale === '' &&
    !u.bearer &&
    u.allowedConnectionTypes.length === 0
  );
}

/** Allowed connection types: the known ones, and the unknown ones (an error at debug level). */
export function connectionTypes(list: string[]): { allowed: Set<string>; unknown: string[] } {
  const allowed = new Set<string>();
  const unknown: string[] = [];
  for (const t of list) {
    const u = t.toUpperCase();
    if (KNOWN_CONN_TYPES.has(u)) allowed.add(u);
    else unknown.push(u);
  }
  return { allowed, unknown };
}

/** nats-server validateSrc: no list allows all; otherwise the client's IP must be in one range. */
export function srcAllowed(src: string[], host: string): boolean {
  if (src.length === 0) return true;
  const fam = isIP(host);
  if (fam === 0) return false;
  for (const c of src) {
    const i = c.indexOf('/');
    const net = c.slice(0, i);
    const bits = Number(c.slice(i + 1));
    const nf = isIP(net);
    if (nf === 0) return false;
    try {
      const bl = new BlockList();
      bl.addSubnet(net, bits, nf === 4 ? 'ipv4' : 'ipv6');
      if (bl.check(host, fam === 4 ? 'ipv4' : 'ipv6')) return true;
    } catch {
      return false;
    }
  }
  return false;
}

/** Wall-clock seconds of the day in a zone ('' = the server's local time). */
function secondsOfDay(now: Date, locale: string): number {
  if (locale === '' || locale === 'Local') return now.getHours() * 3600 + now.getMinutes() * 60 + now.getSeconds() + now.getMilliseconds() / 1000;
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: locale, hour12: false, hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(now);
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value ?? 0) % 24;
  const h = get('hour');
  const m = Number(parts.find((p) => p.type === 'minute')?.value ?? 0);
  const s = Number(parts.find((p) => p.type === 'second')?.value ?? 0);
  return h * 3600 + m * 60 + s + now.getMilliseconds() / 1000;
}

function hms(s: string): number {
  const m = TIME_RE.exec(s)!;
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

/**
 * nats-server validateTimes: whether now is inside one of the windows, and for how long (ms) it
 * stays so. A window whose start is after its end ends the next day; as in nats-server, only the
 * part from the start today counts (the early-morning part of yesterday's window does not).
 */
export function timesAllowed(times: TimeRange[], locale: string, now = new Date()): { ok: boolean; validForMs: number } {
  if (times.length === 0) return { ok: true, validForMs: 0 };
  const cur = secondsOfDay(now, locale);
  for (const r of times) {
    if (!TIME_RE.test(r.start) || !TIME_RE.test(r.end)) return { ok: false, validForMs: 0 };
    const start = hms(r.start);
    let end = hms(r.end);
    if (start > end) end += 86400;
    if (start < cur && end > cur) return { ok: true, validForMs: Math.round((end - cur) * 1000) };
  }
  return { ok: false, validForMs: 0 };
}

function scopeOf(v: unknown): { key: string; scope: UserScope | null } | undefined {
  if (typeof v === 'string') return { key: v, scope: null };
  const o = asObj(v);
  if (typeof o.key !== 'string') return undefined;
  if (o.kind !== 'user_scope') return { key: o.key, scope: null };
  const t = asObj(o.template);
  return {
    key: o.key,
    scope: {
      key: o.key,
      role: typeof o.role === 'string' ? o.role : '',
      template: {
        perms: perms(t),
        subs: int(t.subs),
        payload: int(t.payload),
        data: int(t.data),
        src: strList(t.src),
        times: Array.isArray(t.times) ? t.times.map((x) => ({ start: String(asObj(x).start ?? ''), end: String(asObj(x).end ?? '') })) : [],
        locale: typeof t.times_location === 'string' ? t.times_location : '',
        bearer: t.bearer_token === true,
        allowedConnectionTypes: strList(t.allowed_connection_types),
      },
    },
  };
}

function subjectPermission(p: { allow: string[]; deny: string[] }): SubjectPermission | undefined {
  return p.allow.length > 0 || p.deny.length > 0 ? { allow: [...p.allow], deny: [...p.deny] } : undefined;
}

/** nats-server buildPermissionsFromJwt: undefined when the claims set nothing. */
export function permissionsFromJwt(p: JwtPermissions | undefined): Permissions | undefined {
  if (!p) return undefined;
  const out: Permissions = {};
  let any = false;
  const pub = subjectPermission(p.pub);
  const sub = subjectPermission(p.sub);
  if (pub) (out.publish = pub), (any = true);
  if (sub) (out.subscribe = sub), (any = true);
  if (p.resp) {
    // validateResponsePermissions: 0 → 1 message, 0 → 2 minutes; a publish allow list gets `>` denied... (nats-server
    // adds an empty allow list when there is none, so only replies may be published).
    out.allowResponses = { max: p.resp.max === 0 ? 1 : p.resp.max, expiresMs: p.resp.ttl === 0 ? 120_000 : Math.round(p.resp.ttl / 1e6) };
    any = true;
  }
  return any ? out : undefined;
}

function exportsOf(v: unknown): ExportEntry[] {
  if (!Array.isArray(v)) return [];
  const out: ExportEntry[] = [];
  for (const x of v) {
    const e = asObj(x);
    if (typeof e.subject !== 'string') continue;
    const kind = e.type === 'service' ? 'service' : 'stream';
    const ex: ExportEntry = { kind, subject: e.subject };
    if (e.token_req === true) ex.accounts = [];
    if (kind === 'service') {
      const rt = e.response_type;
      ex.responseType = rt === 'Stream' || rt === 'Chunked' ? rt : 'Singleton';
      if (typeof e.response_threshold === 'number' && e.response_threshold > 0) ex.responseThresholdMs = Math.round(e.response_threshold / 1e6);
      const lat = asObj(e.service_latency);
      if (typeof lat.results === 'string') {
        const s = lat.sampling === 'headers' ? 0 : Number.parseInt(String(lat.sampling ?? '100'), 10);
        ex.latency = { sampling: Number.isFinite(s) ? s : 100, subject: lat.results };
      }
    }
    if (typeof e.account_token_position === 'number' && e.account_token_position > 0) ex.accountTokenPosition = e.account_token_position;
    out.push(ex);
  }
  return out;
}

function importsOf(v: unknown): ImportEntry[] {
  if (!Array.isArray(v)) return [];
  const out: ImportEntry[] = [];
  for (const x of v) {
    const e = asObj(x);
    if (typeof e.subject !== 'string' || typeof e.account !== 'string') continue;
    const kind = e.type === 'service' ? 'service' : 'stream';
    const im: ImportEntry = { kind, account: e.account, subject: e.subject };
    // v2: `local_subject` (stream: the local subject; service: what clients publish to); v1: `to`.
    const local = typeof e.local_subject === 'string' && e.local_subject !== '' ? e.local_subject : undefined;
    const to = typeof e.to === 'string' && e.to !== '' ? e.to : undefined;
    if (kind === 'service') {
      if (local ?? to) im.to = local ?? to;
    } else if (local) im.to = local;
    else if (to) im.prefix = to;
    if (e.share === true) im.share = true;
    if (typeof e.token === 'string' && e.token !== '') im.token = e.token;
    out.push(im);
  }
  return out;
}

/** jwt/v2 `DecodeAccountClaims` and the parts of updateAccountClaims tsnats applies. */
export function decodeAccountClaims(token: string): AccountClaims {
  const d = decodeJwt(token, 'account');
  const n = d.nats;
  const limits = asObj(n.limits);
  const signingKeys = new Map<string, UserScope | null>();
  const sk = n.signing_keys;
  if (Array.isArray(sk)) {
    for (const v of sk) {
      const s = scopeOf(v);
      if (s) signingKeys.set(s.key, s.scope);
    }
  } else if (sk && typeof sk === 'object') {
    for (const [k, v] of Object.entries(sk)) {
      const s = scopeOf(v ?? k);
      if (s) signingKeys.set(k, s.scope);
    }
  }
  const revocations = new Map<string, number>();
  for (const [k, v] of Object.entries(asObj(n.revocations))) if (typeof v === 'number') revocations.set(k, v);
  const defaultPermissions = n.default_permissions !== undefined ? perms(n.default_permissions) : undefined;
  const conn = int(limits.conn);
  const leaf = int(limits.leaf);
  const subs = int(limits.subs);
  const payload = int(limits.payload);
  const mem = int(limits.mem_storage);
  const disk = int(limits.disk_storage);
  const config: AccountConfig = {
    name: d.sub,
    nkey: d.sub,
    users: [],
    exports: exportsOf(n.exports),
    imports: importsOf(n.imports),
    limits: { maxConnections: conn, maxLeafnodes: leaf, maxSubscriptions: subs, maxPayload: payload },
  };
  if (mem !== 0 || disk !== 0) {
    config.jetstream = { maxMemory: mem, maxStore: disk, maxStreams: int(limits.streams), maxConsumers: int(limits.consumer) };
  }
  const dp = permissionsFromJwt(defaultPermissions);
  if (dp) config.defaultPermissions = dp;
  const mappings = asObj(n.mappings);
  const simple: { source: string; destination: string }[] = [];
  for (const [src, dests] of Object.entries(mappings)) {
    if (Array.isArray(dests) && dests.length === 1) {
      const m = asObj(dests[0]);
      if (typeof m.subject === 'string' && (m.weight === undefined || m.weight === 100) && m.cluster === undefined) simple.push({ source: src, destination: m.subject });
    }
  }
  if (simple.length > 0) config.mappings = simple;
  return {
    jwt: d,
    subject: d.sub,
    issuer: d.iss,
    name: d.name,
    tags: strList(n.tags),
    iat: d.iat,
    exp: d.exp,
    signingKeys,
    revocations,
    conn,
    leaf,
    subs,
    payload,
    data: int(limits.data),
    disallowBearer: limits.disallow_bearer === true,
    defaultPermissions,
    config,
  };
}

/** jwt/v2 AccountClaims.Validate (the blocking part tsnats checks). */
export function validateAccount(a: AccountClaims, nowSec?: number): string | undefined {
  const t = timeCheck(a.exp, a.jwt.nbf, nowSec);
  if (t) return t;
  if (!decodePublicKey(a.subject, PREFIX_ACCOUNT)) return `${JSON.stringify(a.subject)} is not a valid account public key`;
  for (const i of a.config.imports) if (i.token) {
    const issue = importTokenIssue(i, a.subject);
    if (issue) return issue;
  }
  return undefined;
}

/**
 * nats-io/jwt's Import.Validate for an import's activation token (blocking issues make the whole
 * account JWT invalid, as in nats-server): decodable and signed, issued by the import's account
 * (or with it as `issuer_account`), to the account it is included in, of the import's kind,
 * covering the import's subject. The token's own expiry is not checked here (checkActivation).
 */
function importTokenIssue(i: ImportEntry, account: string): string | undefined {
  let d: DecodedJwt;
  try {
    d = decodeJwt(i.token!, 'activation');
  } catch {
    return `import ${JSON.stringify(i.subject)} contains an invalid activation token`;
  }
  const n = d.nats;
  const issuerAccount = typeof n.issuer_account === 'string' ? n.issuer_account : '';
  if (d.iss !== i.account && issuerAccount !== i.account) return `activation token doesn't match account for import ${JSON.stringify(i.subject)}`;
  if (d.sub !== account) return `activation token doesn't match account it is being included in, ${JSON.stringify(i.subject)}`;
  const kind = typeof n.kind === 'string' ? n.kind : typeof n.type === 'string' ? n.type : '';
  if (kind !== i.kind) return `mismatch between token import type ${kind} and type of import ${i.kind}`;
  const subject = typeof n.subject === 'string' ? n.subject : '';
  if (!subjectIsSubsetOf(i.subject, subject)) return `activation token import subject ${JSON.stringify(subject)} doesn't match import ${JSON.stringify(i.subject)}`;
  return undefined;
}

/** nats-server isRevoked: revoked when the subject's (or `*`'s) revocation time is at or after issued-at. */
export function isRevoked(revocations: Map<string, number>, subject: string, issuedAt: number): boolean {
  if (revocations.size === 0) return false;
  const t = revocations.get(subject);
  if (t !== undefined && t >= issuedAt) return true;
  const all = revocations.get('*');
  return all !== undefined && all >= issuedAt;
}

/**
 * The plain template forms of a scoped signing key: `{{name()}}`, `{{subject()}}`,
 * `{{account-name()}}`, `{{account-subject()}}`, `{{tag(x)}}` (one value). Throws on others.
 */
export function applyTemplate(subjects: string[], u: UserClaims, acc: AccountClaims): string[] {
  const out: string[] = [];
  for (const s of subjects) {
    if (!s.includes('{{')) {
      out.push(s);
      continue;
    }
    let failed = false;
    const r = s.replace(/\{\{\s*([a-z-]+)\(([^)]*)\)\s*\}\}/gi, (_m, fn: string, arg: string) => {
      switch (fn.toLowerCase()) {
        case 'name':
          return u.name;
        case 'subject':
          return u.subject;
        case 'account-name':
          return acc.name;
        case 'account-subject':
          return acc.subject;
        case 'tag': {
          const want = arg.trim().toLowerCase() + ':';
          const vals = u.tags.filter((t) => t.toLowerCase().startsWith(want)).map((t) => t.slice(want.length));
          if (vals.length !== 1) failed = true;
          return vals[0] ?? '';
        }
        default:
          failed = true;
          return '';
      }
    });
    if (failed || r.includes('{{') || r === '') throw new Error('generated invalid subject');
    out.push(r);
  }
  return out;
}

/**
 * nats-server's checkActivation for an import that carries an activation token: the token is an
 * activation JWT issued by the exporting account (or one of its signing keys, with
 * `issuer_account` naming it), for the importing account (`sub`), of the import's kind, covering
 * the imported subject, valid now. Returns when it expires (0: never), or undefined when invalid.
 */
export function checkActivation(
  token: string,
  exporter: AccountClaims,
  importer: string,
  imp: { kind: 'stream' | 'service'; subject: string },
  nowSec = Math.floor(Date.now() / 1000),
): { expiresAt: number } | undefined {
  let d: DecodedJwt;
  try {
    d = decodeJwt(token, 'activation');
  } catch {
    return undefined;
  }
  const n = d.nats;
  const issuerAccount = typeof n.issuer_account === 'string' ? n.issuer_account : '';
  if (issuerAccount !== '') {
    if (issuerAccount !== exporter.subject || !exporter.signingKeys.has(d.iss)) return undefined;
  } else if (d.iss !== exporter.subject) return undefined;
  if (d.sub !== importer) return undefined;
  if (timeCheck(d.exp, d.nbf, nowSec)) return undefined;
  if (d.exp !== 0 && d.exp <= nowSec) return undefined;
  const kind = typeof n.kind === 'string' ? n.kind : '';
  if (kind !== '' && kind !== imp.kind) return undefined;
  const subject = typeof n.subject === 'string' ? n.subject : '';
  if (subject === '' || !subjectIsSubsetOf(imp.subject, subject)) return undefined;
  if (isRevoked(exporter.revocations, d.sub, d.iat)) return undefined;
  return { expiresAt: d.exp };
}
