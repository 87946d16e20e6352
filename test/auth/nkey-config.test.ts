// NKey users in the configuration, compared with `nats-server -t` (2.9.10): valid keys in a
// users list (alone, mixed with password users, with permissions and default permissions) are
// accepted; a seed, a key of another kind, a corrupted key, user/password next to an nkey,
// duplicate nkeys (also against a user name) and the `nkeys` key are refused with nats-server's
// text on the same line. `no_auth_user` naming an nkey user is refused at start-up by both.
// Also unit checks of the key decoding, the nonce and the signature decoding.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createAccount, createServer, createUser } from '@nats-io/nkeys';
import { ConfigError, loadConfigFile } from '../../src/config/index.js';
import { startServer } from '../../src/index.js';
import { decodeSig, decodeUserKey, isValidPublicUserKey, newNonce, NkeyVerifier } from '../../src/server/nkey.js';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
import { NATS_SERVER, SKIP_NATS_SERVER, startNatsServer } from '../wire/harness.js';

const u1 = createUser();
const u2 = createUser();
const U1 = u1.getPublicKey();
const U2 = u2.getPublicKey();
const SEED = new TextDecoder().decode(u1.getSeed());
const ACC = createAccount().getPublicKey();
const SRV = createServer().getPublicKey();
// One character changed: the CRC no longer matches.
const CORRUPT = U1.slice(0, 10) + (U1[10] === 'A' ? 'B' : 'A') + U1.slice(11);

const root = mkdtempSync(join(tmpdir(), 'tsnats-nkey-conf-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

interface Outcome {
  ok: boolean;
  reasons: { line: number; reason: string }[];
  text: string;
}

function write(conf: string): string {
  const f = join(root, `c${n++}.conf`);
  writeFileSync(f, conf);
  return f;
}

function natsT(file: string): Outcome {
  const r = spawnSync(NATS_SERVER!, ['-t', '-c', file], { encoding: 'utf8', timeout: 15000 });
  const text = `${r.stdout}${r.stderr}`.trim();
  const reasons = [...text.matchAll(/:(\d+):(\d+): (.*)$/gm)].map((m) => ({ line: Number(m[1]), reason: m[3]! }));
  return { ok: r.status === 0, reasons, text };
}

function tsnatsT(file: string): Outcome {
  try {
    const { warnings } = loadConfigFile(file);
    return { ok: warnings.length === 0, reasons: [], text: warnings.join('\n') || 'valid' };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { ok: false, reasons: e.errors.map((x) => ({ line: x.line, reason: x.reason })), text: e.message };
  }
}

const CASES: Array<{ name: string; conf: string; ok: boolean }> = [
  { name: 'nkey users only', conf: `authorization { users: [ { nkey: ${U1} }, { nkey: ${U2} } ] }`, ok: true },
  {
    name: 'mixed with password users, permissions and default permissions',
    conf: `authorization {\n  default_permissions: { publish: "pub.>" }\n  users: [\n    { user: a, password: b }\n    { nkey: ${U1}, permissions: { publish: "x", subscribe: { deny: "y" } } }\n    { nkey: ${U2} }\n  ]\n}`,
    ok: true,
  },
  { name: 'a seed instead of the public key', conf: `authorization {\n  users: [ { nkey: ${SEED} } ]\n}`, ok: false },
  { name: 'an account key', conf: `authorization {\n  users: [ { nkey: ${ACC} } ]\n}`, ok: false },
  { name: 'a server key', conf: `authorization {\n  users: [ { nkey: ${SRV} } ]\n}`, ok: false },
  { name: 'a corrupted key (CRC)', conf: `authorization {\n  users: [ { nkey: ${CORRUPT} } ]\n}`, ok: false },
  { name: 'a short key', conf: `authorization {\n  users: [ { nkey: UABC } ]\n}`, ok: false },
  { name: 'lower case', conf: `authorization {\n  users: [ { nkey: ${U1.toLowerCase()} } ]\n}`, ok: false },
  { name: 'nkey with a user', conf: `authorization {\n  users: [ { nkey: ${U1}, user: a } ]\n}`, ok: false },
  { name: 'nkey with a password', conf: `authorization {\n  users: [ { nkey: ${U1}, password: a } ]\n}`, ok: false },
  { name: 'empty nkey', conf: `authorization {\n  users: [ { nkey: "" } ]\n}`, ok: false },
  { name: 'duplicate nkeys', conf: `authorization {\n  users: [ { nkey: ${U1} }, { nkey: ${U1} } ]\n}`, ok: false },
  { name: 'an nkey equal to a user name', conf: `authorization {\n  users: [ { user: ${U1}, password: x }, { nkey: ${U1} } ]\n}`, ok: false },
  { name: 'the nkeys key (not in 2.9.10)', conf: `authorization {\n  nkeys: [ { nkey: ${U1} } ]\n}`, ok: false },
  { name: 'nkey users and a token', conf: `authorization {\n  token: x\n  users: [ { nkey: ${U1} } ]\n}`, ok: false },
];

describe('nkey users in the configuration: nats-server -t vs tsnats', { skip: SKIP_NATS_SERVER }, () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.ok ? 'accepted' : 'refused'} by both, same reason`, () => {
      const f = write(c.conf);
      const nats = natsT(f);
      const ts = tsnatsT(f);
      assert.equal(nats.ok, c.ok, `nats-server: ${nats.text}`);
      assert.equal(ts.ok, c.ok, `tsnats: ${ts.text}`);
      if (!c.ok) {
        const first = nats.reasons[0];
        assert.ok(first, `positioned error from nats-server: ${nats.text}`);
        assert.ok(
          ts.reasons.some((r) => r.reason === first.reason && r.line === first.line),
          `nats-server: line ${first.line}: ${first.reason}\ntsnats: ${JSON.stringify(ts.reasons)}`,
        );
      }
    });
  }

  for (const [name, users, message] of [
    ['only nkey users', `{ nkey: ${U1} }`, `no_auth_user: "${U1}" present, but users are not defined`],
    ['mixed users', `{ user: a, password: b }, { nkey: ${U1} }`, `no_auth_user: "${U1}" not present as user in authorization block or account configuration`],
  ] as const) {
    it(`no_auth_user naming an nkey user (${name}) is refused at start-up by both`, async () => {
      const conf = `authorization { users: [ ${users} ] }\nno_auth_user: ${U1}\n`;
      await assert.rejects(startNatsServer(conf), (e: Error) => e.message.includes(message));
      const f = write(`host: 127.0.0.1\nport: -1\n${conf}`);
      await assert.rejects(
        startServer({ configFile: f, log: { write: () => undefined, colors: false } }),
        (e: Error) => e.message.includes(message),
      );
    });
  }
});

describe('nkey users given in code', () => {
  it('startServer({ authorization: { nkeys } }): a valid key works, an invalid one is a clear error', async () => {
    const srv = await startServer({ authorization: { users: [], nkeys: [{ nkey: U1 }] } });
    try {
      assert.equal(srv.server.auth.nonceRequired, true);
      assert.equal(srv.server.auth.required, true);
    } finally {
      await srv.close();
    }
    await assert.rejects(startServer({ authorization: { users: [], nkeys: [{ nkey: SEED }] } }), /^Error: Not a valid public nkey for a user: "SU/);
  });
});

describe('nkey primitives', () => {
  it('public user keys decode to 32 bytes; seeds, other kinds and corrupted keys do not', () => {
    for (let i = 0; i < 50; i++) {
      const kp = createUser();
      const raw = decodeUserKey(kp.getPublicKey());
      assert.equal(raw?.length, 32);
    }
    for (const bad of [SEED, ACC, SRV, CORRUPT, '', 'U', 'UABC', U1.toLowerCase(), U1 + 'A', U1.slice(0, -1), `${U1.slice(0, 20)}=${U1.slice(21)}`]) {
      assert.equal(isValidPublicUserKey(bad), false, bad);
    }
  });

  it('nonces: 15 base64url characters of 11 random bytes, all different', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const nonce = newNonce();
      assert.match(nonce, /^[A-Za-z0-9_-]{15}$/);
      assert.equal(Buffer.from(nonce, 'base64url').length, 11);
      seen.add(nonce);
    }
    assert.equal(seen.size, 1000);
  });

  it('random input: key and signature decoding and verification never throw, never accept', () => {
    const verifier = new NkeyVerifier(U1);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abc+/=-_!\r\n\u00e9\u0000';
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 3000; i++) {
      const len = rnd(120);
      let str = i % 3 === 0 ? 'U' : '';
      while (str.length < len) str += alphabet[rnd(alphabet.length)];
      assert.equal(decodeUserKey(str) === undefined || str.startsWith('U'), true);
      const sig = decodeSig(str);
      if (sig) assert.equal(verifier.verify('abcdefghijklmno', sig), false);
      // Mutations of a real key: one character changed is never a valid key.
      const k = U1.split('');
      const at = rnd(k.length);
      const c = B32[rnd(32)]!;
      if (k[at] !== c) {
        k[at] = c;
        assert.equal(isValidPublicUserKey(k.join('')), false, k.join(''));
      }
    }
    // A good signature with one bit flipped fails.
    const nonce = 'abcdefghijklmno';
    const good = Buffer.from(u1.sign(Buffer.from(nonce)));
    assert.equal(verifier.verify(nonce, good), true);
    for (let b = 0; b < 64; b += 7) {
      const flipped = Buffer.from(good);
      flipped[b]! ^= 1;
      assert.equal(verifier.verify(nonce, flipped), false);
    }
    assert.equal(verifier.verify(nonce + 'x', good), false);
    assert.equal(verifier.verify(nonce, good.subarray(0, 63)), false);
  });

  it('signatures: raw base64url or padded standard base64, nothing else', () => {
    const sig = Buffer.from(u1.sign(Buffer.from('nonce')));
    assert.deepEqual(decodeSig(sig.toString('base64url')), sig);
    assert.deepEqual(decodeSig(sig.toString('base64')), sig);
    const slashes = Buffer.alloc(64, 0xff); // '////...' in standard base64
    assert.deepEqual(decodeSig(slashes.toString('base64')), slashes);
    assert.equal(decodeSig(slashes.toString('base64').replace(/=+$/, '')), undefined, 'standard base64 needs its padding');
    assert.equal(decodeSig(sig.toString('base64url') + '=='), undefined, 'no padding in the URL form');
    assert.equal(decodeSig('a'), undefined);
    assert.equal(decodeSig('!!'), undefined);
    assert.equal(decodeSig('ab=c'), undefined);
  });
});
