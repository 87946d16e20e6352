// Operator mode configuration compared with nats-server 2.9.10: `-t` on the keys nats-server
// checks while parsing (operator JWT inline or in a file, bad JWTs, resolver forms, preload
// values, trusted keys) — same verdict and, for refusals, the same reason on the same line — and
// the checks nats-server makes when the server is created (resolver missing, accounts/users
// next to an operator, conflicting trusted keys, system account mismatch, URL resolver with
// preloads): tsnats refuses the same configurations with the same text (it reports them at
// load, so also with -t: documented in docs/accounts.md).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAccount, createOperator, createUser } from '@nats-io/nkeys';
import { ConfigError, loadConfigFile } from '../../src/config/index.js';
import { decodeJwt } from '../../src/config/operator.js';
import { NATS_SERVER, SKIP_NATS_SERVER, startNatsServer, startTsnats } from '../wire/harness.js';
import { account, operator, user, type Acc, type Op } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'tsnats-jwt-conf-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

function write(conf: string, name = `c${n++}.conf`): string {
  const f = join(root, name);
  writeFileSync(f, conf);
  return f;
}

interface Outcome {
  ok: boolean;
  reasons: { line: number; reason: string }[];
  text: string;
}

function natsT(file: string): Outcome {
  const r = spawnSync(NATS_SERVER!, ['-t', '-c', file], { encoding: 'utf8', timeout: 15000 });
  const text = `${r.stdout}${r.stderr}`.trim();
  const reasons = [...text.matchAll(/:(\d+):(\d+): (.*)$/gm)].map((m) => ({ line: Number(m[1]), reason: m[3]! }));
  return { ok: r.status === 0, reasons, text };
}

function tsnatsT(file: string): Outcome {
  try {
    loadConfigFile(file);
    return { ok: true, reasons: [], text: 'valid' };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { ok: false, reasons: e.errors.map((x) => ({ line: x.line, reason: x.reason })), text: e.message };
  }
}

let op: Op;
let a: Acc;
let opFile: string;

before(async () => {
  op = await operator();
  a = await account(op.kp);
  opFile = write(`-----BEGIN NATS OPERATOR JWT-----\n${op.jwt}\n------END NATS OPERATOR JWT------\n`, 'op.jwt');
});

describe('operator mode configuration: nats-server -t vs tsnats', { skip: SKIP_NATS_SERVER }, () => {
  const cases: Array<{ name: string; conf: () => string; ok: boolean; prefix?: boolean }> = [
    { name: 'inline operator, MEMORY, preload', conf: () => `operator: "${op.jwt}"\nresolver: MEMORY\nresolver_preload {\n  ${a.pub}: "${a.jwt}"\n}\n`, ok: true },
    { name: 'operator in a decorated file', conf: () => `operator: "${opFile}"\nresolver: MEM\n`, ok: true },
    { name: 'operators list (2.9.10 takes one string only)', conf: () => `operators: ["${opFile}"]\nresolver: MEMORY\n`, ok: false },
    { name: 'URL resolver', conf: () => `operator: "${op.jwt}"\nresolver: URL(http://127.0.0.1:9/jwt/v1/accounts/)\n`, ok: true },
    { name: 'a missing operator file', conf: () => `resolver: MEMORY\noperator: "/nonexistent/op.jwt"\n`, ok: false },
    { name: 'an account JWT as operator', conf: () => `resolver: MEMORY\noperator: "${a.jwt}"\n`, ok: false },
    { name: 'a tampered operator JWT', conf: () => `resolver: MEMORY\noperator: "${op.jwt.slice(0, -4)}AAAA"\n`, ok: false, prefix: true },
    { name: 'an unknown resolver', conf: () => `operator: "${op.jwt}"\nresolver: FOO\n`, ok: false },
    { name: 'resolver of the wrong type', conf: () => `operator: "${op.jwt}"\nresolver: 42\n`, ok: false },
    { name: 'directory resolver without dir', conf: () => `operator: "${op.jwt}"\nresolver {\n  type: full\n}\n`, ok: false },
    { name: 'preload not a map', conf: () => `operator: "${op.jwt}"\nresolver: MEMORY\nresolver_preload: 1\n`, ok: false },
    { name: 'preload value not a string', conf: () => `operator: "${op.jwt}"\nresolver: MEMORY\nresolver_preload {\n  ${a.pub}: 1\n}\n`, ok: false },
    { name: 'preload value not an account JWT', conf: () => `operator: "${op.jwt}"\nresolver: MEMORY\nresolver_preload {\n  ${a.pub}: "${op.jwt}"\n}\n`, ok: false },
    { name: 'trusted_keys with an account key', conf: () => `trusted_keys: ["${createAccount().getPublicKey()}"]\n`, ok: false },
    { name: 'trusted_keys valid', conf: () => `trusted_keys: ["${createOperator().getPublicKey()}"]\n`, ok: true },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.ok ? 'accepted' : 'refused'} by both`, () => {
      const f = write(c.conf());
      const nats = natsT(f);
      const ts = tsnatsT(f);
      assert.equal(nats.ok, c.ok, `nats-server: ${nats.text}`);
      assert.equal(ts.ok, c.ok, `tsnats: ${ts.text}`);
      if (!c.ok) {
        const first = nats.reasons[0];
        assert.ok(first, `positioned error from nats-server: ${nats.text}`);
        const same = (r: { line: number; reason: string }): boolean =>
          r.line === first.line && (c.prefix ? r.reason.split(':')[0] === first.reason.split(':')[0] : r.reason === first.reason);
        assert.ok(ts.reasons.some(same), `nats-server: line ${first.line}: ${first.reason}\ntsnats: ${JSON.stringify(ts.reasons)}`);
      }
    });
  }
});

describe('operator mode: checks at server creation (nats-server start vs tsnats)', { skip: SKIP_NATS_SERVER }, () => {
  const cases: Array<{ name: string; conf: () => string; text: string }> = [
    { name: 'accounts next to an operator', conf: () => `operator: "${op.jwt}"\nresolver: MEMORY\naccounts { A {} }\n`, text: 'operators do not allow Accounts to be configured directly' },
    {
      name: 'users next to an operator',
      conf: () => `operator: "${op.jwt}"\nresolver: MEMORY\nauthorization { users: [ { user: a, password: b } ] }\n`,
      text: 'operators do not allow users to be configured directly',
    },
    {
      name: 'nkey users next to an operator',
      conf: () => `operator: "${op.jwt}"\nresolver: MEMORY\nauthorization { users: [ { nkey: ${createUser().getPublicKey()} } ] }\n`,
      text: 'operators do not allow users to be configured directly',
    },
    {
      name: 'trusted_keys and an operator',
      conf: () => `operator: "${op.jwt}"\nresolver: MEMORY\ntrusted_keys: ["${createOperator().getPublicKey()}"]\n`,
      text: "conflicting options for 'TrustedKeys' and 'TrustedOperators'",
    },
    {
      name: 'URL resolver with preloads',
      conf: () => `operator: "${op.jwt}"\nresolver: URL(http://127.0.0.1:9/)\nresolver_preload {\n  ${a.pub}: "${a.jwt}"\n}\n`,
      text: 'resolver preloads only available for writeable resolver types MEM/DIR/CACHE_DIR',
    },
  ];
  for (const c of cases) {
    it(`${c.name}: refused by both with "${c.text}"`, async () => {
      await assert.rejects(startNatsServer(c.conf()), (e: Error) => e.message.includes(c.text));
      await assert.rejects(startTsnats(c.conf()), (e: Error) => e.message.includes(c.text));
    });
  }

  it('no resolver: refused by both (nats-server: its default URL resolver fails at start)', async () => {
    await assert.rejects(startNatsServer(`operator: "${op.jwt}"\n`), /could not fetch/);
    await assert.rejects(startTsnats(`operator: "${op.jwt}"\n`), /operators require an account resolver to be configured/);
  });

  it('system_account differing from the operator JWT: refused by both', async () => {
    const sys = await account(op.kp);
    const op2 = await operator({ system_account: sys.pub });
    const conf = `operator: "${op2.jwt}"\nresolver: MEMORY\nsystem_account: ${createAccount().getPublicKey()}\n`;
    const text = 'system_account in config and operator JWT must be identical';
    await assert.rejects(startNatsServer(conf), (e: Error) => e.message.includes(text));
    await assert.rejects(startTsnats(conf), (e: Error) => e.message.includes(text));
  });

  it('a system account the MEMORY resolver does not have stops the start of both; preloaded, both start', async () => {
    const sysKp = createAccount();
    const op2 = await operator({ system_account: sysKp.getPublicKey() });
    const sys = await account(op2.kp, {}, { kp: sysKp });
    const missing = `operator: "${op2.jwt}"\nresolver: MEMORY\n`;
    await assert.rejects(startNatsServer(missing), /error resolving system account: account missing/);
    await assert.rejects(startTsnats(missing), /error resolving system account: account missing/);
    const ok = `operator: "${op2.jwt}"\nresolver: MEMORY\nresolver_preload {\n  ${sys.pub}: "${sys.jwt}"\n}\n`;
    const ns = await startNatsServer(ok);
    await ns.stop();
    const wrongOp = `operator: "${op2.jwt}"\nresolver: MEMORY\nresolver_preload {\n  ${sys.pub}: "${(await account(op.kp, {}, { kp: sysKp })).jwt}"\n}\n`;
    await assert.rejects(startNatsServer(wrongOp), /error resolving system account: account validation failed/);
    await assert.rejects(startTsnats(wrongOp), /error resolving system account: account validation failed/);
    const ts = await startTsnats(ok);
    try {
      assert.equal(ts.ts!.server.accounts.system?.name, sys.pub);
    } finally {
      await ts.stop();
    }
  });

  it('the operator JWT system_account becomes the default system account', async () => {
    const sys = await account(op.kp);
    const op2 = await operator({ system_account: sys.pub });
    const f = write(`operator: "${op2.jwt}"\nresolver: MEMORY\nresolver_preload {\n  ${sys.pub}: "${sys.jwt}"\n}\n`);
    assert.equal(loadConfigFile(f).options.systemAccount, sys.pub);
  });
});

describe('JWT decoding (unit)', () => {
  it('refuses wrong chunk counts, bad base64, bad headers, wrong signatures, newer versions', async () => {
    const o = await operator();
    assert.equal(decodeJwt(o.jwt, 'operator').sub, o.pub);
    assert.throws(() => decodeJwt('a.b'), /expected 3 chunks/);
    assert.throws(() => decodeJwt('a.b.c.d'), /expected 3 chunks/);
    const [h, p, s] = o.jwt.split('.');
    assert.throws(() => decodeJwt(`${h}=.${p}.${s}`), /illegal base64/);
    const hdr = (x: unknown): string => Buffer.from(JSON.stringify(x)).toString('base64url');
    assert.throws(() => decodeJwt(`${hdr({ typ: 'XYZ', alg: 'ed25519-nkey' })}.${p}.${s}`), /not supported type "XYZ"/);
    assert.throws(() => decodeJwt(`${hdr({ typ: 'JWT', alg: 'HS256' })}.${p}.${s}`), /unexpected "HS256" algorithm/);
    assert.throws(() => decodeJwt(`${h}.${p}.${s!.slice(0, -2)}AA`), /signature verification/);
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as { nats: { version: number } };
    claims.nats.version = 3;
    assert.throws(() => decodeJwt(`${h}.${hdr(claims)}.${s}`), /newer version/);
    assert.throws(() => decodeJwt(o.jwt, 'account'), /not account claim/);
  });

  it('a user JWT signed by an operator key is refused (issuer prefix)', async () => {
    const o = createOperator();
    const acc = createAccount();
    const u = await user(acc);
    const [h, p] = u.jwt.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as { iss: string };
    claims.iss = o.getPublicKey();
    const body = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const sig = Buffer.from(o.sign(new TextEncoder().encode(body))).toString('base64url');
    assert.throws(() => decodeJwt(`${body}.${sig}`, 'user'), /expected prefixes - \[account\]/);
  });
});

describe('activation tokens (unit)', () => {
  it('valid for the importer and subject; refused for another account, subject, kind, issuer, or when expired', async () => {
    const { encodeActivation } = await import('@nats-io/jwt');
    const { checkActivation, decodeAccountClaims } = await import('../../src/server/jwt/claims.js');
    const o = await operator();
    const exp = await account(o.kp);
    const importer = createAccount();
    const claims = decodeAccountClaims(exp.jwt);
    const tok = await encodeActivation('act', importer, exp.kp, 'stream', { subject: 'prices.>' } as never);
    assert.deepEqual(checkActivation(tok, claims, importer.getPublicKey(), { kind: 'stream', subject: 'prices.eu' }), { expiresAt: 0 });
    assert.equal(checkActivation(tok, claims, createAccount().getPublicKey(), { kind: 'stream', subject: 'prices.eu' }), undefined);
    assert.equal(checkActivation(tok, claims, importer.getPublicKey(), { kind: 'stream', subject: 'other' }), undefined);
    assert.equal(checkActivation(tok, claims, importer.getPublicKey(), { kind: 'service', subject: 'prices.eu' }), undefined);
    const stranger = await encodeActivation('act', importer, createAccount(), 'stream', { subject: 'prices.>' } as never);
    assert.equal(checkActivation(stranger, claims, importer.getPublicKey(), { kind: 'stream', subject: 'prices.eu' }), undefined);
    const expired = await encodeActivation('act', importer, exp.kp, 'stream', { subject: 'prices.>' } as never, { exp: Math.floor(Date.now() / 1000) - 5 } as never);
    assert.equal(checkActivation(expired, claims, importer.getPublicKey(), { kind: 'stream', subject: 'prices.eu' }), undefined);
  });
});

describe('.creds files (unit)', () => {
  it('parses nsc/@nats-io/jwt creds; refuses malformed files and non-user seeds with nats-server texts', async () => {
    const { parseCreds } = await import('../../src/server/jwt/creds.js');
    const { createPublicKey, verify } = await import('node:crypto');
    const o = await operator();
    const a = await account(o.kp);
    const u = await user(a.kp);
    const c = parseCreds(new TextDecoder().decode(u.creds));
    assert.equal(c.jwt, u.jwt);
    const sig = (await import('node:crypto')).sign(null, Buffer.from('nonce'), c.key);
    assert.ok(verify(null, Buffer.from('nonce'), createPublicKey(c.key), sig));
    assert.ok(u.kp.verify(new TextEncoder().encode('nonce'), sig), 'the same key as the seed');
    assert.throws(() => parseCreds('nothing here'), /^Error: Credentials file malformed$/);
    const accSeed = new TextDecoder().decode(a.kp.getSeed());
    const text = new TextDecoder().decode(u.creds).replace(new TextDecoder().decode(u.kp.getSeed()), accSeed);
    assert.throws(() => parseCreds(text), /Credentials file has malformed seed/);
  });
});

describe('operator mode start-up log (tsnats vs nats-server)', { skip: SKIP_NATS_SERVER }, () => {
  it('the Trusted Operators lines and the system account warning are the same', async () => {
    const o = await operator();
    const acc = await account(o.kp);
    const conf = `operator: "${o.jwt}"\nresolver: MEMORY\nresolver_preload {\n  ${acc.pub}: "${acc.jwt}"\n}\n`;
    const lines = (log: string): string[] =>
      log
        .split('\n')
        .map((l) => l.replace(/^\[\d+\] \S+ \S+ /, ''))
        .filter((l) => /Trusted Operators|^\[INF\]   (System|Operator|Issued|Expires)/.test(l));
    const ns = await startNatsServer(conf);
    const ts = await startTsnats(conf);
    try {
      const want = lines(ns.log());
      assert.equal(want.length, 6, ns.log());
      assert.deepEqual(lines(ts.log()), want);
    } finally {
      await ns.stop();
      await ts.stop();
    }
  });
});
