// The hostile corpus runner: each case of test/support/hostile-corpus.ts against a real tsnats
// server (in-process, from a config file, with a store_dir), at start-up (`startupCase`) and while
// running (`startRuntimeServer` + `runtimeCheck`: one server per mode with one certificate per case,
// chosen by SNI). Every check is an assertion; used by test/hostile/corpus.test.ts (CI) and
// test/load/long.ts (replayed many times).

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { verifyOcspResponse, parseCertificateChain, type StaplerStatus } from '../../src/ocsp/index.js';
import { startResponder, type IssuedCert, type TestPki, type TestResponder } from '../../src/testkit/index.js';
import { reasonMatches, type CorpusSigners, type HostileCase } from '../support/hostile-corpus.js';
import { cacheFileOf, fingerprint, issueStapled, ocspBlock, probe, sleep, startInProcOutcome, strayFiles, tlsConf, type InProc } from './harness.js';

export const MODES = ['must', 'auto'] as const;
export type Mode = (typeof MODES)[number];

/** Short fetch timeout so the stalling cases take seconds; refreshes are driven by the test. */
export const ENGINE = { fetchTimeoutMs: 1000, minRefreshMs: 600_000, retryBaseMs: 600_000, retryMaxMs: 600_000 };
const SLACK_MS = 6000;

let pki: TestPki;
let signers: CorpusSigners;
let tmp: { dir: string };
let seq = 0;

/** Sets the PKI, the corpus signers and the working directory every run uses. */
export function initCorpusRunner(o: { pki: TestPki; signers: CorpusSigners; dir: string }): void {
  pki = o.pki;
  signers = o.signers;
  tmp = { dir: o.dir };
}

function storeDirFor(id: string): string {
  const d = join(tmp.dir, `store-${id}-${++seq}`);
  mkdirSync(d);
  return d;
}

/** Verifies a cache file's content for `cert` (it must be a genuine response). */
export function verifyCached(der: Buffer, cert: IssuedCert): string {
  const chain = parseCertificateChain(cert.certPem);
  const issuer = parseCertificateChain(pki.root.certPem)[0]!;
  return verifyOcspResponse(der, { leaf: chain[0]!, issuer, now: Date.now() }).status;
}

export interface Run {
  responder: TestResponder;
  cert: IssuedCert;
  storeDir: string;
  cacheFile: string;
}

export async function prepare(c: HostileCase, phase: 'startup' | 'runtime'): Promise<Run> {
  const responder = await startResponder({ issuer: pki.root });
  const aia = phase === 'startup' && c.aia ? (typeof c.aia === 'string' ? c.aia : c.aia(responder.url)) : responder.url;
  const cert = await issueStapled(pki, c.id, aia);
  const storeDir = storeDirFor(c.id);
  return { responder, cert, storeDir, cacheFile: cacheFileOf(storeDir, cert) };
}

export function conf(r: Run, mode: Mode): string {
  return tlsConf({ cert: r.cert, caFile: pki.caFile, ocsp: ocspBlock(mode), storeDir: r.storeDir });
}

export async function startupCase(c: HostileCase, mode: Mode): Promise<void> {
  const r = await prepare(c, 'startup');
  let ts: InProc | undefined;
  try {
    await c.arm({ pki, signers, responder: r.responder, cert: r.cert });
    const t0 = Date.now();
    const out = await startInProcOutcome(tmp.dir, conf(r, mode), { engine: ENGINE });
    const took = Date.now() - t0;
    if (out.ok) ts = out.ts;
    const e = c.expect;
    assert.ok(took < 2 * ENGINE.fetchTimeoutMs + SLACK_MS, `start-up decided in bounded time (${took} ms)`);
    if (e.kind === 'refused' || (e.kind === 'authentic' && mode === 'must')) {
      assert.equal(out.ok, false, 'start-up refused');
      if (out.ok) return;
      if (e.kind === 'refused') {
        const prefix = `bad OCSP status update for certificate at '${r.cert.certFile}': `;
        assert.ok(out.error.startsWith(prefix), `start-up error names the certificate: ${out.error}`);
        assert.ok(reasonMatches(e.reason, out.error), `start-up error gives the reason ${e.reason}: ${out.error}`);
        assert.equal(fingerprint(r.cacheFile), null, 'nothing cached');
      } else {
        assert.equal(out.error, `found existing OCSP status for certificate at '${r.cert.certFile}': ${e.status}`);
        // A genuine answer may be cached; it must then be exactly that genuine answer.
        const f = fingerprint(r.cacheFile);
        if (f) assert.equal(verifyCached(f.bytes, r.cert), e.status);
      }
      assert.deepEqual(strayFiles(r.storeDir), [], 'no temp files left in the store');
      return;
    }
    assert.ok(out.ok, `server started: ${out.ok ? '' : out.error}`);
    if (!out.ok) return;
    const p = await probe(out.ts.port, { ca: pki.root.certPem });
    const want = e.kind === 'authentic' ? e.status : 'good';
    assert.equal(p.status, want, `staple status ${want}`);
    assert.equal(p.serial, r.cert.serialHex.replace(/^0+/, ''));
    const f = fingerprint(r.cacheFile);
    assert.ok(f, 'the accepted response is cached');
    assert.ok(f.bytes.equals(p.staple!), 'the cache holds exactly the staple');
    assert.equal(verifyCached(f.bytes, r.cert), want);
    const st = out.ts.stapler().status();
    if (e.kind === 'bounded') {
      assert.equal(st.next_update, null, 'no nextUpdate');
      assert.equal(Date.parse(st.expires_at!) - Date.parse(st.this_update!), 3_600_000, 'usable for 1 h after thisUpdate');
      assert.ok(out.ts.hasLog(`Found OCSP status for Client certificate at '${r.cert.certFile}': good`));
    }
    if (e.kind === 'authentic') {
      assert.ok(out.ts.hasLog(`[ERR] Found OCSP status for Client certificate at '${r.cert.certFile}': ${e.status}`), 'error logged');
    }
  } finally {
    await ts?.stop();
    await r.responder.close();
  }
}

/**
 * While running: one server per mode serves one certificate per case (chosen by SNI, each with its
 * own responder in its AIA), so a hostile responder for one certificate is also shown not to
 * disturb the others. Genuine revocations get a server of their own (must shuts down).
 */
export interface RuntimeSlot {
  c: HostileCase;
  r: Run;
  name: string;
  staple0: Buffer;
  fp0: ReturnType<typeof fingerprint>;
  st?: StaplerStatus;
  tookMs?: number;
}

export interface RuntimeServer {
  ts: InProc;
  slots: Map<string, RuntimeSlot>;
}

export async function startRuntimeServer(cases: readonly HostileCase[], mode: Mode): Promise<RuntimeServer> {
  const slots = new Map<string, RuntimeSlot>();
  const storeDir = storeDirFor(`runtime-${mode}`);
  const runs: Array<{ c: HostileCase; r: Run; name: string }> = [];
  for (const c of cases) {
    const responder = await startResponder({ issuer: pki.root });
    const name = `${c.id}.corpus.test`;
    const cert = await issueStapled(pki, c.id, responder.url, { dnsNames: [name] });
    runs.push({ c, name, r: { responder, cert, storeDir, cacheFile: cacheFileOf(storeDir, cert) } });
  }
  const text = [
    ocspBlock(mode),
    `store_dir: "${storeDir}"`,
    'tls {',
    `  ca_file: "${pki.caFile}"`,
    '  certs: [',
    ...runs.map(({ r }) => `    { cert_file: "${r.cert.certFile}", key_file: "${r.cert.keyFile}" }`),
    '  ]',
    '}',
  ].join('\n');
  const out = await startInProcOutcome(tmp.dir, text, { engine: ENGINE });
  if (!out.ok) {
    for (const { r } of runs) await r.responder.close();
    throw new Error(`runtime server (${mode}) did not start: ${out.error}`);
  }
  const ts = out.ts;
  for (const { c, r, name } of runs) {
    const p0 = await probe(ts.port, { ca: pki.root.certPem, servername: name });
    assert.equal(p0.serial, r.cert.serialHex.replace(/^0+/, ''), `${c.id}: its certificate is served`);
    assert.equal(p0.status, 'good', `${c.id}: good before the fault`);
    const fp0 = fingerprint(r.cacheFile);
    assert.ok(fp0 && fp0.bytes.equals(p0.staple!), `${c.id}: the good staple is cached`);
    slots.set(c.id, { c, r, name, staple0: p0.staple!, fp0 });
  }
  // Arm every case, then refresh every stapler at once.
  const byCert = new Map(ts.staplers().map((s) => [s.certPath, s]));
  await Promise.all(
    [...slots.values()].map(async (sl) => {
      await (sl.c.armRuntime ?? sl.c.arm)({ pki, signers, responder: sl.r.responder, cert: sl.r.cert });
      const stapler = byCert.get(sl.r.cert.certFile);
      assert.ok(stapler, `${sl.c.id}: stapler in service`);
      const t0 = Date.now();
      sl.st = await stapler.refresh();
      sl.tookMs = Date.now() - t0;
    }),
  );
  return { ts, slots };
}

export async function runtimeCheck(srv: RuntimeServer, id: string, mode: Mode): Promise<void> {
  const { ts } = srv;
  const sl = srv.slots.get(id)!;
  const { c, r, st } = sl;
  assert.ok(st);
  assert.ok(sl.tookMs! < 2 * ENGINE.fetchTimeoutMs + SLACK_MS, `the refresh ends in bounded time (${sl.tookMs} ms)`);
  const e = c.expect;
  const stapler = ts.staplers().find((s) => s.certPath === r.cert.certFile)!;
  if (e.kind === 'refused') {
    assert.equal(st.status, 'good', 'still serving the earlier good staple');
    assert.ok(st.consecutive_failures >= 1);
    assert.ok(st.last_error && reasonMatches(e.reason, st.last_error), `status names the reason: ${st.last_error}`);
    const line = ts.logs.find((l) => l.includes(`[ERR] Bad OCSP status update for certificate '${r.cert.certFile}': `));
    assert.ok(line, 'error logged');
    assert.ok(reasonMatches(e.reason, line), `log line gives the reason ${e.reason}: ${line}`);
    assert.match(line, /, trying again in \S+$/);
    const p1 = await probe(ts.port, { ca: pki.root.certPem, servername: sl.name });
    assert.ok(p1.staple && p1.staple.equals(sl.staple0), 'a real client receives the earlier staple, byte for byte');
    assert.deepEqual(fingerprint(r.cacheFile), sl.fp0, 'cache file untouched (bytes, inode, mtime)');
    assert.ok(ts.server.isRunning, 'server up');
    // Heals when the responder does (responders that were shut down stay down).
    if (c.id !== 'connection-refused' && c.id !== 'dns-failure') {
      r.responder.setFault(null);
      // thisUpdate one second earlier than any response so far: a different DER without waiting.
      r.responder.setValidity({ thisUpdateOffsetMs: -1000 });
      const healed = await stapler.refresh();
      assert.equal(healed.status, 'good');
      assert.equal(healed.consecutive_failures, 0);
      const fp2 = fingerprint(r.cacheFile);
      const p2 = await probe(ts.port, { ca: pki.root.certPem, servername: sl.name });
      assert.ok(fp2 && p2.staple && fp2.bytes.equals(p2.staple), 'the new good staple is served and cached');
      assert.ok(!p2.staple!.equals(sl.staple0), 'a fresh staple');
    }
    return;
  }
  if (e.kind === 'authentic') {
    if (mode === 'must') {
      const code = await Promise.race([ts.server.exited, sleep(5000).then(() => 'timeout' as const)]);
      assert.equal(code, 20, 'must: a genuine revoked/unknown status shuts the server down with exit status 20');
      assert.ok(ts.hasLog(`Shutting down: OCSP status of certificate '${r.cert.certFile}' is ${e.status}`));
    } else {
      assert.equal(st.status, e.status);
      const p1 = await probe(ts.port, { ca: pki.root.certPem, servername: sl.name });
      assert.equal(p1.status, e.status, 'auto: the genuine answer is stapled');
      assert.ok(ts.server.isRunning);
      const f = fingerprint(r.cacheFile);
      assert.ok(f && f.bytes.equals(p1.staple!));
    }
    assert.ok(ts.hasLog(`[ERR] Received OCSP status for Client certificate '${r.cert.certFile}': ${e.status}`));
    return;
  }
  assert.equal(st.status, 'good');
  const p1 = await probe(ts.port, { ca: pki.root.certPem, servername: sl.name });
  assert.equal(p1.status, 'good');
  const f = fingerprint(r.cacheFile);
  assert.ok(f && f.bytes.equals(p1.staple!), 'the accepted response is served and cached');
  if (e.kind === 'bounded') {
    assert.equal(st.next_update, null);
    assert.equal(Date.parse(st.expires_at!) - Date.parse(st.this_update!), 3_600_000);
  }
}


/** Stops a runtime server and its responders; asserts no temp file was left in its store. */
export async function closeRuntimeServer(s: RuntimeServer): Promise<void> {
  await s.ts.stop();
  for (const sl of s.slots.values()) await sl.r.responder.close();
  const sl = s.slots.values().next().value;
  if (sl) assert.deepEqual(strayFiles(sl.r.storeDir), [], 'no temp files left in the shared store');
}
