// Responder faults around a real tsnats process (bin/tsnats, restarted as an operator would):
//
//   - responder down at start-up, without a cache: refused with nats-server's message, nothing
//     cached; with a valid cached staple: starts from the store_dir and staples it; with an
//     expired cached staple: the cache is ignored with a warning and start-up is refused;
//   - responder going down while running and staying down past nextUpdate: handshakes never fail,
//     no staple is ever sent past its nextUpdate, status `expired` is visible in /ocspz and
//     /varz, the expiry is logged; when the responder comes back, stapling resumes by itself;
//   - DNS failure of a responder host name: refused alone, failed over when another URL works.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sharedStapleMemory } from '../../src/ocsp/index.js';
import { startResponder, type TestPki, type TestResponder } from '../../src/testkit/index.js';
import {
  cacheFileOf,
  fingerprint,
  getJson,
  issueStapled,
  makePki,
  ocspBlock,
  probe,
  sleep,
  spawnTsnats,
  startInProcOutcome,
  tempDir,
  tlsConf,
  waitFor,
  type Child,
} from '../hostile/harness.js';

let pki: TestPki;
let tmp: { dir: string; remove(): void };
let n = 0;
const children: Child[] = [];
const responders: TestResponder[] = [];

before(async () => {
  pki = await makePki();
  tmp = tempDir('faults-outage');
});
after(async () => {
  for (const c of children) await c.kill();
  for (const r of responders) await r.close().catch(() => undefined);
  await pki?.cleanup();
  tmp?.remove();
});

async function responder(port?: number): Promise<TestResponder> {
  const r = await startResponder({ issuer: pki.root, port });
  responders.push(r);
  return r;
}

function store(): string {
  const d = join(tmp.dir, `store-${++n}`);
  mkdirSync(d);
  return d;
}

async function spawn(text: string, monitor = false) {
  const out = await spawnTsnats(tmp.dir, text, { monitor, failFast: /\[FTL\]/ });
  children.push(out.proc);
  return out;
}

describe('responder down at start-up', () => {
  it('no cached staple: refused in must and auto with the reason; nothing cached', async () => {
    const r = await responder();
    const cert = await issueStapled(pki, 'down-nocache', r.url);
    await r.close();
    for (const mode of ['must', 'auto']) {
      const sd = store();
      const out = await startInProcOutcome(tmp.dir, tlsConf({ cert, caFile: pki.caFile, ocsp: ocspBlock(mode), storeDir: sd }));
      assert.equal(out.ok, false);
      if (out.ok) continue;
      assert.match(out.error, new RegExp(`^bad OCSP status update for certificate at '${cert.certFile}': exhausted ocsp servers: POST http://127\\.0\\.0\\.1:\\d+/?: connect ECONNREFUSED`));
      assert.equal(fingerprint(cacheFileOf(sd, cert)), null);
    }
  });

  it('valid cached staple: starts from the store_dir and staples exactly the cached response', async () => {
    const r = await responder();
    const cert = await issueStapled(pki, 'down-cache', r.url);
    const sd = store();
    const text = tlsConf({ cert, caFile: pki.caFile, ocsp: ocspBlock('must'), storeDir: sd });
    const first = await spawn(text);
    assert.ok(first.ready, first.proc.out());
    const p0 = await probe(first.proc.port, { ca: pki.root.certPem });
    await first.proc.kill();
    const cached = fingerprint(cacheFileOf(sd, cert));
    assert.ok(cached && p0.staple && cached.bytes.equals(p0.staple));
    await r.close();

    const second = await spawn(text, true);
    assert.ok(second.ready, second.proc.out());
    assert.match(second.proc.out(), new RegExp(`Found OCSP status for Client certificate at '${cert.certFile}': good`));
    const p1 = await probe(second.proc.port, { ca: pki.root.certPem });
    assert.ok(p1.staple?.equals(cached.bytes), 'the cached staple is served');
    const z = await getJson<{ certificates: { status: string; source: string }[] }>(second.proc.monitorPort, '/ocspz');
    assert.equal(z.certificates[0]!.status, 'good');
    assert.equal(z.certificates[0]!.source, 'disk');
    assert.deepEqual(fingerprint(cacheFileOf(sd, cert)), cached, 'cache untouched');
    await second.proc.kill();
  });

  it('expired cached staple: ignored with a warning, start-up refused, file left as it was', async () => {
    const r = await responder();
    r.setValidity({ nextUpdateMs: 1500 });
    const cert = await issueStapled(pki, 'down-expired-cache', r.url);
    const sd = store();
    const text = tlsConf({ cert, caFile: pki.caFile, ocsp: ocspBlock('must'), storeDir: sd });
    const first = await startInProcOutcome(tmp.dir, text);
    assert.ok(first.ok, first.ok ? '' : first.error);
    if (first.ok) await first.ts.stop();
    await r.close();
    const cached = fingerprint(cacheFileOf(sd, cert));
    assert.ok(cached);
    await sleep(1600);
    sharedStapleMemory.clear(); // a restart: nothing in memory (the tests of this file run one at a time)
    const second = await startInProcOutcome(tmp.dir, text);
    assert.equal(second.ok, false);
    if (second.ok) return;
    assert.ok(second.error.startsWith(`bad OCSP status update for certificate at '${cert.certFile}'`), second.error);
    assert.ok(
      second.logs.some((l) => l.includes(`[WRN] Ignoring cached OCSP status for certificate at '${cert.certFile}' in '${cacheFileOf(sd, cert)}': invalid ocsp NextUpdate, is past time`)),
      'the expired cache file is ignored with a warning',
    );
    assert.deepEqual(fingerprint(cacheFileOf(sd, cert)), cached);
  });
});

describe('responder going down while running, staying down past nextUpdate', () => {
  it('no failed handshake, never a staple past its nextUpdate, status expired visible, recovery when it returns', async () => {
    const r = await responder();
    const port = r.port;
    r.setValidity({ nextUpdateMs: 3000 });
    const cert = await issueStapled(pki, 'outage', r.url);
    const sd = store();
    const out = await spawn(tlsConf({ cert, caFile: pki.caFile, ocsp: ocspBlock('must'), storeDir: sd }), true);
    assert.ok(out.ready, out.proc.out());
    const proc = out.proc;
    const p0 = await probe(proc.port, { ca: pki.root.certPem });
    assert.equal(p0.status, 'good');
    const expiresAt = p0.nextUpdate!;
    await r.close(); // down: connection refused from now on

    // Handshakes every 100 ms until 1.5 s after the staple's nextUpdate.
    let ok = 0;
    let stapled = 0;
    let unstapled = 0;
    const failures: string[] = [];
    const late: string[] = [];
    while (Date.now() < expiresAt + 1500) {
      try {
        const p = await probe(proc.port, { ca: pki.root.certPem, timeoutMs: 5000 });
        ok++;
        if (p.staple) {
          stapled++;
          // The server chose the staple between startedAt and doneAt: late only if already expired at the start.
          if (p.nextUpdate! <= p.startedAt) late.push(`staple with nextUpdate ${new Date(p.nextUpdate!).toISOString()} in a handshake started at ${new Date(p.startedAt).toISOString()}`);
        } else unstapled++;
      } catch (e) {
        failures.push((e as Error).message);
      }
      await sleep(100);
    }
    assert.deepEqual(failures, [], 'no handshake failed');
    assert.deepEqual(late, [], 'never a staple at or past its nextUpdate');
    assert.ok(stapled > 0 && unstapled > 0, `stapled ${stapled} before expiry, ${unstapled} without after (${ok} handshakes)`);

    const z = await getJson<{ worst_status: string; certificates: { status: string; warning: boolean; warning_reason: string }[] }>(proc.monitorPort, '/ocspz');
    assert.equal(z.certificates[0]!.status, 'expired');
    assert.equal(z.certificates[0]!.warning, true);
    assert.equal(z.certificates[0]!.warning_reason, 'expired');
    const v = await getJson<{ ocsp: { worst_status: string; num_warnings: number } }>(proc.monitorPort, '/varz');
    assert.equal(v.ocsp.worst_status, 'expired');
    assert.equal(v.ocsp.num_warnings, 1);
    const log = proc.out();
    assert.ok(log.includes(`[ERR] OCSP staple for certificate '${cert.certFile}' expired at `), 'expiry logged');
    assert.match(log, new RegExp(`\\[ERR\\] Bad OCSP status update for certificate '${cert.certFile}': exhausted ocsp servers: .*ECONNREFUSED`));
    assert.equal(proc.done, false, 'must mode does not shut down for an outage');
    const cached = fingerprint(cacheFileOf(sd, cert));
    assert.ok(cached && p0.staple!.equals(cached.bytes), 'the cache still holds the last good response (the server never deletes it)');

    // The responder comes back on the same port. The server's own retries are backing off by now
    // (10 s, 20 s, 40 s, ... capped at 10 min); an operator's SIGHUP fetches at once.
    const back = await responder(port).catch(() => undefined);
    if (!back) return; // port taken meanwhile: recovery is covered by the corpus tests
    proc.child.kill('SIGHUP');
    assert.ok(
      await waitFor(async () => (await probe(proc.port, { ca: pki.root.certPem })).status === 'good', 10_000, 200),
      'stapling resumes once the responder answers again (after SIGHUP)',
    );
    const z2 = await getJson<{ certificates: { status: string }[] }>(proc.monitorPort, '/ocspz');
    assert.equal(z2.certificates[0]!.status, 'good');
    await proc.kill();
  });
});

describe('DNS failure for a responder host name', () => {
  it('alone: refused with the resolver error; with a working second URL: fails over and staples', async () => {
    const r = await responder();
    const cert = await issueStapled(pki, 'dns', r.url);
    const bad = 'http://nonexistent.invalid/';
    let out = await startInProcOutcome(tmp.dir, tlsConf({ cert, caFile: pki.caFile, ocsp: ocspBlock('must', [bad]), storeDir: store() }), {
      engine: { fetchTimeoutMs: 3000 },
    });
    assert.equal(out.ok, false);
    if (!out.ok) {
      assert.ok(out.error.startsWith(`bad OCSP status update for certificate at '${cert.certFile}': exhausted ocsp servers: POST http://nonexistent.invalid/`), out.error);
      assert.match(out.error, /ENOTFOUND|EAI_AGAIN/);
    }
    out = await startInProcOutcome(tmp.dir, tlsConf({ cert, caFile: pki.caFile, ocsp: ocspBlock('must', [bad, r.url]), storeDir: store() }), {
      engine: { fetchTimeoutMs: 3000 },
    });
    assert.ok(out.ok, out.ok ? '' : out.error);
    if (!out.ok) return;
    try {
      const p = await probe(out.ts.port, { ca: pki.root.certPem });
      assert.equal(p.status, 'good');
      const st = out.ts.stapler().status();
      assert.equal(st.counters.responders['http://nonexistent.invalid']?.failed, 2, 'POST and GET failed on the unresolvable name');
      assert.equal(st.counters.responders[r.url]?.ok, 1);
    } finally {
      await out.ts.stop();
    }
  });
});
