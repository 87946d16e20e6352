// The hostile OCSP responder corpus (test/support/hostile-corpus.ts) against a real tsnats server,
// in OCSP modes `must` and `auto`, with a store_dir, each case twice:
//
//   start-up       the responder misbehaves before the server starts;
//   while running  the server starts with a good staple, then the responder misbehaves and the
//                  stapler refreshes.
//
// For every case and mode: what a real TLS client asking for a status receives (never anything
// refused: the staple is the earlier good one, byte for byte), what is in the store_dir (nothing
// written at start-up; the cache file untouched, same inode and mtime, while running; no temp
// files), the start-up error or the log line (asserted substrings), and whether the server is up
// (it is, unless `must` sees a genuine revocation: exit status 20). The 100 MB bodies are also run
// in a child process whose peak RSS is bounded.

import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestPki } from '../../src/testkit/index.js';
import { HOSTILE_CORPUS, prepareSigners, reasonMatches, type CorpusSigners } from '../support/hostile-corpus.js';
import { closeRuntimeServer, conf, initCorpusRunner, MODES, prepare, runtimeCheck, startRuntimeServer, startupCase, type RuntimeServer } from './corpus-runner.js';
import { fingerprint, makePki, probe, procStats, spawnTsnats, tempDir, waitFor } from './harness.js';

let pki: TestPki;
let signers: CorpusSigners;
let tmp: { dir: string; remove(): void };

before(async () => {
  pki = await makePki();
  signers = await prepareSigners(pki);
  tmp = tempDir('hostile');
  initCorpusRunner({ pki, signers, dir: tmp.dir });
});
after(async () => {
  await pki?.cleanup();
  tmp?.remove();
});

describe('hostile OCSP responder corpus', { concurrency: 4 }, () => {
describe(`hostile OCSP responder corpus at start-up (${HOSTILE_CORPUS.length} cases × modes must, auto)`, { concurrency: 8 }, () => {
  for (const c of HOSTILE_CORPUS) {
    for (const mode of MODES) it(`${c.id} [${mode}]: ${c.title}`, () => startupCase(c, mode));
  }
});

for (const mode of MODES) {
  describe(`hostile OCSP responder corpus while running [${mode}]: one server, one certificate per case (SNI)`, { concurrency: 8 }, () => {
    const shared = HOSTILE_CORPUS.filter((c) => c.expect.kind !== 'authentic');
    const authentic = HOSTILE_CORPUS.filter((c) => c.expect.kind === 'authentic');
    const servers = new Map<string, RuntimeServer>();
    before(async () => {
      servers.set('shared', await startRuntimeServer(shared, mode));
      for (const c of authentic) servers.set(c.id, await startRuntimeServer([c], mode));
    });
    // The store is shared by the cases of a server: temp files are checked once every write is done.
    after(async () => {
      for (const s of servers.values()) await closeRuntimeServer(s);
    });
    for (const c of shared) it(`${c.id} [${mode}] while running`, () => runtimeCheck(servers.get('shared')!, c.id, mode));
    for (const c of authentic) it(`${c.id} [${mode}] while running`, () => runtimeCheck(servers.get(c.id)!, c.id, mode));
  });
}

describe('hostile corpus: memory of a real tsnats process under 100 MB bodies', () => {
  const PRELOAD = resolve('dist/test/hostile/preload-maxrss.js');
  const maxRss = (out: string): number => Number(/tsnats-maxrss-kb=(\d+)/.exec(out)?.[1] ?? NaN);

  it('start-up: peak RSS with a 100 MB body is within 40 MB of a refusal with a tiny body', async () => {
    const results: Record<string, number> = {};
    for (const kind of ['http-500', 'body-100mb-streamed'] as const) {
      const c = HOSTILE_CORPUS.find((x) => x.id === kind)!;
      const r = await prepare(c, 'startup');
      try {
        await c.arm({ pki, signers, responder: r.responder, cert: r.cert });
        const out = await spawnTsnats(tmp.dir, conf(r, 'must'), { preload: [PRELOAD] });
        assert.equal(out.ready, false, 'refuses to start');
        const ex = await out.proc.exited;
        assert.equal(ex.code, 1);
        const err = out.proc.out();
        assert.ok(err.includes(`[FTL] bad OCSP status update for certificate at '${r.cert.certFile}'`), err);
        assert.ok(reasonMatches((c.expect as { reason: string | RegExp }).reason, err), err);
        assert.equal(fingerprint(r.cacheFile), null);
        results[kind] = maxRss(err);
      } finally {
        await r.responder.close();
      }
    }
    const base = results['http-500']!;
    for (const k of ['body-100mb-streamed']) {
      assert.ok(Number.isFinite(results[k]!), `peak RSS reported for ${k}`);
      assert.ok(results[k]! - base < 40 * 1024, `${k}: peak RSS ${results[k]} kB vs ${base} kB with HTTP 500`);
    }
  });

  it('while running: refreshes meeting 100 MB bodies keep the staple, the cache and the peak RSS', async () => {
    const c = HOSTILE_CORPUS.find((x) => x.id === 'body-100mb-streamed')!;
    const r = await prepare(c, 'runtime');
    // A short validity: the server refreshes on its own every ~1 s.
    r.responder.setValidity({ nextUpdateMs: 3000 });
    const out = await spawnTsnats(tmp.dir, conf(r, 'must'), { preload: [PRELOAD] });
    try {
      assert.ok(out.ready, out.proc.out());
      const p0 = await probe(out.proc.port, { ca: pki.root.certPem });
      assert.equal(p0.status, 'good');
      const fp0 = fingerprint(r.cacheFile);
      const base = procStats(out.proc.pid).hwmKb;
      await c.arm({ pki, signers, responder: r.responder, cert: r.cert });
      const before = r.responder.requests.total;
      assert.ok(await waitFor(() => r.responder.requests.total >= before + 4, 15_000), 'the server met the 100 MB body at least twice (POST+GET)');
      const errLine = () => out.proc.out().split('\n').find((l) => l.includes(`Bad OCSP status update for certificate '${r.cert.certFile}'`));
      assert.ok(await waitFor(() => !!errLine(), 5000));
      assert.ok(errLine()!.includes('response exceeds the limit of 262144 bytes'), errLine());
      const hwm = procStats(out.proc.pid).hwmKb;
      assert.ok(hwm - base < 40 * 1024, `peak RSS grew ${hwm - base} kB`);
      const p1 = await probe(out.proc.port, { ca: pki.root.certPem });
      if (p1.staple) assert.ok(p1.staple.equals(p0.staple!), 'only the earlier staple, until it expires');
      if (p1.nextUpdate !== null) assert.ok(p1.nextUpdate > Date.now() - 1000, 'never an expired staple');
      assert.deepEqual(fingerprint(r.cacheFile), fp0, 'cache untouched');
      assert.equal(out.proc.done, false, 'still running');
    } finally {
      await out.proc.kill();
      await r.responder.close();
    }
  });
});
});
