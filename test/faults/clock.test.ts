// The wall clock jumping forward and backward.
//
//   engine (injectable clock and timers, a real TLS server and responder): a jump past nextUpdate
//   stops the staple at once (status expired, event, never served); a response that is stale or
//   future for the jumped clock is refused and nothing changes; a jump back does not extend a
//   staple past its nextUpdate once time catches up; scheduling delays stay finite, ≥ 1 s and
//   within their caps whatever the clock does.
//
//   real process (bin/tsnats with `Date` shifted by an --import preload, test/faults/
//   preload-clock.ts): +2 h → handshakes go on without a staple, /ocspz says expired; back to 0 →
//   the still-valid staple is served again; −2 h → served, no crash; a restart at −2 h refuses the
//   cached and the fetched responses (thisUpdate in the future) with the reason.

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { computeRefreshDelay, computeRetryDelay, createStapler, DEFAULT_REFRESH_POLICY, type StaplerTimers } from '../../src/ocsp/index.js';
import { startResponder, type TestPki, type TestResponder } from '../../src/testkit/index.js';
import { cacheFileOf, getJson, issueStapled, makePki, ocspBlock, sleep, spawnTsnats, tempDir, tlsConf, type Child } from '../hostile/harness.js';

const H = 3_600_000;

let pki: TestPki;
let tmp: { dir: string; remove(): void };
let r: TestResponder;
const children: Child[] = [];

before(async () => {
  pki = await makePki();
  tmp = tempDir('faults-clock');
  r = await startResponder({ issuer: pki.root });
});
after(async () => {
  for (const c of children) await c.kill();
  await r?.close();
  await pki?.cleanup();
  tmp?.remove();
});

/** A wall clock that jumps, and timers that fire only when `advance` passes them. */
class JumpClock implements StaplerTimers {
  t = Date.now();
  private seq = 0;
  private timers: { id: number; at: number; fn: () => void }[] = [];
  now = (): number => this.t;
  setTimeout(fn: () => void, ms: number): unknown {
    assert.ok(Number.isFinite(ms) && ms >= 0, `timer delay ${ms} must be finite and non-negative`);
    const id = ++this.seq;
    this.timers.push({ id, at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  /** Moves the wall clock (timers are scheduled against it, as in the engine). */
  jump(ms: number): void {
    this.t += ms;
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
      await sleep(0);
    }
    this.t = end;
  }
  pending(): number[] {
    return this.timers.map((x) => x.at - this.t);
  }
}

/** A TLS server with the stapler attached, and a client asking for a status. */
async function tlsWith(stapler: { attach(s: tls.Server): () => void }, cert: { certPem: string; keyPem: string }) {
  const server = tls.createServer({ cert: cert.certPem, key: cert.keyPem });
  stapler.attach(server);
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as AddressInfo).port;
  const handshake = () =>
    new Promise<Buffer | null>((res, rej) => {
      let staple: Buffer | null = null;
      const s = tls.connect({ port, host: '127.0.0.1', ca: pki.root.certPem, servername: 'localhost', requestOCSP: true } as tls.ConnectionOptions);
      s.on('OCSPResponse', (b: Buffer) => (staple = b));
      s.once('secureConnect', () => {
        s.destroy();
        res(staple);
      });
      s.once('error', rej);
    });
  return { handshake, close: () => new Promise<void>((res) => server.close(() => res())) };
}

describe('clock jumps: the engine with an injectable clock, over real TLS', () => {
  it('forward past nextUpdate: the staple stops at once; stale and future responses are refused; back again: never past nextUpdate', async () => {
    const clock = new JumpClock();
    const cert = await issueStapled(pki, 'clock-engine', r.url);
    const events: string[] = [];
    const stapler = await createStapler({
      cert: cert.certPem,
      ca: pki.root.certPem,
      mode: 'must',
      now: clock.now,
      timers: clock,
      memory: false,
      fetchTimeoutMs: 3000,
    });
    stapler.on('expired', () => events.push('expired'));
    stapler.on('error', () => events.push('error'));
    const t = await tlsWith(stapler, cert);
    try {
      const first = await t.handshake();
      assert.ok(first, 'stapled');
      const st0 = stapler.status();
      const expiresAt = Date.parse(st0.expires_at!);

      // +2 h: past nextUpdate (1 h). Nothing is served, status expired, event fired.
      clock.jump(2 * H);
      assert.equal(await t.handshake(), null, 'no staple after a forward jump past nextUpdate');
      await sleep(5);
      assert.equal(stapler.status().status, 'expired');
      assert.ok(events.includes('expired'), 'expired event');
      // The responder's response (real time) is stale for this clock: refused, still expired.
      const st1 = await stapler.refresh();
      assert.equal(st1.status, 'expired');
      assert.match(st1.last_error ?? '', /invalid ocsp NextUpdate, is past time/);
      assert.equal(await t.handshake(), null);

      // Back to real time: the staple held is valid again by the clock, and is served.
      clock.jump(-2 * H);
      assert.ok((await t.handshake())?.equals(first), 'valid by the clock: served again');
      // −2 h: responses from the responder are 2 h in the future: refused; the staple stays.
      clock.jump(-2 * H);
      const st2 = await stapler.refresh();
      assert.match(st2.last_error ?? '', /invalid ocsp ThisUpdate, is future time/);
      assert.ok((await t.handshake())?.equals(first), 'a backward jump keeps the staple');
      for (const d of clock.pending()) assert.ok(Number.isFinite(d), 'timers stay finite');

      // Time runs forward again to the staple's nextUpdate with the responder down (else a
      // refresh on the way would rightly fetch a newer staple): from then on, never served.
      r.setFault({ type: 'http-status', status: 503 });
      clock.jump(2 * H);
      await clock.advance(Math.max(0, expiresAt - clock.t - 1000));
      assert.ok((await t.handshake())?.equals(first), 'just before nextUpdate: served');
      await clock.advance(1001);
      assert.equal(await t.handshake(), null, 'at nextUpdate: not served, whatever the clock did before');
      assert.equal(stapler.status().status, 'expired');
    } finally {
      r.setFault(null);
      stapler.close();
      await t.close();
    }
  });

  it('scheduling stays sane for any clock: delays finite, ≥ 1 s, within their caps', () => {
    let seed = 0x2545f491;
    const rnd = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return ((seed >>> 0) % 1_000_000) / 1_000_000;
    };
    const now = Date.now();
    for (let i = 0; i < 20_000; i++) {
      const jump = (rnd() - 0.5) * 20 * 24 * H; // ±10 days
      const thisUpdate = now + (rnd() - 0.5) * 4 * H;
      const expiresAt = thisUpdate + rnd() * 48 * H;
      const d = computeRefreshDelay(now + jump, thisUpdate, expiresAt, rnd);
      assert.ok(Number.isFinite(d) && d >= 1000 && d <= DEFAULT_REFRESH_POLICY.maxRefreshMs, `refresh delay ${d}`);
      const f = 1 + Math.floor(rnd() * 40);
      const rem = rnd() < 0.3 ? undefined : (rnd() - 0.3) * 10 * H;
      const rd = computeRetryDelay(f, rnd, DEFAULT_REFRESH_POLICY, rem);
      assert.ok(Number.isFinite(rd) && rd >= 1000 && rd <= DEFAULT_REFRESH_POLICY.retryMaxMs, `retry delay ${rd}`);
    }
  });
});

describe('clock jumps: a real tsnats process with a shifted Date (--import preload)', () => {
  it('+2 h: no staple, handshakes go on, /ocspz expired; back: served; −2 h: served; restart at −2 h: refused with the reason', async () => {
    const PRELOAD = resolve('dist/test/faults/preload-clock.js');
    const clockFile = join(tmp.dir, 'clock-offset');
    const setOffset = async (ms: number): Promise<void> => {
      writeFileSync(clockFile, String(ms));
      await sleep(80); // the preload re-reads every 20 ms
    };
    await setOffset(0);
    const cert = await issueStapled(pki, 'clock-process', r.url);
    const sd = join(tmp.dir, 'store');
    mkdirSync(sd);
    const text = tlsConf({ cert, caFile: pki.caFile, ocsp: ocspBlock('must'), storeDir: sd });
    const env = { TSNATS_TEST_CLOCK_FILE: clockFile };
    const { probe } = await import('../hostile/harness.js');
    let out = await spawnTsnats(tmp.dir, text, { preload: [PRELOAD], env, monitor: true, failFast: /\[FTL\]/ });
    children.push(out.proc);
    assert.ok(out.ready, out.proc.out());
    const port = out.proc.port;
    const mon = out.proc.monitorPort;
    const p0 = await probe(port, { ca: pki.root.certPem });
    assert.equal(p0.status, 'good');

    await setOffset(2 * H);
    const p1 = await probe(port, { ca: pki.root.certPem });
    assert.equal(p1.staple, null, '+2 h: no staple (the server sees it expired), handshake fine');
    let z = await getJson<{ certificates: { status: string }[] }>(mon, '/ocspz');
    assert.equal(z.certificates[0]!.status, 'expired');
    await sleep(50);
    assert.match(out.proc.out(), new RegExp(`\\[ERR\\] OCSP staple for certificate '${cert.certFile}' expired at `));

    await setOffset(0);
    const p2 = await probe(port, { ca: pki.root.certPem });
    assert.ok(p2.staple?.equals(p0.staple!), 'clock back: the still-valid staple is served again');
    z = await getJson(mon, '/ocspz');
    assert.equal(z.certificates[0]!.status, 'good');

    await setOffset(-2 * H);
    const p3 = await probe(port, { ca: pki.root.certPem });
    assert.ok(p3.staple?.equals(p0.staple!), '−2 h: still served (valid until its nextUpdate), no crash');
    assert.equal(out.proc.done, false);
    await out.proc.kill();

    // Restart with the clock 2 h behind: the cached response and the responder's are from the future.
    out = await spawnTsnats(tmp.dir, text, { preload: [PRELOAD], env, failFast: /\[FTL\]/ });
    children.push(out.proc);
    assert.equal(out.ready, false, 'refused');
    const log = out.proc.out();
    assert.ok(log.includes(`[WRN] Ignoring cached OCSP status for certificate at '${cert.certFile}' in '${cacheFileOf(sd, cert)}': invalid ocsp ThisUpdate, is future time`), log);
    assert.match(log, new RegExp(`\\[FTL\\] bad OCSP status update for certificate at '${cert.certFile}': failed to get remote status: invalid ocsp ThisUpdate, is future time`));
  });
});
