import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  OcspStartupError,
  StapleMemory,
  computeRefreshDelay,
  computeRetryDelay,
  createStapler,
  DEFAULT_REFRESH_POLICY,
  type OcspMode,
  type Stapler,
  type StaplerOptions,
} from '../../src/ocsp/index.js';
import type { IssuedCert } from '../../src/testkit/index.js';
import { FakeClock, recordingLogger, setup, waitFor, type Env } from './helpers.js';

const H = 3_600_000;

describe('ocsp stapler: start-up per mode and certificate kind', () => {
  let env: Env;
  const opened: Stapler[] = [];
  const make = async (cert: IssuedCert, mode: OcspMode | undefined, extra: Partial<StaplerOptions> = {}): Promise<Stapler> => {
    const s = await createStapler({
      cert: cert.certPem,
      ca: env.pki.root.certPem,
      mode,
      certPath: cert.certFile,
      memory: false,
      fetchTimeoutMs: 2000,
      ...extra,
    });
    opened.push(s);
    return s;
  };
  before(async () => {
    env = await setup();
  });
  after(async () => {
    for (const s of opened) s.close();
    await env.close();
  });
  const reset = (): void => {
    env.responder.setFault(null);
    env.responder.setDefault('good');
    env.responder.resetRequests();
    for (const c of [env.pki.serverMustStaple, env.pki.server]) env.responder.setStatus(c.serialHex, 'good');
  };

  const table: [OcspMode | undefined, 'serverMustStaple' | 'server', boolean][] = [
    [undefined, 'serverMustStaple', true],
    [undefined, 'server', false],
    ['auto', 'serverMustStaple', true],
    ['auto', 'server', false],
    ['must', 'serverMustStaple', true],
    ['must', 'server', false],
    ['always', 'serverMustStaple', true],
    ['always', 'server', true],
    ['never', 'serverMustStaple', false],
    ['never', 'server', false],
  ];
  for (const [mode, kind, stapled] of table) {
    it(`mode ${mode ?? '(default)'} × ${kind}: ${stapled ? 'stapled before ready' : 'not stapled, no request'}`, async () => {
      reset();
      const log = recordingLogger();
      const cert = env.pki[kind];
      const s = await make(cert, mode, { logger: log });
      assert.equal(s.enabled, stapled);
      assert.equal(s.mode, mode ?? 'auto');
      if (stapled) {
        assert.ok(s.current());
        assert.equal(s.status().status, 'good');
        assert.equal(env.responder.requests.total, 1);
        assert.ok(
          log.find(new RegExp(`^Found OCSP status for Client certificate at '${cert.certFile}': good, next update \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ, checking again in (\\d+h)?(\\d+m)?[\\d.]+s$`)),
          JSON.stringify(log.lines),
        );
      } else {
        assert.equal(s.current(), undefined);
        assert.equal(s.status().status, 'none');
        assert.equal(s.status().stapling, false);
        assert.equal(env.responder.requests.total, 0);
      }
      if (mode === 'never' && kind === 'serverMustStaple') {
        assert.deepEqual(log.all('warn'), [`Certificate at '${cert.certFile}' has MustStaple but OCSP is disabled`]);
      } else {
        assert.deepEqual(log.all('warn'), []);
      }
      s.close();
    });
  }

  it('refuses to start when no staple can be had (auto with Must-Staple, always), as nats-server', async () => {
    reset();
    env.responder.setFault({ type: 'http-status', status: 500 });
    for (const [mode, cert] of [
      ['auto', env.pki.serverMustStaple],
      ['must', env.pki.serverMustStaple],
      ['always', env.pki.server],
    ] as const) {
      await assert.rejects(make(cert, mode), (e: unknown) => {
        assert.ok(e instanceof OcspStartupError);
        assert.equal(e.code, 'ERR_OCSP_STARTUP_FETCH');
        assert.equal(e.certPath, cert.certFile);
        assert.match(
          e.message,
          new RegExp(`^bad OCSP status update for certificate at '${cert.certFile}': exhausted ocsp servers: non-ok http status on POST request \\(reqlen=\\d+\\): 500\nnon-ok http status on GET request \\(reqlen=\\d+\\): 500$`),
        );
        return true;
      });
    }
    // a certificate that is not stapled starts regardless
    const s = await make(env.pki.server, 'auto');
    assert.equal(s.enabled, false);
  });

  it('Must-Staple without any responder URL: `no available ocsp servers`', async () => {
    reset();
    await assert.rejects(make(env.pki.serverMustStapleNoAia, 'auto'), {
      message: `bad OCSP status update for certificate at '${env.pki.serverMustStapleNoAia.certFile}': no available ocsp servers`,
    });
  });

  it('the url override replaces the AIA (and rescues a certificate without one)', async () => {
    reset();
    const s = await make(env.pki.serverMustStapleNoAia, 'must', { urls: [env.responder.url] });
    assert.ok(s.current());
    assert.deepEqual(s.status().responder_urls, [env.responder.url]);
    const dead = 'http://127.0.0.1:9/';
    const t = await make(env.pki.serverMustStaple, 'auto', { urls: [dead, env.responder.url] });
    assert.ok(t.current());
    assert.deepEqual(t.status().responder_urls, [dead, env.responder.url]);
  });

  for (const mode of ['must', 'always'] as const) {
    for (const status of ['revoked', 'unknown'] as const) {
      it(`${mode}: refuses to start on a ${status} status`, async () => {
        reset();
        env.responder.setStatus(env.pki.serverMustStaple.serialHex, status);
        await assert.rejects(make(env.pki.serverMustStaple, mode), {
          code: 'ERR_OCSP_STARTUP_STATUS',
          message: `found existing OCSP status for certificate at '${env.pki.serverMustStaple.certFile}': ${status}`,
        });
      });
    }
  }

  it('auto: starts with a revoked staple, serves it and logs an error', async () => {
    reset();
    env.responder.setStatus(env.pki.serverMustStaple.serialHex, 'revoked');
    const log = recordingLogger();
    const s = await make(env.pki.serverMustStaple, 'auto', { logger: log });
    assert.ok(s.current());
    assert.equal(s.status().status, 'revoked');
    assert.deepEqual(log.all('error'), [`Found OCSP status for Client certificate at '${env.pki.serverMustStaple.certFile}': revoked`]);
    assert.ok(s.status().next_refresh, 'keeps checking');
  });

  it('requireInitial: false returns a stapler that keeps trying', async () => {
    reset();
    env.responder.setFault({ type: 'http-status', status: 503 });
    const log = recordingLogger();
    const s = await make(env.pki.serverMustStaple, 'must', { requireInitial: false, logger: log });
    assert.equal(s.current(), undefined);
    assert.equal(s.status().status, 'error');
    assert.equal(s.status().warning, true);
    assert.match(log.all('error')[0]!, /^Bad OCSP status update for certificate '.*': exhausted ocsp servers: .*, trying again in \d+(\.\d+)?s$/s);
    env.responder.setFault(null);
    await s.refresh();
    assert.ok(s.current());
    assert.equal(s.status().status, 'good');
    assert.equal(s.status().consecutive_failures, 0);
  });

  it('issuer errors surface at start-up with nats-server texts', async () => {
    reset();
    await assert.rejects(
      createStapler({ cert: env.pki.serverViaIntermediate.certPem + env.pki.otherRoot.certPem, mode: 'always' }),
      { message: 'no issuers found' },
    );
    await assert.rejects(createStapler({ cert: env.pki.serverMustStaple.certPem, ca: 'junk' }), { code: 'ERR_OCSP_CA_PARSE', message: /^failed to parse ca_file: / });
    await assert.rejects(createStapler({ cert: 'junk' }), { message: 'no certificate found' });
    await assert.rejects(createStapler({ cert: env.pki.server.certPem, mode: 'sometimes' as OcspMode }), { code: 'ERR_OCSP_INVALID_OPTION' });
  });

  it('reuses a staple held in memory (reload) and re-validates it', async () => {
    reset();
    const memory = new StapleMemory();
    const a = await make(env.pki.serverMustStaple, 'auto', { memory });
    env.responder.resetRequests();
    const b = await make(env.pki.serverMustStaple, 'auto', { memory });
    assert.equal(env.responder.requests.total, 0);
    assert.equal(b.status().source, 'memory');
    assert.deepEqual(b.current(), a.current());
  });

  it('status() is JSON-friendly and complete', async () => {
    reset();
    const s = await make(env.pki.serverMustStaple, 'must');
    const st = s.status();
    assert.deepEqual(JSON.parse(JSON.stringify(st)), st);
    for (const k of [
      'certificate', 'subject', 'serial', 'sha256', 'mode', 'must_staple', 'responder_urls', 'status', 'this_update', 'next_update',
      'produced_at', 'next_refresh', 'last_attempt', 'consecutive_failures', 'source', 'warning', 'counters',
    ]) {
      assert.ok(k in st, k);
    }
    assert.equal(st.serial, env.pki.serverMustStaple.serialHex);
    assert.equal(st.mode, 'must');
    assert.equal(st.must_staple, true);
    assert.equal(st.source, 'responder');
    assert.equal(st.last_attempt!.method, 'POST');
    assert.equal(st.last_attempt!.http_status, 200);
    assert.equal(st.last_attempt!.error, null);
    assert.equal(st.counters.fetches_ok, 1);
    assert.equal(st.counters.responders[env.responder.url]!.ok, 1);
  });
});

describe('ocsp stapler: runtime behaviour (fake clock)', () => {
  let env: Env;
  const clock = new FakeClock();
  const opened: Stapler[] = [];
  const make = async (cert: IssuedCert, mode: OcspMode, extra: Partial<StaplerOptions> = {}): Promise<Stapler> => {
    const s = await createStapler({
      cert: cert.certPem,
      ca: env.pki.root.certPem,
      mode,
      certPath: cert.certFile,
      memory: false,
      now: clock.now,
      timers: clock,
      random: () => 0.5,
      fetchTimeoutMs: 2000,
      ...extra,
    });
    opened.push(s);
    return s;
  };
  const reset = (): void => {
    for (const s of opened.splice(0)) s.close(); // no timers of earlier tests on the shared clock
    env.responder.setFault(null);
    env.responder.setValidity({ nextUpdateMs: 2 * H });
    env.responder.setStatus(env.pki.serverMustStaple.serialHex, 'good');
    env.responder.resetRequests();
  };
  before(async () => {
    env = await setup({ now: clock.now });
  });
  after(async () => {
    for (const s of opened) s.close();
    await env.close();
  });

  it('refreshes around the middle of the window, with jitter, never late', async () => {
    reset();
    const delays: number[] = [];
    for (const r of [0, 0.5, 0.999]) {
      const s = await make(env.pki.serverMustStaple, 'auto', { random: () => r });
      const st = s.status();
      const delay = Date.parse(st.next_refresh!) - clock.now();
      const thisUpdate = Date.parse(st.this_update!);
      const nextUpdate = Date.parse(st.next_update!);
      const at = (clock.now() + delay - thisUpdate) / (nextUpdate - thisUpdate);
      assert.ok(at >= 0.39 && at <= 0.51, `refresh at ${at} of the window`);
      delays.push(delay);
      s.close();
    }
    assert.ok(delays[0]! > delays[1]! && delays[1]! > delays[2]!, `jitter spreads: ${delays}`);
    // default random: different staplers pick different points
    const a = await make(env.pki.serverMustStaple, 'auto', { random: Math.random });
    const b = await make(env.pki.serverMustStaple, 'auto', { random: Math.random });
    assert.notEqual(a.status().next_refresh, b.status().next_refresh);
  });

  it('computeRefreshDelay: bounds', () => {
    const now = 1_000_000_000_000;
    const mid = () => 0;
    // a 7-day window is capped by maxRefresh (24 h)
    assert.equal(computeRefreshDelay(now, now, now + 7 * 24 * H, mid), 24 * H);
    // a fresh 2 h window: 1 h (no jitter at random 0), 48..60 min with jitter
    assert.equal(computeRefreshDelay(now, now, now + 2 * H, mid), H);
    assert.equal(computeRefreshDelay(now, now, now + 2 * H, () => 0.999999), Math.round(H * (1 - 0.2 * 0.999999)));
    // late in the window (restart with a disk staple at 90 %): at most 3/4 of the remaining time
    const late = computeRefreshDelay(now, now - 9 * H, now + H, mid);
    assert.ok(late <= 0.75 * H && late >= 60_000, String(late));
    // tiny windows (nats-server's 4 s test responder): still before nextUpdate, never sub-second
    const tiny = computeRefreshDelay(now, now, now + 4000, mid);
    assert.ok(tiny >= 1000 && tiny <= 3000, String(tiny));
    assert.equal(computeRefreshDelay(now, now - 2 * H, now - 1, mid), 1000);
    // never later than nextUpdate for any random value or position in the window
    for (let i = 0; i < 1000; i++) {
      const window = 2000 + Math.random() * 10 * 24 * H;
      const pos = Math.random() * window;
      const d = computeRefreshDelay(now, now - pos, now - pos + window, Math.random);
      const remaining = window - pos;
      assert.ok(d >= 1000);
      if (remaining > 1400) assert.ok(d <= remaining * 0.75 + 1, `${d} > ${remaining}`);
    }
  });

  it('computeRetryDelay: exponential with jitter, capped, urgent near expiry, never sub-second', () => {
    const p = DEFAULT_REFRESH_POLICY;
    const seq = [1, 2, 3, 4, 5, 6, 7, 8, 9, 20].map((n) => computeRetryDelay(n, () => 0.5, p));
    assert.deepEqual(seq.slice(0, 6), [10_000, 20_000, 40_000, 80_000, 160_000, 320_000]);
    assert.ok(seq.slice(6).every((d) => d === p.retryMaxMs));
    for (let n = 1; n < 40; n++) {
      const lo = computeRetryDelay(n, () => 0, p);
      const hi = computeRetryDelay(n, () => 0.999, p);
      assert.ok(lo >= 1000 && hi <= p.retryMaxMs && lo <= hi);
    }
    assert.equal(computeRetryDelay(10, () => 0.5, p, 60_000), 30_000);
    assert.equal(computeRetryDelay(10, () => 0.5, p, 500), 1000);
  });

  it('backs off on failures up to the cap, keeps the old staple, recovers', async () => {
    reset();
    const s = await make(env.pki.serverMustStaple, 'must', { retryBaseMs: 5000, retryMaxMs: 40_000, maxRefreshMs: 24 * H });
    const good = s.current();
    env.responder.setFault({ type: 'http-status', status: 500 });
    const errors: string[] = [];
    s.on('error', (e) => errors.push(e.code));
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      const st = await s.refresh();
      seen.push(Date.parse(st.next_refresh!) - clock.now());
      assert.equal(st.consecutive_failures, i + 1);
    }
    assert.deepEqual(seen, [5000, 10_000, 20_000, 40_000, 40_000, 40_000]);
    assert.deepEqual(errors, Array(6).fill('ERR_OCSP_EXHAUSTED'));
    assert.deepEqual(s.current(), good, 'the last good staple is kept while valid');
    assert.equal(s.status().status, 'good');
    env.responder.setFault(null);
    await s.refresh();
    assert.equal(s.status().consecutive_failures, 0);
    s.close();
  });

  it('timer-driven: refresh fires on schedule and the next one is planned', async () => {
    reset();
    const log = recordingLogger();
    const s = await make(env.pki.serverMustStaple, 'auto', { logger: log });
    const goods: unknown[] = [];
    s.on('good', (i) => goods.push(i));
    env.responder.resetRequests();
    const due = Date.parse(s.status().next_refresh!) - clock.now();
    clock.advance(due - 1);
    assert.equal(env.responder.requests.total, 0);
    clock.advance(1);
    await waitFor(() => goods.length === 1, 3000, 'good event');
    assert.equal(env.responder.requests.total, 1);
    assert.ok(
      log.find(new RegExp(`^Received OCSP status for Client certificate '${env.pki.serverMustStaple.certFile}': good, next update \\S+, checking again in \\S+$`)),
    );
    assert.ok(Date.parse(s.status().next_refresh!) > clock.now());
    s.close();
    assert.deepEqual(clock.scheduled(), [], 'close() clears every timer');
  });

  it('an expired staple is no longer served; status, event, retries continue; a new fetch heals', async () => {
    reset();
    env.responder.setValidity({ nextUpdateMs: 10 * 60_000 });
    const log = recordingLogger();
    const s = await make(env.pki.serverMustStaple, 'must', { logger: log });
    assert.ok(s.current());
    env.responder.setFault('hang');
    const expired: unknown[] = [];
    s.on('expired', (e) => expired.push(e));
    const exp = Date.parse(s.status().expires_at!);
    clock.set(exp); // no timers fired yet: current() notices by itself
    assert.equal(s.current(), undefined);
    assert.equal(s.status().status, 'expired');
    assert.equal(s.status().warning, true);
    await waitFor(() => expired.length === 1, 1000, 'expired event');
    assert.ok(log.find(/^OCSP staple for certificate '.*' expired at \S+: handshakes continue without a staple/));
    assert.ok(s.status().next_refresh !== null, 'a retry is planned');
    env.responder.setFault(null);
    await s.refresh();
    assert.ok(s.current());
    assert.equal(s.status().status, 'good');
    s.close();
  });

  it('the warning flag rises when failing with less than a quarter of the validity left', async () => {
    reset();
    const s = await make(env.pki.serverMustStaple, 'auto');
    const st0 = s.status();
    const tu = Date.parse(st0.this_update!);
    const exp = Date.parse(st0.expires_at!);
    env.responder.setFault({ type: 'http-status', status: 502 });
    clock.set(tu + (exp - tu) * 0.5);
    await s.refresh();
    assert.equal(s.status().warning, false);
    clock.set(tu + (exp - tu) * 0.8);
    assert.equal(s.status().warning, true);
    s.close();
  });

  for (const mode of ['auto', 'must', 'always'] as const) {
    it(`${mode}: runtime revocation → revoked event${mode === 'auto' ? ', no shutdown, keeps serving and checking' : ' + shutdown event'}`, async () => {
      reset();
      const log = recordingLogger();
      const s = await make(env.pki.serverMustStaple, mode, { logger: log });
      const events: string[] = [];
      s.on('revoked', () => events.push('revoked'));
      s.on('unknown', () => events.push('unknown'));
      s.on('shutdown', (e) => events.push(`shutdown:${e.status}`));
      env.responder.setStatus(env.pki.serverMustStaple.serialHex, 'revoked');
      await s.refresh();
      assert.deepEqual(events, mode === 'auto' ? ['revoked'] : ['revoked', 'shutdown:revoked']);
      assert.deepEqual(log.all('error'), [`Received OCSP status for Client certificate '${env.pki.serverMustStaple.certFile}': revoked`]);
      assert.equal(s.status().status, 'revoked');
      assert.ok(s.current(), 'the revoked response is what is stapled');
      assert.ok(s.status().next_refresh, 'keeps checking (nats-server stops)');
      env.responder.setStatus(env.pki.serverMustStaple.serialHex, 'unknown');
      await s.refresh();
      assert.equal(events.includes('unknown'), true);
      if (mode !== 'auto') assert.ok(events.includes('shutdown:unknown'));
      s.close();
    });
  }

  it('one fetch in flight under many concurrent refreshes', async () => {
    reset();
    const s = await make(env.pki.serverMustStaple, 'auto');
    env.responder.resetRequests();
    env.responder.setFault({ type: 'delay', ms: 150 });
    let goods = 0;
    s.on('good', () => goods++);
    await Promise.all(Array.from({ length: 25 }, () => s.refresh()));
    assert.equal(env.responder.requests.total, 1);
    assert.equal(goods, 1);
    s.close();
  });

  it('close() stops timers and an in-flight fetch; nothing is served after', async () => {
    reset();
    const s = await make(env.pki.serverMustStaple, 'auto');
    const before = clock.scheduled().length;
    assert.ok(before >= 2);
    env.responder.setFault('hang');
    const p = s.refresh();
    s.close();
    await p;
    assert.equal(s.current(), undefined);
    assert.equal(s.status().closed, true);
    assert.equal(s.status().next_refresh, null);
  });

  it('no error event listener: failures do not throw', async () => {
    reset();
    const s = await make(env.pki.serverMustStaple, 'auto');
    env.responder.setFault({ type: 'http-status', status: 500 });
    await s.refresh();
    assert.equal(s.status().consecutive_failures, 1);
    s.close();
  });
});
