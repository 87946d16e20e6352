// /ocspz, /varz `ocsp` and /metrics through the life of a staple: good, responder down, expiring
// (warning), expired, recovered, revoked, rotated (registry replaced), reloaded (same certificate,
// new stapler: counters carry over). One manual clock drives the staplers, the responder and the
// observability layer, so times and ages are exact.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OcspMode, Stapler, StaplerOptions } from '../../src/ocsp/index.js';
import { startServer, type RunningServer } from '../../src/index.js';
import { observabilityHook } from '../../src/server/observability.js';
import { createTestPki, startResponder, type IssuedCert, type TestPki, type TestResponder } from '../../src/testkit/index.js';
import { get, ManualClock, manualStapler, metrics, tlsTarget, value, find, type Exposition } from './helpers.js';

const H = 3_600_000;

describe('observability: one staple through every state', () => {
  const clock = new ManualClock();
  const t0 = clock.t;
  let responder: TestResponder;
  let pki: TestPki;
  let srv: RunningServer;
  let mon: string;
  let target: Awaited<ReturnType<typeof tlsTarget>>;
  let stapler: Stapler;
  const opened: Stapler[] = [];
  let cert: IssuedCert;
  let labels: Record<string, string>;

  const make = (c: IssuedCert, mode: OcspMode = 'must', extra: Partial<StaplerOptions> = {}): Promise<Stapler> =>
    manualStapler(c, pki.root.certPem, clock, opened, mode, extra);
  const ocspz = async (q = ''): Promise<any> => {
    const r = await get(mon, '/ocspz' + q);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.type, 'application/json');
    return r.json;
  };
  const varzOcsp = async (): Promise<any> => (await get(mon, '/varz')).json.ocsp;
  const statusSet = (m: Exposition): Record<string, number> =>
    Object.fromEntries(find(m, 'tsnats_ocsp_staple_status', labels).map((s) => [s.labels.status!, s.value]));

  before(async () => {
    responder = await startResponder({ now: clock.now });
    pki = await createTestPki({ ocspUrl: responder.url });
    responder.setIssuer(pki.root);
    responder.setValidity({ nextUpdateMs: H });
    cert = pki.serverMustStaple;
    srv = await startServer({ options: { httpPort: -1 }, noDefaultHooks: true, hooks: [observabilityHook({ now: clock.now })] });
    mon = srv.server.monitor.urls()[0]!;
    target = await tlsTarget(cert.certPem, cert.keyPem, pki.root.certPem);
    stapler = await make(cert);
    stapler.attach(target.server);
    srv.server.ocsp.set([{ listener: 'client', stapler }]);
    labels = { listener: 'client', certificate: cert.certFile, sha256: stapler.leaf.sha256.slice(0, 16), serial: stapler.leaf.serialHex };
  });
  after(async () => {
    for (const s of opened) s.close();
    await target?.close();
    await srv?.close();
    await responder?.close();
    await pki?.cleanup();
  });

  let thisUpdate = 0;
  let expiresAt = 0;

  it('good: every field of /ocspz, the /varz summary and the metrics', async () => {
    assert.equal(await target.handshake(), true, 'a staple is sent');
    const z = await ocspz();
    assert.equal(z.server_id, srv.server.serverId);
    assert.equal(z.now, new Date(clock.t).toISOString().replace('.000Z', 'Z'));
    assert.equal(z.mode, 'must');
    assert.equal(z.num_certificates, 1);
    assert.equal(z.num_stapled, 1);
    assert.equal(z.num_warnings, 0);
    assert.equal(z.worst_status, 'good');
    assert.deepEqual(z.status_counts, { good: 1, revoked: 0, unknown: 0, expired: 0, none: 0, error: 0 });
    assert.equal(z.certificates.length, 1);
    const c = z.certificates[0];
    assert.deepEqual(c.listeners, ['client']);
    assert.equal(c.certificate, cert.certFile);
    assert.equal(c.subject, stapler.leaf.subject);
    assert.equal(c.serial, cert.serialHex);
    assert.equal(c.sha256, stapler.leaf.sha256);
    assert.equal(c.mode, 'must');
    assert.equal(c.must_staple, true);
    assert.equal(c.stapling, true);
    assert.deepEqual(c.responder_urls, [responder.url]);
    assert.equal(c.status, 'good');
    thisUpdate = Date.parse(c.this_update);
    expiresAt = Date.parse(c.next_update);
    assert.equal(expiresAt - thisUpdate, H);
    assert.equal(c.expires_at, c.next_update);
    assert.equal(z.soonest_next_update, c.next_update);
    assert.ok(Math.abs(thisUpdate - clock.t) <= 1000, 'thisUpdate is the responder clock (seconds)');
    assert.ok(c.produced_at);
    assert.equal(c.revocation_time, null);
    assert.equal(c.seconds_until_expiry, (expiresAt - clock.t) / 1000);
    assert.equal(c.staple_age_seconds, (clock.t - thisUpdate) / 1000);
    assert.equal(c.validity_seconds, 3600);
    assert.ok(Date.parse(c.next_refresh) > clock.t && Date.parse(c.next_refresh) < expiresAt, 'refresh scheduled before expiry');
    assert.equal(Date.parse(c.last_success), clock.t);
    assert.equal(c.last_attempt.url, responder.url);
    assert.equal(c.last_attempt.method, 'POST');
    assert.equal(c.last_attempt.http_status, 200);
    assert.equal(typeof c.last_attempt.duration_ms, 'number');
    assert.equal(c.last_attempt.error, null);
    assert.equal(c.last_error, null);
    assert.equal(c.consecutive_failures, 0);
    assert.equal(c.source, 'responder');
    assert.equal(c.warning, false);
    assert.equal(c.warning_reason, null);
    assert.equal(c.counters.handshakes_stapled, 1);

    const v = await varzOcsp();
    assert.deepEqual(v, { mode: 'must', num_certificates: 1, num_stapled: 1, worst_status: 'good', soonest_next_update: c.next_update, num_warnings: 0 });

    const m = await metrics(mon);
    assert.deepEqual(statusSet(m), { good: 1, revoked: 0, unknown: 0, expired: 0, none: 0, error: 0 });
    assert.equal(value(m, 'tsnats_ocsp_staple_expires_in_seconds', labels), (expiresAt - clock.t) / 1000);
    assert.equal(value(m, 'tsnats_ocsp_staple_next_update_timestamp_seconds', labels), expiresAt / 1000);
    assert.equal(value(m, 'tsnats_ocsp_staple_age_seconds', labels), (clock.t - thisUpdate) / 1000);
    assert.equal(value(m, 'tsnats_ocsp_staple_validity_seconds', labels), 3600);
    assert.equal(value(m, 'tsnats_ocsp_staple_warning', labels), 0);
    assert.equal(value(m, 'tsnats_ocsp_consecutive_failures', labels), 0);
    assert.equal(value(m, 'tsnats_ocsp_last_success_timestamp_seconds', labels), clock.t / 1000);
    assert.equal(value(m, 'tsnats_ocsp_fetches_total', { ...labels, responder: responder.url, result: 'success' }), 1);
    assert.equal(value(m, 'tsnats_ocsp_fetches_total', { ...labels, responder: responder.url, result: 'failure' }), 0);
    assert.equal(value(m, 'tsnats_ocsp_refreshes_total', { ...labels, result: 'success' }), 1);
    assert.equal(value(m, 'tsnats_ocsp_handshakes_total', { ...labels, stapled: 'true' }), 1);
    assert.equal(value(m, 'tsnats_ocsp_handshakes_total', { ...labels, stapled: 'false' }), 0);
    // The start-up fetch happened before the stapler was in service: caught up into the histogram.
    assert.equal(value(m, 'tsnats_ocsp_fetch_duration_seconds_count', { responder: responder.url }), 1);
    assert.equal(
      value(m, 'tsnats_ocsp_certificate_info', { ...labels, mode: 'must', must_staple: 'true', stapling: 'true', subject: stapler.leaf.subject }),
      1,
    );
    assert.equal(m.types.get('tsnats_ocsp_fetches_total'), 'counter');
    assert.equal(m.types.get('tsnats_ocsp_fetch_duration_seconds'), 'histogram');
    assert.equal(m.types.get('tsnats_ocsp_staple_status'), 'gauge');
  });

  it('responder down: failures counted, last attempt shows the error, no warning while > 1/4 is left', async () => {
    responder.setFault({ type: 'http-status', status: 503 });
    clock.t = thisUpdate + 10 * 60_000;
    const st = await stapler.refresh();
    assert.equal(st.consecutive_failures, 1);
    const c = (await ocspz()).certificates[0];
    assert.equal(c.status, 'good', 'the staple held is still valid');
    assert.equal(c.consecutive_failures, 1);
    assert.equal(c.last_attempt.http_status, 503);
    assert.equal(c.last_attempt.method, 'GET', 'POST failed at the HTTP level, then GET');
    assert.match(c.last_attempt.error, /503/);
    assert.match(c.last_error, /503/);
    assert.equal(Date.parse(c.last_attempt.time), clock.t);
    assert.equal(c.warning, false);
    assert.equal(c.warning_reason, null);
    assert.equal(c.seconds_until_expiry, 50 * 60);

    const m = await metrics(mon);
    assert.equal(value(m, 'tsnats_ocsp_consecutive_failures', labels), 1);
    assert.equal(value(m, 'tsnats_ocsp_staple_warning', labels), 0);
    assert.equal(value(m, 'tsnats_ocsp_fetches_total', { ...labels, responder: responder.url, result: 'failure' }), 2);
    assert.equal(value(m, 'tsnats_ocsp_fetches_total', { ...labels, responder: responder.url, result: 'success' }), 1);
    assert.equal(value(m, 'tsnats_ocsp_refreshes_total', { ...labels, result: 'failure' }), 1);
    assert.equal(value(m, 'tsnats_ocsp_fetch_duration_seconds_count', { responder: responder.url }), 3, 'observed from attempt events');
    assert.equal(value(m, 'tsnats_ocsp_last_success_timestamp_seconds', labels), t0 / 1000, 'unchanged by failures');
    assert.deepEqual(statusSet(m).good, 1);
    assert.equal((await varzOcsp()).num_warnings, 0);
  });

  it('expiring: responder failing and less than a quarter of the validity left → warning', async () => {
    clock.t = expiresAt - 12 * 60_000; // 20 % of the hour left
    await stapler.refresh();
    const z = await ocspz();
    const c = z.certificates[0];
    assert.equal(c.status, 'good');
    assert.equal(c.consecutive_failures, 2);
    assert.equal(c.warning, true);
    assert.equal(c.warning_reason, 'expiring');
    assert.equal(c.seconds_until_expiry, 720);
    assert.equal(z.num_warnings, 1);
    assert.equal(stapler.status().warning, true, 'the engine agrees');
    const v = await varzOcsp();
    assert.equal(v.num_warnings, 1);
    assert.equal(v.worst_status, 'good');
    const m = await metrics(mon);
    assert.equal(value(m, 'tsnats_ocsp_staple_warning', labels), 1);
    assert.equal(value(m, 'tsnats_ocsp_staple_expires_in_seconds', labels), 720);
    assert.equal(value(m, 'tsnats_ocsp_consecutive_failures', labels), 2);
    assert.ok(
      value(m, 'tsnats_ocsp_staple_expires_in_seconds', labels) / value(m, 'tsnats_ocsp_staple_validity_seconds', labels) < 0.25,
      'the documented alert expression fires',
    );
  });

  it('expired: no staple sent, status expired, negative time left', async () => {
    clock.t = expiresAt + 5000;
    assert.equal(await target.handshake(), false, 'no staple once expired');
    const z = await ocspz();
    const c = z.certificates[0];
    assert.equal(c.status, 'expired');
    assert.equal(c.warning, true);
    assert.equal(c.warning_reason, 'expired');
    assert.equal(c.seconds_until_expiry, -5);
    assert.equal(z.worst_status, 'expired');
    assert.deepEqual(z.status_counts, { good: 0, revoked: 0, unknown: 0, expired: 1, none: 0, error: 0 });
    const v = await varzOcsp();
    assert.equal(v.worst_status, 'expired');
    assert.equal(v.num_warnings, 1);
    const m = await metrics(mon);
    assert.deepEqual(statusSet(m), { good: 0, revoked: 0, unknown: 0, expired: 1, none: 0, error: 0 });
    assert.equal(value(m, 'tsnats_ocsp_staple_expires_in_seconds', labels), -5);
    assert.equal(value(m, 'tsnats_ocsp_staple_warning', labels), 1);
    assert.equal(value(m, 'tsnats_ocsp_handshakes_total', { ...labels, stapled: 'false' }), 1);
    assert.equal(value(m, 'tsnats_ocsp_handshakes_total', { ...labels, stapled: 'true' }), 1);
  });

  it('recovered: the responder answers again → good, failures reset, warning cleared', async () => {
    responder.setFault(null);
    await stapler.refresh();
    assert.equal(await target.handshake(), true);
    const c = (await ocspz()).certificates[0];
    assert.equal(c.status, 'good');
    assert.equal(c.consecutive_failures, 0);
    assert.equal(c.warning, false);
    assert.equal(c.last_attempt.http_status, 200);
    assert.equal(Date.parse(c.last_success), clock.t);
    const m = await metrics(mon);
    assert.equal(value(m, 'tsnats_ocsp_fetches_total', { ...labels, responder: responder.url, result: 'success' }), 2);
    assert.equal(value(m, 'tsnats_ocsp_fetches_total', { ...labels, responder: responder.url, result: 'failure' }), 4);
    assert.equal(value(m, 'tsnats_ocsp_refreshes_total', { ...labels, result: 'success' }), 2);
    assert.equal(value(m, 'tsnats_ocsp_refreshes_total', { ...labels, result: 'failure' }), 2);
    assert.equal(value(m, 'tsnats_ocsp_fetch_duration_seconds_count', { responder: responder.url }), 6);
    assert.equal(value(m, 'tsnats_ocsp_handshakes_total', { ...labels, stapled: 'true' }), 2);
    assert.equal(value(m, 'tsnats_ocsp_staple_warning', labels), 0);
    assert.equal(value(m, 'tsnats_ocsp_last_success_timestamp_seconds', labels), clock.t / 1000);
  });

  it('revoked: status revoked with its revocation time, worst status revoked', async () => {
    const revokedAt = new Date(Math.floor((clock.t - 60_000) / 1000) * 1000);
    responder.setStatus(cert.serialHex, 'revoked', { time: revokedAt });
    await stapler.refresh();
    const z = await ocspz();
    const c = z.certificates[0];
    assert.equal(c.status, 'revoked');
    assert.equal(Date.parse(c.revocation_time), revokedAt.getTime());
    assert.equal(c.warning, false, 'revocation is a status, not an expiry warning');
    assert.equal(z.worst_status, 'revoked');
    assert.equal((await varzOcsp()).worst_status, 'revoked');
    const m = await metrics(mon);
    assert.deepEqual(statusSet(m), { good: 0, revoked: 1, unknown: 0, expired: 0, none: 0, error: 0 });
    responder.setStatus(cert.serialHex, 'good');
  });

  let rotated: Stapler;
  it('rotated: the registry is replaced → the endpoints show only the new certificate', async () => {
    const next = pki.serverRevoked;
    responder.setStatus(next.serialHex, 'good');
    rotated = await make(next);
    srv.server.ocsp.set([
      { listener: 'client', stapler: rotated },
      { listener: 'https', stapler: rotated },
    ]);
    stapler.close();
    const z = await ocspz();
    assert.equal(z.num_certificates, 1);
    const c = z.certificates[0];
    assert.deepEqual(c.listeners, ['client', 'https']);
    assert.equal(c.certificate, next.certFile);
    assert.equal(c.serial, next.serialHex);
    assert.equal(c.sha256, rotated.leaf.sha256);
    assert.equal(c.status, 'good');
    assert.equal(z.worst_status, 'good');
    const m = await metrics(mon);
    assert.equal(find(m, 'tsnats_ocsp_staple_status', { serial: cert.serialHex }).length, 0, 'old certificate gone');
    assert.equal(find(m, 'tsnats_ocsp_fetches_total', { serial: cert.serialHex }).length, 0);
    const nl = { listener: 'client,https', certificate: next.certFile, sha256: rotated.leaf.sha256.slice(0, 16), serial: next.serialHex };
    assert.equal(value(m, 'tsnats_ocsp_staple_status', { ...nl, status: 'good' }), 1);
    assert.equal(value(m, 'tsnats_ocsp_fetches_total', { ...nl, responder: responder.url, result: 'success' }), 1);
    assert.equal(value(m, 'tsnats_ocsp_staple_warning', nl), 0);
    // The histogram is per responder, across certificates: 6 before, the revoked answer, the new start-up fetch.
    assert.equal(value(m, 'tsnats_ocsp_fetch_duration_seconds_count', { responder: responder.url }), 8);
    assert.equal((await varzOcsp()).num_certificates, 1);
  });

  it('reloaded: a new stapler for the same certificate keeps its counters monotonic', async () => {
    const next = pki.serverRevoked;
    await rotated.refresh(); // success #2 on the old stapler
    const again = await make(next); // success #3 on the new one (no memory)
    srv.server.ocsp.set([
      { listener: 'client', stapler: again },
      { listener: 'https', stapler: again },
    ]);
    rotated.close();
    const nl = { listener: 'client,https', certificate: next.certFile, serial: next.serialHex };
    const m = await metrics(mon);
    assert.equal(value(m, 'tsnats_ocsp_fetches_total', { ...nl, responder: responder.url, result: 'success' }), 3);
    assert.equal(value(m, 'tsnats_ocsp_refreshes_total', { ...nl, result: 'success' }), 3);
    assert.equal(value(m, 'tsnats_ocsp_fetch_duration_seconds_count', { responder: responder.url }), 10);
    // /ocspz shows the stapler in service (its own counters).
    assert.equal((await ocspz()).certificates[0].counters.fetches_ok, 1);
  });
});
