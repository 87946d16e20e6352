// The long run: the CI-sized hostile, fault and load tests at full size, against real tsnats
// processes, with one summary at the end (connections held, faults injected, crashes).
//
//   npm run build && node dist/test/load/long.js [options]
//
//   --connections N      TLS connections held at once, each asking for a staple (10000)
//   --churn-minutes M    connect/disconnect churn with the mix of client behaviours (3)
//   --flap-minutes M     the responder flapping between good and hostile corpus faults while
//                        clients handshake continuously, refresh every ~3 s (3)
//   --flood-seconds S    publishers flooding slow and stalled subscribers (60)
//   --corpus-rounds R    full hostile corpus replays, start-up and running, must and auto (3)
//   --kills K            SIGKILLs of the cache write loop (500), --stapler-kills K2 (100)
//   --phases a,b,...     connections,churn,flap,flood,corpus,kills (all)
//   --json FILE          also write the figures as JSON
//
// Every loop is bounded in count and time. Exit status 1 if any invariant failed.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { connect as netConnect, type Socket } from 'node:net';
import { parseCertificateChain, verifyOcspResponse } from '../../src/ocsp/index.js';
import { startResponder, type TestPki, type TestResponder } from '../../src/testkit/index.js';
import { HOSTILE_CORPUS, prepareSigners, type CorpusSigners } from '../support/hostile-corpus.js';
import { closeRuntimeServer, initCorpusRunner, MODES, runtimeCheck, startRuntimeServer, startupCase } from '../hostile/corpus-runner.js';
import {
  cacheFileOf,
  fingerprint,
  getJson,
  hardNofile,
  issueStapled,
  makePki,
  ocspBlock,
  probe,
  procStats,
  sleep,
  softNofile,
  spawnTsnats,
  startInProc,
  tempDir,
  tlsConf,
  type Child,
} from '../hostile/harness.js';
import { runKillLoop } from '../faults/kill-loop.js';
import { churn, closeAll, holdTlsConnections, MsgCounter, sampleChild, type ProbeSample } from './load-kit.js';

// ---------------------------------------------------------------------------------------------
// Options

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
function argStr(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const O = {
  connections: arg('connections', 10_000),
  churnMinutes: arg('churn-minutes', 3),
  flapMinutes: arg('flap-minutes', 3),
  floodSeconds: arg('flood-seconds', 60),
  corpusRounds: arg('corpus-rounds', 3),
  kills: arg('kills', 500),
  staplerKills: arg('stapler-kills', 100),
  phases: (argStr('phases') ?? 'connections,churn,flap,flood,corpus,kills').split(','),
  json: argStr('json'),
};
if (process.argv.includes('--help')) {
  process.stdout.write(
    'node dist/test/load/long.js [--connections N] [--churn-minutes M] [--flap-minutes M] [--flood-seconds S] [--corpus-rounds R] [--kills K] [--stapler-kills K2] [--phases connections,churn,flap,flood,corpus,kills] [--json FILE]\n',
  );
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Report

const failures: string[] = [];
const figures: Record<string, unknown> = {};
let faultsInjected = 0;
const t0 = Date.now();

function check(ok: boolean, what: string): void {
  if (!ok) {
    failures.push(what);
    log(`  FAILED: ${what}`);
  }
}
function log(s: string): void {
  process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${s}\n`);
}
const mb = (b: number): string => (b / 1e6).toFixed(1);

// ---------------------------------------------------------------------------------------------
// Set-up

const tmp = tempDir('long');
let pki: TestPki;
let signers: CorpusSigners;
let responder: TestResponder;
const children: Child[] = [];

/** Raise this process's soft RLIMIT_NOFILE to its hard limit (prlimit on our own pid). */
function raiseOwnNofile(want: number): { before: number; after: number; hard: number } {
  const before = softNofile();
  const hard = hardNofile();
  const target = Math.min(hard, Math.max(want, before));
  if (target > before) {
    try {
      execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${target}:${hard}`]);
    } catch (e) {
      log(`prlimit failed: ${(e as Error).message}`);
    }
  }
  return { before, after: softNofile(), hard };
}

async function mainServer(extra: string[] = []): Promise<{ proc: Child; probeBase: string; storeDir: string; cert: Awaited<ReturnType<typeof issueStapled>> }> {
  const cert = await issueStapled(pki, 'long-main', responder.url);
  const storeDir = join(tmp.dir, `store-main-${children.length}`);
  mkdirSync(storeDir);
  const probeBase = join(tmp.dir, `probe-${children.length}`);
  const out = await spawnTsnats(
    tmp.dir,
    tlsConf({
      cert,
      caFile: pki.caFile,
      ocsp: ocspBlock('must'),
      storeDir,
      extra: ['allow_non_tls: true', 'max_closed_clients: 100', 'max_connections: 100000', 'max_pending: 4194304', 'write_deadline: "5s"', ...extra],
    }),
    { monitor: true, nofile: O.connections + 2000, nodeFlags: ['--expose-gc'], preload: [resolve('dist/test/load/preload-probe.js')], env: { TSNATS_PROBE_FILE: probeBase }, timeoutMs: 60_000 },
  );
  if (!out.ready) throw new Error(`server did not start: ${out.proc.out().slice(-2000)}`);
  children.push(out.proc);
  return { proc: out.proc, probeBase, storeDir, cert };
}

// ---------------------------------------------------------------------------------------------
// Phases

async function phaseConnections(srv: Child): Promise<void> {
  const n = O.connections;
  log(`connections: opening ${n} TLS connections (INFO, TLS, status request), 100 at a time`);
  const fd0 = procStats(srv.pid).fds;
  const ref = await probe(srv.port, { ca: pki.root.certPem });
  const res = await holdTlsConnections(srv.port, n, { ca: pki.root.certPem, concurrency: 100, spread: 50, timeoutMs: 60_000 });
  const during = procStats(srv.pid);
  const varz = await getJson<{ connections: number; mem: number }>(srv.monitorPort, '/varz');
  log(`  held ${res.held.length}, stapled ${res.stapled}, distinct staples ${res.distinctStaples}, failures ${res.failures.length} in ${(res.ms / 1000).toFixed(1)} s; server fds ${during.fds}, RSS ${(during.rssKb / 1024).toFixed(0)} MB`);
  if (res.failures.length) log(`  first failures: ${res.failures.slice(0, 3).join(' | ')}`);
  check(res.failures.length === 0, `connections: ${res.failures.length} handshakes failed`);
  check(res.stapled === n && res.held.every((p) => p.staple?.equals(ref.staple!)), 'connections: every handshake carried the current staple');
  check(varz.connections >= n, `connections: /varz shows ${varz.connections}`);
  await closeAll(res.held);
  let fd1 = procStats(srv.pid).fds;
  for (let i = 0; i < 100 && fd1 > fd0 + 2; i++) {
    await sleep(100);
    fd1 = procStats(srv.pid).fds;
  }
  check(fd1 <= fd0 + 2, `connections: descriptors back (${fd0} → ${fd1})`);
  figures.connections = { held: res.held.length, stapled: res.stapled, failures: res.failures.length, seconds: res.ms / 1000, serverFds: during.fds, serverRssMb: Math.round(during.rssKb / 1024), fdsBefore: fd0, fdsAfter: fd1 };
}

async function phaseChurn(srv: Child, probeBase: string): Promise<void> {
  const ms = O.churnMinutes * 60_000;
  log(`churn: ${O.churnMinutes} min, 32 loops, 6 kinds of clients`);
  await churn(srv.port, { ca: pki.root.certPem, durationMs: 2000, concurrency: 16, spread: 200, kinds: ['tls-staple', 'plain-pubsub', 'reset-after-info', 'reset-mid-handshake', 'silent-close'] });
  await sleep(500);
  const fd0 = procStats(srv.pid).fds;
  const s0 = await sampleChild(probeBase);
  const series: Array<{ s: number; fds: number; timeouts: number; heapMb: number; rssMb: number }> = [];
  const start = Date.now();
  let stop = false;
  const sampler = (async () => {
    let last = Date.now();
    while (!stop) {
      await sleep(250);
      if (stop || Date.now() - last < 30_000) continue;
      last = Date.now();
      const s = await sampleChild(probeBase).catch(() => undefined);
      if (s) series.push({ s: Math.round((Date.now() - start) / 1000), fds: procStats(srv.pid).fds, timeouts: s.live.Timeout ?? 0, heapMb: Math.round(s.heapUsed / 1e6), rssMb: Math.round(s.rss / 1e6) });
    }
  })();
  const stats = await churn(srv.port, { ca: pki.root.certPem, durationMs: ms, concurrency: 32, spread: 200 });
  stop = true;
  await sampler;
  let s1: ProbeSample = await sampleChild(probeBase);
  const settled = (x: ProbeSample): boolean => ['Timeout', 'TCPWRAP', 'TLSWRAP'].every((t) => (x.live[t] ?? 0) <= (s0.live[t] ?? 0) + 2);
  for (let i = 0; i < 40 && !(settled(s1) && procStats(srv.pid).fds <= fd0 + 2); i++) {
    await sleep(250);
    s1 = await sampleChild(probeBase);
  }
  const fd1 = procStats(srv.pid).fds;
  log(`  ${stats.attempts} connections (${(stats.attempts / (stats.ms / 1000)).toFixed(0)}/s) ${JSON.stringify(stats.byKind)}; stapled ${stats.stapled}; unexpected ${JSON.stringify(stats.unexpected)}`);
  log(`  fds ${fd0} → ${fd1}; live timers ${s0.live.Timeout ?? 0} → ${s1.live.Timeout ?? 0}, TCP ${s0.live.TCPWRAP ?? 0} → ${s1.live.TCPWRAP ?? 0}, TLS ${s0.live.TLSWRAP ?? 0} → ${s1.live.TLSWRAP ?? 0}; heap ${mb(s0.heapUsed)} → ${mb(s1.heapUsed)} MB; RSS ${mb(s0.rss)} → ${mb(s1.rss)} MB`);
  for (const p of series) log(`    t=${p.s}s fds ${p.fds} timers ${p.timeouts} heap ${p.heapMb} MB rss ${p.rssMb} MB`);
  check(Object.keys(stats.unexpected).length === 0, `churn: unexpected outcomes ${stats.samples.join('; ')}`);
  check(stats.stapled === (stats.byKind['tls-staple'] ?? 0), 'churn: every TLS client stapled');
  check(fd1 <= fd0 + 2, `churn: descriptors ${fd0} → ${fd1}`);
  check(settled(s1), `churn: live timers/handles back (${JSON.stringify(s0.live)} → ${JSON.stringify(s1.live)})`);
  check(s1.heapUsed - s0.heapUsed < 16e6, `churn: heap after GC ${mb(s0.heapUsed)} → ${mb(s1.heapUsed)} MB`);
  figures.churn = { connections: stats.attempts, perSecond: Math.round(stats.attempts / (stats.ms / 1000)), byKind: stats.byKind, stapled: stats.stapled, fds: [fd0, fd1], liveBefore: s0.live, liveAfter: s1.live, heapMb: [mb(s0.heapUsed), mb(s1.heapUsed)], rssMb: [mb(s0.rss), mb(s1.rss)], series };
}

async function phaseFlap(): Promise<void> {
  const ms = O.flapMinutes * 60_000;
  log(`flap: ${O.flapMinutes} min: responder alternating between good and hostile corpus faults every 1.5-3 s; validity 6 s, retries every 0.5-2 s; handshakes verified continuously`);
  const r = await startResponder({ issuer: pki.root });
  r.setValidity({ nextUpdateMs: 6000 });
  const cert = await issueStapled(pki, 'long-flap', r.url);
  const storeDir = join(tmp.dir, 'store-flap');
  mkdirSync(storeDir);
  // In-process, so the stapling hook can be given fast retries (not reachable from the config file):
  // the point is many refreshes meeting many faults.
  const ts = await startInProc(tmp.dir, tlsConf({ cert, caFile: pki.caFile, ocsp: ocspBlock('must'), storeDir }), {
    engine: { fetchTimeoutMs: 2000, minRefreshMs: 1000, retryBaseMs: 500, retryMaxMs: 2000 },
  });
  let exitedWith: number | undefined;
  void ts.server.exited.then((c) => (exitedWith = c));
  const leaf = parseCertificateChain(cert.certPem)[0]!;
  const issuer = parseCertificateChain(pki.root.certPem)[0]!;
  const hostile = HOSTILE_CORPUS.filter((c) => c.expect.kind === 'refused' && c.id !== 'connection-refused' && c.id !== 'dns-failure');
  let stop = false;
  const hs = { total: 0, stapled: 0, unstapled: 0, failed: 0, invalid: 0, samples: [] as string[] };
  const prober = async (): Promise<void> => {
    while (!stop) {
      try {
        const p = await probe(ts.port, { ca: pki.root.certPem, timeoutMs: 20_000 });
        hs.total++;
        if (!p.staple) hs.unstapled++;
        else {
          hs.stapled++;
          try {
            const v = verifyOcspResponse(p.staple, { leaf, issuer, now: p.startedAt });
            if (v.status !== 'good') throw new Error(`status ${v.status}`);
          } catch (e) {
            hs.invalid++;
            if (hs.samples.length < 5) hs.samples.push(`invalid staple: ${(e as Error).message}`);
          }
        }
      } catch (e) {
        hs.failed++;
        if (hs.samples.length < 5) hs.samples.push(`handshake failed: ${(e as Error).message}`);
      }
      await sleep(20);
    }
  };
  const probers = Array.from({ length: 4 }, prober);
  const counts: Record<string, number> = {};
  const start = Date.now();
  while (Date.now() - start < ms) {
    r.setFault(null);
    r.setValidity({ nextUpdateMs: 6000 });
    if (Math.random() < 0.6) {
      const c = hostile[Math.floor(Math.random() * hostile.length)]!;
      await c.arm({ pki, signers, responder: r, cert });
      counts[c.id] = (counts[c.id] ?? 0) + 1;
      faultsInjected++;
    } else counts.good = (counts.good ?? 0) + 1;
    await sleep(1500 + Math.random() * 1500);
  }
  stop = true;
  await Promise.all(probers);
  r.setFault(null);
  const st = ts.stapler().status();
  const cached = fingerprint(cacheFileOf(storeDir, cert));
  let cacheOk = false;
  if (cached) {
    try {
      // Genuine: verifies at the time it was current (it may have expired since).
      verifyOcspResponse(cached.bytes, { leaf, issuer, now: Date.parse(st.this_update ?? '') || Date.now() });
      cacheOk = true;
    } catch (e) {
      cacheOk = /NextUpdate|ThisUpdate/.test((e as Error).message);
    }
  }
  const logErrors = ts.logs.filter((l) => l.includes('[ERR] Bad OCSP status update')).length;
  log(`  ${hs.total} handshakes: ${hs.stapled} stapled (every one verified: genuine, good, current), ${hs.unstapled} without (staple expired during a fault), ${hs.failed} failed, ${hs.invalid} invalid`);
  log(`  fetches ok ${st.counters.fetches_ok}, refused/failed ${st.counters.fetches_failed} (${logErrors} error lines); faults ${JSON.stringify(counts)}`);
  if (hs.samples.length) log(`  ${hs.samples.join(' | ')}`);
  check(hs.failed === 0, `flap: ${hs.failed} handshakes failed`);
  check(hs.invalid === 0, `flap: ${hs.invalid} staples did not verify (hostile or expired staple served)`);
  check(exitedWith === undefined && ts.server.isRunning, 'flap: server alive');
  check(cacheOk, 'flap: the cache file is a genuine response');
  figures.flap = { handshakes: hs.total, stapled: hs.stapled, unstapled: hs.unstapled, failed: hs.failed, invalid: hs.invalid, fetchesOk: st.counters.fetches_ok, fetchesFailed: st.counters.fetches_failed, faults: counts };
  await ts.stop();
  await r.close();
}

function rawConn(port: number, setup: string, read: boolean): Promise<{ sock: Socket; counter: MsgCounter; pongs: () => number }> {
  return new Promise((res, rej) => {
    const sock = netConnect(port, '127.0.0.1');
    const counter = new MsgCounter();
    let ready = false;
    const pongs = (): number => (counter.text.match(/^PONG$/gm) ?? []).length;
    const timer = setTimeout(() => !ready && rej(new Error('no PONG')), 20_000);
    sock.on('error', () => undefined);
    sock.on('data', (d: Buffer) => {
      counter.feed(d);
      if (!ready && pongs() >= 1) {
        ready = true;
        clearTimeout(timer);
        if (!read) sock.pause();
        res({ sock, counter, pongs });
      }
    });
    sock.once('connect', () => sock.write(`CONNECT {"verbose":false,"pedantic":false}\r\n${setup}PING\r\n`));
  });
}

async function phaseFlood(srv: Child): Promise<void> {
  const ms = O.floodSeconds * 1000;
  log(`flood: ${O.floodSeconds} s of cycles: 1 publisher at full speed, 1 stalled + 1 crawling + 2 fast subscribers (max_pending 4 MiB)`);
  const hwm0 = procStats(srv.pid).rssKb;
  let peak = hwm0;
  const v0 = await getJson<{ slow_consumers: number }>(srv.monitorPort, '/varz');
  const start = Date.now();
  let cycles = 0;
  let published = 0;
  let mismatches = 0;
  while (Date.now() - start < ms) {
    cycles++;
    const subject = `flood.${cycles}`;
    const stalled = await rawConn(srv.port, `SUB ${subject} 1\r\n`, false);
    const crawling = await rawConn(srv.port, `SUB ${subject} 1\r\n`, false);
    const crawl = setInterval(() => crawling.sock.read(16 * 1024), 100);
    const fast = [await rawConn(srv.port, `SUB ${subject} 1\r\n`, true), await rawConn(srv.port, `SUB ${subject} 1\r\n`, true)];
    const pub = await rawConn(srv.port, '', true);
    const size = 1024 * (1 + (cycles % 60));
    const frame = Buffer.concat([Buffer.from(`PUB ${subject} ${size}\r\n`), Buffer.alloc(size, 0x61), Buffer.from('\r\n')]);
    const until = Date.now() + 5000;
    let sent = 0;
    while (Date.now() < until) {
      const ok = pub.sock.write(frame);
      sent++;
      if (!ok) await new Promise<void>((r) => pub.sock.once('drain', () => r()));
      if (sent % 200 === 0) peak = Math.max(peak, procStats(srv.pid).rssKb);
    }
    const sync = async (c: { sock: Socket; pongs: () => number }): Promise<void> => {
      const before = c.pongs();
      c.sock.write('PING\r\n');
      for (let i = 0; i < 600 && c.pongs() <= before; i++) await sleep(50);
    };
    await sync(pub);
    for (const f of fast) await sync(f);
    clearInterval(crawl);
    peak = Math.max(peak, procStats(srv.pid).rssKb);
    published += sent;
    for (const f of fast) if (f.counter.count !== sent) mismatches++;
    for (const c of [stalled, crawling, ...fast, pub]) c.sock.destroy();
    faultsInjected += 2; // a stalled and a crawling consumer per cycle
  }
  const v1 = await getJson<{ slow_consumers: number }>(srv.monitorPort, '/varz');
  log(`  ${cycles} cycles, ${published} messages published; fast subscribers short of messages: ${mismatches}; slow consumers cut ${v1.slow_consumers - v0.slow_consumers}; server RSS peak +${((peak - hwm0) / 1024).toFixed(1)} MB`);
  check(mismatches === 0, `flood: ${mismatches} fast subscribers missed messages`);
  check(!srv.done, 'flood: server alive');
  check(peak - hwm0 < 256 * 1024, `flood: RSS peak +${((peak - hwm0) / 1024).toFixed(1)} MB`);
  figures.flood = { cycles, published, fastMissing: mismatches, slowConsumersCut: v1.slow_consumers - v0.slow_consumers, rssPeakGrowthMb: Math.round((peak - hwm0) / 1024) };
}

async function phaseCorpus(): Promise<void> {
  log(`corpus: ${O.corpusRounds} rounds × ${HOSTILE_CORPUS.length} cases × ${MODES.length} modes × (start-up, running)`);
  const dir = join(tmp.dir, 'corpus');
  mkdirSync(dir);
  initCorpusRunner({ pki, signers, dir });
  let passed = 0;
  let failed = 0;
  const errors: string[] = [];
  const runOne = async (name: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
      passed++;
    } catch (e) {
      failed++;
      if (errors.length < 10) errors.push(`${name}: ${(e as Error).message.split('\n')[0]}`);
    }
    faultsInjected++;
  };
  for (let round = 1; round <= O.corpusRounds; round++) {
    const jobs: Array<() => Promise<void>> = [];
    for (const c of HOSTILE_CORPUS) for (const mode of MODES) jobs.push(() => runOne(`round ${round} ${c.id} [${mode}] start-up`, () => startupCase(c, mode)));
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < jobs.length) await jobs[next++]!();
    }));
    for (const mode of MODES) {
      const shared = HOSTILE_CORPUS.filter((c) => c.expect.kind !== 'authentic');
      const srv = await startRuntimeServer(shared, mode);
      await Promise.all(shared.map((c) => runOne(`round ${round} ${c.id} [${mode}] running`, () => runtimeCheck(srv, c.id, mode))));
      await closeRuntimeServer(srv);
      for (const c of HOSTILE_CORPUS.filter((x) => x.expect.kind === 'authentic')) {
        const one = await startRuntimeServer([c], mode);
        await runOne(`round ${round} ${c.id} [${mode}] running`, () => runtimeCheck(one, c.id, mode));
        await closeRuntimeServer(one);
      }
    }
    log(`  round ${round}: ${passed} passed, ${failed} failed so far`);
  }
  if (errors.length) log(`  ${errors.join('\n  ')}`);
  check(failed === 0, `corpus: ${failed} case runs failed`);
  figures.corpus = { rounds: O.corpusRounds, caseRuns: passed + failed, passed, failed };
}

async function phaseKills(): Promise<void> {
  log(`kills: ${O.kills} SIGKILLs of the store write loop (3 writers at a time), ${O.staplerKills} of a refreshing stapler (2 at a time)`);
  const r = await startResponder({ issuer: pki.root });
  const cert = await issueStapled(pki, 'long-kill', r.url);
  // Two genuine responses for this certificate.
  const { createStapler } = await import('../../src/ocsp/index.js');
  const ders: Buffer[] = [];
  for (const off of [0, -1000]) {
    r.setValidity({ thisUpdateOffsetMs: off });
    const s = await createStapler({ cert: cert.certPem, ca: pki.root.certPem, mode: 'must', memory: false });
    ders.push(s.current()!);
    s.close();
  }
  r.setValidity({});
  const sd = join(tmp.dir, 'kill-store');
  mkdirSync(join(sd, 'ocsp'), { recursive: true });
  const aFile = join(tmp.dir, 'a.der');
  const bFile = join(tmp.dir, 'b.der');
  writeFileSync(aFile, ders[0]!);
  writeFileSync(bFile, ders[1]!);
  const sha = cacheFileOf(sd, cert).split('/').pop()!;
  const store = await runKillLoop({ mode: 'store', rounds: O.kills, storeDir: sd, sha256: sha, a: ders[0], aFile, b: ders[1], bFile, lanes: 3, budgetMs: 30 * 60_000 });
  const sd2 = join(tmp.dir, 'kill-stapler');
  mkdirSync(sd2);
  const stapler = await runKillLoop({ mode: 'stapler', rounds: O.staplerKills, storeDir: sd2, certFile: cert.certFile, caFile: pki.caFile, url: r.url, issuerPem: pki.root.certPem, lanes: 2, budgetMs: 30 * 60_000 });
  await r.close();
  log(`  store: ${store.kills} kills in ${(store.ms / 1000).toFixed(0)} s, outcomes ${JSON.stringify(store.outcomes)}, violations ${store.violations.length}, temp files left ${store.strayTempFiles}`);
  log(`  stapler: ${stapler.kills} kills in ${(stapler.ms / 1000).toFixed(0)} s, outcomes ${JSON.stringify(stapler.outcomes)}, violations ${stapler.violations.length}, temp files left ${stapler.strayTempFiles}`);
  for (const v of [...store.violations, ...stapler.violations].slice(0, 5)) log(`  ${v}`);
  check(store.violations.length === 0 && stapler.violations.length === 0, 'kills: the cache file was always a complete, valid response');
  faultsInjected += store.kills + stapler.kills;
  figures.kills = { store: { kills: store.kills, outcomes: store.outcomes, violations: store.violations.length, strayTempFiles: store.strayTempFiles }, stapler: { kills: stapler.kills, outcomes: stapler.outcomes, violations: stapler.violations.length, strayTempFiles: stapler.strayTempFiles } };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const limits = raiseOwnNofile(O.connections + 2000);
  log(`tsnats long run: ${JSON.stringify(O)}`);
  log(`file limit of this process: soft ${limits.before} → ${limits.after} (hard ${limits.hard}); the server gets ${Math.min(O.connections + 2000, limits.hard)} via prlimit`);
  figures.nofile = limits;
  pki = await makePki();
  signers = await prepareSigners(pki);
  responder = await startResponder({ issuer: pki.root });
  const need = (p: string): boolean => O.phases.includes(p);
  let main: Awaited<ReturnType<typeof mainServer>> | undefined;
  if (need('connections') || need('churn') || need('flood')) main = await mainServer();
  if (main && need('connections')) await phaseConnections(main.proc);
  if (main && need('churn')) await phaseChurn(main.proc, main.probeBase);
  if (need('flap')) await phaseFlap();
  if (main && need('flood')) await phaseFlood(main.proc);
  if (need('corpus')) await phaseCorpus();
  if (need('kills')) await phaseKills();
  let crashes = 0;
  for (const c of children) {
    if (c.done) {
      const ex = await c.exited;
      if (ex.signal !== 'SIGTERM' && ex.code !== 0) crashes++;
    }
  }
  if (main) {
    const exitInfo = main.proc.done ? await main.proc.exited : null;
    check(!main.proc.done, `the main server is still running (exit ${JSON.stringify(exitInfo)})`);
    const st = procStats(main.proc.pid);
    figures.mainServerEnd = { fds: st.fds, rssMb: Math.round(st.rssKb / 1024), peakRssMb: Math.round(st.hwmKb / 1024) };
  }
  check(crashes === 0, `${crashes} server processes crashed`);
  figures.faultsInjected = faultsInjected;
  figures.crashes = crashes;
  figures.failures = failures;
  figures.seconds = Math.round((Date.now() - t0) / 1000);
  figures.command = `node dist/test/load/long.js ${process.argv.slice(2).join(' ')}`.trim();
  figures.node = process.version;
  log('');
  log(`summary: connections held ${(figures.connections as { held?: number } | undefined)?.held ?? '-'}, churned ${(figures.churn as { connections?: number } | undefined)?.connections ?? '-'}, faults injected ${faultsInjected}, crashes ${crashes}, invariant failures ${failures.length}, ${figures.seconds} s`);
  if (O.json) writeFileSync(O.json, JSON.stringify(figures, null, 2));
}

main()
  .catch((e) => {
    failures.push(`aborted: ${(e as Error).stack ?? e}`);
    log(`ABORTED: ${(e as Error).stack ?? e}`);
  })
  .finally(async () => {
    for (const c of children) await c.kill().catch(() => undefined);
    await responder?.close().catch(() => undefined);
    await pki?.cleanup().catch(() => undefined);
    tmp.remove();
    process.exit(failures.length === 0 ? 0 : 1);
  });
