// Fuzz target: the JWT path of operator mode and the nkey path of a CONNECT (src/config/operator.ts decodeJwt, src/server/jwt/
// claims.ts), what a client sends in CONNECT `jwt` and what an account server answers.
//
// Always checked: decoding throws only plain Errors (the strategy turns them into an
// authorization violation) and never crashes; whatever decodes has a good signature, so a
// mutated token that still decodes carries exactly the claims that were signed; the claim
// conversions (validation, permissions, source networks, time windows, templates) never throw
// on decoded claims. Kinds: `valid` signed user/account JWTs with random claims (exact
// round trip), `mutated` valid tokens, `claims` correctly signed tokens whose JSON has random
// shapes and types, `random` strings.

import { createPrivateKey, sign } from 'node:crypto';
import { createAccount, createOperator, createUser, type KeyPair } from '@nats-io/nkeys';
import { decodeJwt } from '../../../src/config/operator.js';
import {
  applyTemplate,
  decodeAccountClaims,
  decodeUserClaims,
  permissionsFromJwt,
  srcAllowed,
  timesAllowed,
  validateAccount,
  validateUser,
} from '../../../src/server/jwt/claims.js';
import { CompiledPermissions } from '../../../src/server/permissions.js';
import { decodeSig, decodeUserKey, isValidPublicUserKey, newNonce, NkeyVerifier } from '../../../src/server/nkey.js';
import { check, type Kind, type TargetInstance, type TargetOptions } from '../engine.js';
import { mutateBytes, type ByteMutation, type Src } from '../rng.js';

interface Signer {
  pub: string;
  key: ReturnType<typeof createPrivateKey>;
}

function signer(kp: KeyPair): Signer {
  const seed = Buffer.from((kp as KeyPair & { getRawSeed(): Uint8Array }).getRawSeed());
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  return { pub: kp.getPublicKey(), key: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) };
}

const HEADER = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' })).toString('base64url');

function encode(claims: unknown, s: Signer, header = HEADER): string {
  const body = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${body}.${sign(null, Buffer.from(body, 'latin1'), s.key).toString('base64url')}`;
}

const TOK = 'abcdefghijklmnopqrstuvwxyz0123456789_-$';
function token(src: Src): string {
  let s = '';
  const n = 1 + src.int(8);
  for (let i = 0; i < n; i++) s += TOK[src.int(TOK.length)];
  return s;
}
function subject(src: Src): string {
  const n = 1 + src.int(4);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(src.oneIn(8) ? '*' : src.oneIn(10) ? '{{name()}}' : token(src));
  if (src.oneIn(6)) parts.push('>');
  return parts.join('.');
}
function subjects(src: Src): string[] {
  return Array.from({ length: src.int(4) }, () => subject(src));
}
function hhmmss(src: Src): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return src.oneIn(10) ? token(src) : `${p(src.int(24))}:${p(src.int(60))}:${p(src.int(60))}`;
}
function cidr(src: Src): string {
  if (src.oneIn(8)) return token(src);
  if (src.oneIn(4)) return `::${src.int(0xffff).toString(16)}/${src.int(129)}`;
  return `${src.int(256)}.${src.int(256)}.${src.int(256)}.${src.int(256)}/${src.int(33)}`;
}
function ip(src: Src): string {
  return src.oneIn(4) ? `::${src.int(0xffff).toString(16)}` : `${src.int(256)}.${src.int(256)}.${src.int(256)}.${src.int(256)}`;
}

/** Random JSON of any shape (the `claims` kind). */
function anyJson(src: Src, depth = 0): unknown {
  switch (src.int(depth > 2 ? 5 : 7)) {
    case 0:
      return null;
    case 1:
      return src.oneIn(2);
    case 2:
      return src.oneIn(3) ? -1 : src.int(1 << 30) * (src.oneIn(2) ? 1 : -1);
    case 3:
      return token(src);
    case 4:
      return src.oneIn(2) ? subject(src) : '';
    case 5:
      return Array.from({ length: src.int(4) }, () => anyJson(src, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (const k of ['pub', 'sub', 'allow', 'deny', 'resp', 'max', 'ttl', 'src', 'times', 'start', 'end', 'times_location', 'subs', 'payload', 'data', 'limits', 'conn', 'signing_keys', 'revocations', 'exports', 'imports', 'type', 'version', 'kind', 'key', 'template', 'subject', 'account', 'token', 'mappings', 'default_permissions', 'issuer_account', 'bearer_token', 'allowed_connection_types', 'tags']) {
        if (src.oneIn(6)) o[k] = anyJson(src, depth + 1);
      }
      return o;
    }
  }
}

function userNats(src: Src): Record<string, unknown> {
  const n: Record<string, unknown> = { type: 'user', version: 2, subs: src.oneIn(2) ? -1 : src.int(100), payload: src.oneIn(2) ? -1 : src.int(1 << 20), data: -1 };
  if (src.oneIn(2)) n.pub = { allow: subjects(src), deny: subjects(src) };
  if (src.oneIn(2)) n.sub = { allow: subjects(src), deny: subjects(src) };
  if (src.oneIn(4)) n.resp = { max: src.int(10), ttl: src.int(1e10) };
  if (src.oneIn(3)) n.src = Array.from({ length: 1 + src.int(3) }, () => cidr(src));
  if (src.oneIn(3)) n.times = Array.from({ length: 1 + src.int(3) }, () => ({ start: hhmmss(src), end: hhmmss(src) }));
  if (src.oneIn(4)) n.times_location = src.oneIn(2) ? 'UTC' : src.oneIn(2) ? 'Europe/Berlin' : token(src);
  if (src.oneIn(4)) n.bearer_token = true;
  if (src.oneIn(4)) n.allowed_connection_types = src.oneIn(2) ? ['STANDARD'] : [token(src).toUpperCase()];
  if (src.oneIn(4)) n.tags = [`${token(src)}:${token(src)}`];
  return n;
}

export async function create(_opts: TargetOptions): Promise<TargetInstance> {
  const stats: Record<string, number> = {};
  const acc = signer(createAccount());
  const op = signer(createOperator());
  const usr = createUser().getPublicKey();
  const userKp = createUser();
  const userPub = userKp.getPublicKey();
  const accClaims = decodeAccountClaims(encode({ iss: op.pub, sub: acc.pub, iat: 1, name: 'A', nats: { type: 'account', version: 2 } }, op));
  const tally = (k: string): void => void (stats[k] = (stats[k] ?? 0) + 1);

  /** The decode path as the server runs it; returns the claims or undefined (refused). */
  function exercise(jwt: string, src: Src): ReturnType<typeof decodeUserClaims> | undefined {
    let u: ReturnType<typeof decodeUserClaims>;
    try {
      u = decodeUserClaims(jwt);
    } catch (e) {
      check(e instanceof Error && e.constructor === Error, () => `decode threw ${String((e as Error)?.constructor?.name)}: ${String(e)}`);
      tally('refused');
      try {
        decodeAccountClaims(jwt);
      } catch (e2) {
        check(e2 instanceof Error && e2.constructor === Error, () => `account decode threw ${String((e2 as Error)?.constructor?.name)}: ${String(e2)}`);
      }
      return undefined;
    }
    const issue = validateUser(u, 1_700_000_000);
    if (issue) {
      tally('invalid');
      return u;
    }
    tally('accepted');
    srcAllowed(u.src, ip(src));
    timesAllowed(u.times, u.locale, new Date(src.int(2e9) * 1000));
    const p = permissionsFromJwt(u.perms);
    CompiledPermissions.from(p);
    try {
      applyTemplate([...u.perms.pub.allow, ...u.perms.sub.allow], u, accClaims);
    } catch (e) {
      check(e instanceof Error && e.message === 'generated invalid subject', `template threw ${String(e)}`);
    }
    return u;
  }

  const kinds: Kind[] = [
    {
      name: 'valid',
      weight: 3,
      run(src, cur) {
        const nats = userNats(src);
        const claims = { jti: token(src), iat: 1_600_000_000, iss: acc.pub, sub: usr, name: token(src), nats };
        const jwt = encode(claims, acc);
        cur.set(jwt);
        const u = exercise(jwt, src);
        check(u !== undefined, 'a valid signed user JWT was refused by the decoder');
        check(u.subject === usr && u.issuer === acc.pub && u.name === claims.name, 'claims changed');
        check(JSON.stringify(u.perms.pub.allow) === JSON.stringify((nats.pub as { allow?: string[] } | undefined)?.allow ?? []), 'pub allow changed');
        check(u.subs === nats.subs && u.payload === nats.payload, 'limits changed');
        const a = decodeAccountClaims(encode({ iat: 1, iss: op.pub, sub: acc.pub, nats: { type: 'account', version: 2, limits: { conn: src.int(5) - 1 } } }, op));
        validateAccount(a, 1_700_000_000);
      },
    },
    {
      name: 'mutated',
      weight: 3,
      run(src, cur) {
        const claims = { jti: token(src), iat: 1_600_000_000, iss: acc.pub, sub: usr, name: token(src), nats: userNats(src) };
        const base = Buffer.from(encode(claims, acc), 'latin1');
        const m: ByteMutation = { first: base.length, recipe: [] };
        const bytes = mutateBytes(src, base, DICT, 1 + src.int(4), m);
        const jwt = bytes.toString('latin1');
        cur.set(jwt, m.recipe.join(' '));
        const u = exercise(jwt, src);
        if (u && jwt !== base.toString('latin1')) {
          tally('mutated_decoded');
          // Only a change that decodes to the same signed bytes can pass the signature check.
          const signed = decodeJwt(base.toString('latin1'));
          check(JSON.stringify(u.jwt.nats) === JSON.stringify(signed.nats) && u.subject === signed.sub, 'a mutated token decoded to other claims');
        }
      },
    },
    {
      name: 'claims',
      weight: 3,
      run(src, cur) {
        const claims: Record<string, unknown> = { iss: acc.pub, sub: src.oneIn(3) ? anyJson(src) : usr, iat: src.oneIn(4) ? anyJson(src) : 1, nats: anyJson(src) };
        if (src.oneIn(2) && claims.nats && typeof claims.nats === 'object' && !Array.isArray(claims.nats)) {
          Object.assign(claims.nats as object, { type: src.oneIn(4) ? 'account' : 'user', version: src.oneIn(5) ? anyJson(src) : 2 });
        }
        if (src.oneIn(5)) claims.exp = anyJson(src);
        if (src.oneIn(5)) claims.nbf = anyJson(src);
        const header = src.oneIn(6) ? Buffer.from(JSON.stringify(anyJson(src))).toString('base64url') : HEADER;
        const jwt = encode(claims, acc, header);
        cur.set(jwt);
        exercise(jwt, src);
      },
    },
    {
      // The nkey path of a CONNECT: the public key and the nonce signature as a client sends them
      // (mutated or random). Decoding never throws; a signature verifies only unchanged.
      name: 'nkey',
      weight: 2,
      run(src, cur) {
        const nonce = newNonce();
        const sig = Buffer.from(userKp.sign(new TextEncoder().encode(nonce)));
        const good = src.oneIn(2) ? sig.toString('base64url') : sig.toString('base64');
        const m: ByteMutation = { first: 0, recipe: [] };
        const sigText = src.oneIn(4) ? good : mutateBytes(src, Buffer.from(good, 'latin1'), DICT, 1 + src.int(3), m).toString('latin1');
        const keyText = src.oneIn(3) ? mutateBytes(src, Buffer.from(userPub, 'latin1'), DICT, 1 + src.int(2), { first: 0, recipe: [] }).toString('latin1') : userPub;
        cur.set(`${keyText} ${sigText}`, m.recipe.join(' '));
        const valid = isValidPublicUserKey(keyText);
        check(decodeUserKey(keyText) !== undefined === valid, 'isValidPublicUserKey and decodeUserKey disagree');
        const bytes = decodeSig(sigText);
        if (!valid || !bytes) return tally('nkey_refused');
        const ok = new NkeyVerifier(keyText).verify(nonce, bytes);
        if (ok) {
          tally('nkey_verified');
          check(keyText === userPub && bytes.equals(sig), 'a changed key or signature verified');
        }
      },
    },
    {
      name: 'random',
      weight: 1,
      run(src, cur) {
        const parts = Array.from({ length: src.int(5) }, () => (src.oneIn(2) ? src.bytes(src.len(80)).toString('base64url') : src.bytes(src.len(40)).toString('latin1')));
        const jwt = parts.join('.');
        cur.set(jwt);
        exercise(jwt, src);
      },
    },
  ];
  return { kinds, stats, setupNote: 'one account signer, user JWTs signed with node:crypto' };
}

const DICT = ['.', '=', 'eyJ', '-', '_', 'AAAA', '{', '}', '"'].map((s) => Buffer.from(s, 'latin1'));
