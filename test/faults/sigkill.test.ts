// SIGKILL while writing the cache, repeated (test/faults/kill-loop.ts): after every kill the cache
// file is one complete, valid response, never a torn or empty one. 50 kills of the store's write
// loop (alternating two genuine responses A and B: the file must be exactly A or exactly B) and 5
// kills of a stapler refreshing against a responder (the file must verify); then a real server
// starts from what is left, with the responder down. The long run does hundreds
// (`node dist/test/load/long.js`).

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sharedStapleMemory } from '../../src/ocsp/index.js';
import { startResponder, type IssuedCert, type TestPki, type TestResponder } from '../../src/testkit/index.js';
import { cacheFileOf, fingerprint, issueStapled, makePki, ocspBlock, probe, sleep, startInProcOutcome, tempDir, tlsConf } from '../hostile/harness.js';
import { runKillLoop } from './kill-loop.js';

const ROUNDS_STORE = Number(process.env.SIGKILL_ROUNDS ?? 50);
const ROUNDS_STAPLER = Number(process.env.SIGKILL_STAPLER_ROUNDS ?? 5);

let pki: TestPki;
let tmp: { dir: string; remove(): void };
let r: TestResponder;
let cert: IssuedCert;
let gen = 0;

before(async () => {
  pki = await makePki();
  tmp = tempDir('faults-sigkill');
  r = await startResponder({ issuer: pki.root });
  cert = await issueStapled(pki, 'sigkill', r.url);
});
after(async () => {
  await r?.close();
  await pki?.cleanup();
  tmp?.remove();
});

/** Two different genuine responses for `cert` (different seconds). */
async function twoResponses(): Promise<[Buffer, Buffer]> {
  const out: Buffer[] = [];
  for (let i = 0; i < 2; i++) {
    const sd = join(tmp.dir, `gen-${++gen}`);
    mkdirSync(sd);
    r.setValidity({ thisUpdateOffsetMs: -i * 1000 });
    sharedStapleMemory.clear();
    const s = await startInProcOutcome(tmp.dir, tlsConf({ cert, caFile: pki.caFile, ocsp: ocspBlock('must'), storeDir: sd }));
    assert.ok(s.ok, s.ok ? '' : s.error);
    if (s.ok) await s.ts.stop();
    out.push(fingerprint(cacheFileOf(sd, cert))!.bytes);
  }
  r.setValidity({});
  assert.ok(!out[0]!.equals(out[1]!));
  return [out[0]!, out[1]!];
}

describe('SIGKILL while writing the OCSP cache', () => {
  it(`store write path, ${ROUNDS_STORE} kills: the file is always exactly the old or the new response`, async () => {
    const [a, b] = await twoResponses();
    const sd = join(tmp.dir, 'store-kill');
    mkdirSync(join(sd, 'ocsp'), { recursive: true, mode: 0o700 });
    const aFile = join(tmp.dir, 'a.der');
    const bFile = join(tmp.dir, 'b.der');
    writeFileSync(aFile, a);
    writeFileSync(bFile, b);
    const sha = cacheFileOf(sd, cert).split('/').pop()!;
    const res = await runKillLoop({ mode: 'store', rounds: ROUNDS_STORE, storeDir: sd, sha256: sha, a, aFile, b, bFile, budgetMs: 60_000, lanes: 3 });
    assert.deepEqual(res.violations, []);
    assert.equal(res.kills, ROUNDS_STORE, `${res.kills} kills in ${res.ms} ms; outcomes ${JSON.stringify(res.outcomes)}; ${res.strayTempFiles} temp files left`);
    assert.equal((res.outcomes.A ?? 0) + (res.outcomes.B ?? 0), res.kills);

    // A real server starts from what the kills left, with the responder down.
    sharedStapleMemory.clear();
    const down = await startInProcOutcome(tmp.dir, tlsConf({ cert: { certFile: cert.certFile, keyFile: cert.keyFile }, caFile: pki.caFile, ocsp: ocspBlock('must', ['http://127.0.0.1:9/down']), storeDir: sd }));
    assert.ok(down.ok, down.ok ? '' : down.error);
    if (!down.ok) return;
    try {
      assert.equal(down.ts.stapler().status().source, 'disk');
      const p = await probe(down.ts.port, { ca: pki.root.certPem });
      assert.equal(p.status, 'good');
      assert.ok(p.staple!.equals(a) || p.staple!.equals(b));
    } finally {
      await down.ts.stop();
    }
  });

  it(`stapler refresh loop (fetch, verify, write), ${ROUNDS_STAPLER} kills: the file always verifies`, async () => {
    const sd = join(tmp.dir, 'stapler-kill');
    mkdirSync(sd);
    const res = await runKillLoop({
      mode: 'stapler',
      rounds: ROUNDS_STAPLER,
      storeDir: sd,
      certFile: cert.certFile,
      caFile: pki.caFile,
      url: r.url,
      issuerPem: pki.root.certPem,
      budgetMs: 60_000,
      lanes: 2,
    });
    assert.deepEqual(res.violations, []);
    assert.equal(res.kills, ROUNDS_STAPLER, `${res.kills} kills in ${res.ms} ms; ${JSON.stringify(res.outcomes)}`);
  });

  it(
    // Found by this suite (every kill during a write left a temp file forever); fixed in 0b47529.
    'a stale temp file left by a killed writer is removed at the next start-up; a fresh one is kept',
    async () => {
      const sd = join(tmp.dir, 'stray');
      mkdirSync(join(sd, 'ocsp'), { recursive: true, mode: 0o700 });
      const [a] = await twoResponses();
      writeFileSync(cacheFileOf(sd, cert), a);
      // What a writer killed mid-write leaves (an hour-old temp file).
      const stale = join(sd, 'ocsp', 'tmp-cert-status0123456789ab');
      const fresh = join(sd, 'ocsp', 'tmp-cert-statusba9876543210');
      writeFileSync(stale, a.subarray(0, 10));
      writeFileSync(fresh, a.subarray(0, 10)); // may belong to another process writing right now
      const { utimesSync, existsSync } = await import('node:fs');
      const old = (Date.now() - 3_600_000) / 1000;
      utimesSync(stale, old, old);
      sharedStapleMemory.clear();
      const s = await startInProcOutcome(tmp.dir, tlsConf({ cert, caFile: pki.caFile, ocsp: ocspBlock('must'), storeDir: sd }));
      if (s.ok) await s.ts.stop();
      await sleep(10);
      assert.equal(existsSync(stale), false, 'stale temp file removed at start-up');
      assert.equal(existsSync(fresh), true, 'a recent temp file is left alone');
    },
  );
});
