// Connections under load, against a real tsnats process (bin/tsnats, stapling in `must` mode,
// allow_non_tls so plain and TLS clients mix; the file limit raised for it with prlimit):
//
//   - LOAD_CONNECTIONS (default 300) TLS connections held at once, each asking for a status: every
//     handshake succeeds and carries the one current staple; /varz counts them; all closed →
//     /varz connections back to 0 and the process's file descriptors back to where they were;
//   - connect/disconnect churn for LOAD_CHURN_SECONDS (default 5 s) with a mix of clients (TLS
//     with staple + CONNECT/PING, plain pub/sub, RST right after INFO, RST in the middle of the TLS
//     handshake, a protocol error, a silent close): nothing unexpected, and no leak of file
//     descriptors (/proc/<pid>/fd), timers or socket handles (async_hooks inside the server,
//     test/load/preload-probe.ts) or memory (heap after GC).
//
// The long run (test/load/long.ts) does 10 000 connections and minutes of churn.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startResponder, type IssuedCert, type TestPki, type TestResponder } from '../../src/testkit/index.js';
import { getJson, issueStapled, makePki, ocspBlock, probe, procStats, sleep, spawnTsnats, tempDir, tlsConf, waitFor, type Child } from '../hostile/harness.js';
import { churn, closeAll, holdTlsConnections, sampleChild } from './load-kit.js';

const N = Number(process.env.LOAD_CONNECTIONS ?? 300);
const CHURN_MS = Number(process.env.LOAD_CHURN_SECONDS ?? 5) * 1000;

let pki: TestPki;
let tmp: { dir: string; remove(): void };
let r: TestResponder;
let cert: IssuedCert;
let server: Child;
let probeBase: string;

before(async () => {
  pki = await makePki();
  tmp = tempDir('load-conns');
  r = await startResponder({ issuer: pki.root });
  cert = await issueStapled(pki, 'load', r.url);
  const sd = join(tmp.dir, 'store');
  mkdirSync(sd);
  probeBase = join(tmp.dir, 'probe');
  const out = await spawnTsnats(
    tmp.dir,
    tlsConf({ cert, caFile: pki.caFile, ocsp: ocspBlock('must'), storeDir: sd, extra: ['allow_non_tls: true', 'max_closed_clients: 50', 'max_connections: 20000'] }),
    {
      monitor: true,
      nofile: N + 1000,
      nodeFlags: ['--expose-gc'],
      preload: [resolve('dist/test/load/preload-probe.js')],
      env: { TSNATS_PROBE_FILE: probeBase },
    },
  );
  assert.ok(out.ready, out.proc.out());
  server = out.proc;
});
after(async () => {
  await server?.kill();
  await r?.close();
  await pki?.cleanup();
  tmp?.remove();
});

describe('load: connections against a real tsnats process', () => {
  it(`${N} TLS connections held at once, every one stapled with the current staple`, async () => {
    const before = procStats(server.pid);
    const ref = await probe(server.port, { ca: pki.root.certPem });
    assert.equal(ref.status, 'good');
    const res = await holdTlsConnections(server.port, N, { ca: pki.root.certPem, concurrency: 50 });
    try {
      assert.deepEqual(res.failures.slice(0, 5), [], `${res.failures.length} handshakes failed`);
      assert.equal(res.held.length, N);
      assert.equal(res.stapled, N, 'every handshake carried a staple');
      assert.equal(res.distinctStaples, 1, 'the same, current staple');
      assert.ok(res.held.every((p) => p.staple!.equals(ref.staple!)));
      const v = await getJson<{ connections: number }>(server.monitorPort, '/varz');
      assert.equal(v.connections, N, '/varz counts them');
      const during = procStats(server.pid);
      assert.ok(during.fds >= before.fds + N, `the server holds a descriptor per connection (${during.fds})`);
      const z = await getJson<{ certificates: { counters?: { handshakes_stapled: number }; handshakes_stapled?: number }[] }>(server.monitorPort, '/ocspz');
      assert.ok(z.certificates.length === 1);
    } finally {
      await closeAll(res.held);
    }
    assert.ok(await waitFor(async () => (await getJson<{ connections: number }>(server.monitorPort, '/varz')).connections === 0, 10_000, 100), 'all gone');
    assert.ok(await waitFor(() => procStats(server.pid).fds <= before.fds + 2, 10_000, 100), `descriptors back (${procStats(server.pid).fds} vs ${before.fds})`);
  });

  it(`connect/disconnect churn for ${CHURN_MS / 1000} s: no leak of descriptors, timers, handles or memory`, async (t) => {
    // Warm-up: fill the closed-connections ring (50), JIT, TLS and staple paths. (Without the
    // protocol-error kind: a server-side close leaves a 2 s destroy fallback timer behind.)
    await churn(server.port, { ca: pki.root.certPem, durationMs: 1000, concurrency: 8, kinds: ['tls-staple', 'plain-pubsub', 'reset-after-info', 'reset-mid-handshake', 'silent-close'] });
    assert.ok(await waitFor(async () => (await getJson<{ connections: number }>(server.monitorPort, '/varz')).connections === 0, 10_000, 50));
    await sleep(200);
    const fd0 = procStats(server.pid).fds;
    const s0 = await sampleChild(probeBase);
    const v0 = await getJson<{ total_connections: number }>(server.monitorPort, '/varz');

    const stats = await churn(server.port, { ca: pki.root.certPem, durationMs: CHURN_MS, concurrency: 16 });
    assert.deepEqual(stats.unexpected, {}, `unexpected outcomes: ${stats.samples.join('; ')}`);
    assert.ok(stats.attempts > 100, `${stats.attempts} connections`);
    assert.equal(stats.stapled, stats.byKind['tls-staple'], 'every TLS client got a staple');

    assert.ok(await waitFor(async () => (await getJson<{ connections: number }>(server.monitorPort, '/varz')).connections === 0, 10_000, 100), 'all closed');
    const v1 = await getJson<{ total_connections: number; connections: number }>(server.monitorPort, '/varz');
    assert.ok(v1.total_connections - v0.total_connections >= stats.attempts, 'the server saw every connection');
    // Settled: descriptors and timers back (the 2 s destroy fallbacks of server-side closes expire).
    let s1 = await sampleChild(probeBase);
    const settled = (x: typeof s1): boolean => ['Timeout', 'TCPWRAP', 'TLSWRAP', 'Immediate'].every((t) => (x.live[t] ?? 0) <= (s0.live[t] ?? 0) + 2);
    const deadline = Date.now() + 8000;
    while (!(settled(s1) && procStats(server.pid).fds <= fd0 + 2) && Date.now() < deadline) {
      await sleep(250);
      s1 = await sampleChild(probeBase);
    }
    const fd1 = procStats(server.pid).fds;
    const report = `fds ${fd0}→${fd1}; live ${JSON.stringify(s0.live)} → ${JSON.stringify(s1.live)}; heap ${(s0.heapUsed / 1e6).toFixed(1)}→${(s1.heapUsed / 1e6).toFixed(1)} MB; rss ${(s0.rss / 1e6).toFixed(1)}→${(s1.rss / 1e6).toFixed(1)} MB; ${stats.attempts} connections ${JSON.stringify(stats.byKind)}`;
    t.diagnostic(report);
    assert.ok(fd1 <= fd0 + 2, `descriptors: ${report}`);
    for (const t of ['Timeout', 'TCPWRAP', 'TLSWRAP', 'Immediate']) {
      assert.ok((s1.live[t] ?? 0) <= (s0.live[t] ?? 0) + 2, `live ${t}: ${report}`);
    }
    assert.ok(s1.heapUsed - s0.heapUsed < 8e6, `heap after GC: ${report}`);
    assert.equal(server.done, false, 'server up');
  });
});
