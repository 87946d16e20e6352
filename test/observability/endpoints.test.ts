// /ocspz filters and edge states (never obtained, not stapled), the Prometheus exposition (format,
// content type, core server metrics), per-server registries, the hook on reload and in the
// default hooks, and the end-to-end path with the real stapling hook.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { register as globalRegistry } from 'prom-client';
import type { OcspMode, Stapler, StaplerOptions } from '../../src/ocsp/index.js';
import { startServer, type RunningServer } from '../../src/index.js';
import { getServerObservability, observabilityHook } from '../../src/server/observability.js';
import { createTestPki, startResponder, type IssuedCert, type TestPki, type TestResponder } from '../../src/testkit/index.js';
import { client } from '../wire/harness.js';
import { find, get, ManualClock, manualStapler, metrics, parseProm, value } from './helpers.js';

describe('observability: endpoints', () => {
  const clock = new ManualClock();
  let responder: TestResponder;
  let pki: TestPki;
  const servers: RunningServer[] = [];
  const opened: Stapler[] = [];

  const make = (c: IssuedCert, mode: OcspMode, extra: Partial<StaplerOptions> = {}): Promise<Stapler> =>
    manualStapler(c, pki.root.certPem, clock, opened, mode, extra);
  const start = async (): Promise<{ srv: RunningServer; mon: string }> => {
    const srv = await startServer({ options: { httpPort: -1 }, noDefaultHooks: true, hooks: [observabilityHook({ now: clock.now })] });
    servers.push(srv);
    return { srv, mon: srv.server.monitor.urls()[0]! };
  };

  before(async () => {
    responder = await startResponder({ now: clock.now });
    pki = await createTestPki({ ocspUrl: responder.url });
    responder.setIssuer(pki.root);
  });
  after(async () => {
    for (const s of opened) s.close();
    for (const s of servers) await s.close();
    await responder?.close();
    await pki?.cleanup();
  });

  it('/ocspz filters: ?cert= (SHA-256 prefix, path, file name), ?listener=, ?status=; bad values → 400', async () => {
    const { srv, mon } = await start();
    const a = await make(pki.serverMustStaple, 'must');
    const b = await make(pki.server, 'always');
    srv.server.ocsp.set([
      { listener: 'client', stapler: a },
      { listener: 'client', stapler: b },
      { listener: 'https', stapler: b },
    ]);
    const all = (await get(mon, '/ocspz')).json;
    assert.equal(all.num_certificates, 2);
    assert.equal(all.mode, 'mixed');
    assert.deepEqual(all.certificates.map((c: any) => c.listeners), [['client'], ['client', 'https']]);
    const sha = (await get(mon, `/ocspz?cert=${a.leaf.sha256.slice(0, 8).toUpperCase()}`)).json;
    assert.deepEqual(sha.certificates.map((c: any) => c.sha256), [a.leaf.sha256]);
    assert.equal(sha.num_certificates, 1);
    const colon = a.leaf.sha256.slice(0, 6).match(/../g)!.join(':');
    assert.equal((await get(mon, `/ocspz?cert=${colon}`)).json.certificates[0].sha256, a.leaf.sha256);
    const byPath = (await get(mon, `/ocspz?cert=${encodeURIComponent(pki.server.certFile)}`)).json;
    assert.deepEqual(byPath.certificates.map((c: any) => c.certificate), [pki.server.certFile]);
    const base = pki.server.certFile.split('/').pop()!;
    assert.equal((await get(mon, `/ocspz?cert=${encodeURIComponent(base)}`)).json.certificates.length, 1);
    assert.equal((await get(mon, '/ocspz?cert=zzz')).json.certificates.length, 0);
    const https = (await get(mon, '/ocspz?listener=https')).json;
    assert.deepEqual(https.certificates.map((c: any) => c.certificate), [pki.server.certFile]);
    assert.equal((await get(mon, '/ocspz?status=good')).json.num_certificates, 2);
    assert.equal((await get(mon, '/ocspz?status=revoked')).json.num_certificates, 0);
    const bad = await get(mon, '/ocspz?listener=route');
    assert.equal(bad.status, 400);
    assert.match(bad.text, /listener/);
    assert.equal((await get(mon, '/ocspz?status=fine')).status, 400);
  });

  it('never obtained (responder down since start) → status error, warning no_staple; not stapled → none', async () => {
    const { srv, mon } = await start();
    responder.setFault({ type: 'http-status', status: 500 });
    let failing: Stapler;
    try {
      failing = await make(pki.serverRevoked, 'must', { requireInitial: false });
    } finally {
      responder.setFault(null);
    }
    const plain = await make(pki.server, 'auto'); // no Must-Staple: not stapled
    srv.server.ocsp.set([
      { listener: 'client', stapler: failing },
      { listener: 'client', stapler: plain },
    ]);
    const z = (await get(mon, '/ocspz')).json;
    assert.equal(z.num_certificates, 2);
    assert.equal(z.num_stapled, 1);
    assert.equal(z.worst_status, 'error');
    assert.equal(z.soonest_next_update, null);
    const [e, n] = z.certificates;
    assert.equal(e.status, 'error');
    assert.equal(e.warning, true);
    assert.equal(e.warning_reason, 'no_staple');
    assert.equal(e.consecutive_failures, 1);
    assert.equal(e.this_update, null);
    assert.equal(e.seconds_until_expiry, null);
    assert.equal(e.source, null);
    assert.equal(e.last_attempt.http_status, 500);
    assert.equal(n.status, 'none');
    assert.equal(n.stapling, false);
    assert.equal(n.must_staple, false);
    assert.equal(n.warning, false);
    assert.equal(n.last_attempt, null);
    assert.deepEqual((await get(mon, '/varz')).json.ocsp, {
      mode: 'mixed',
      num_certificates: 2,
      num_stapled: 1,
      worst_status: 'error',
      soonest_next_update: null,
      num_warnings: 1,
    });
    const m = await metrics(mon);
    const el = { serial: pki.serverRevoked.serialHex };
    assert.equal(value(m, 'tsnats_ocsp_staple_status', { ...el, status: 'error' }), 1);
    assert.equal(value(m, 'tsnats_ocsp_staple_warning', el), 1);
    assert.equal(find(m, 'tsnats_ocsp_staple_expires_in_seconds', el).length, 0, 'no staple: no time left');
    assert.equal(find(m, 'tsnats_ocsp_last_success_timestamp_seconds', el).length, 0);
    assert.equal(value(m, 'tsnats_ocsp_fetches_total', { ...el, result: 'failure' }), 2);
    assert.equal(value(m, 'tsnats_ocsp_refreshes_total', { ...el, result: 'failure' }), 1);
    const nl = { serial: pki.server.serialHex };
    assert.equal(value(m, 'tsnats_ocsp_staple_status', { ...nl, status: 'none' }), 1);
    assert.equal(value(m, 'tsnats_ocsp_staple_warning', nl), 0);
    assert.equal(value(m, 'tsnats_ocsp_certificate_info', { ...nl, stapling: 'false', must_staple: 'false', mode: 'auto' }), 1);
    assert.equal(find(m, 'tsnats_ocsp_fetches_total', nl).length, 0, 'not stapled: no responder series');
  });

  it('/metrics: Prometheus text format, core server metrics with exact values', async () => {
    const { srv, mon } = await start();
    const r = await get(mon, '/metrics');
    assert.equal(r.status, 200);
    assert.equal(r.type, 'text/plain; version=0.0.4; charset=utf-8');
    let m = parseProm(r.text);
    for (const [name, type] of m.types) {
      assert.match(name, /^tsnats_/, 'every metric is prefixed');
      assert.ok(m.helps.get(name), `HELP for ${name}`);
      assert.ok(type === 'gauge' || type === 'counter' || type === 'histogram');
      if (type === 'counter') assert.match(name, /_total$/, `${name}: counters end in _total`);
    }
    assert.equal(value(m, 'tsnats_connections'), 0);
    assert.equal(value(m, 'tsnats_info', { server_id: srv.server.serverId }), 1);
    assert.equal(value(m, 'tsnats_start_time_seconds'), srv.server.startTime / 1000);

    const a = await client(srv.port);
    const b = await client(srv.port);
    a.send('SUB foo 1\r\nSUB bar 2\r\n');
    await a.roundTrip();
    b.send('PUB foo 5\r\nhello\r\nPUB foo 3\r\nabc\r\nPUB nobody 2\r\nhi\r\n');
    await b.roundTrip();
    await a.roundTrip();
    m = await metrics(mon);
    assert.equal(value(m, 'tsnats_connections'), 2);
    assert.equal(value(m, 'tsnats_connections_total'), 2);
    assert.equal(value(m, 'tsnats_subscriptions'), 2);
    assert.equal(value(m, 'tsnats_in_msgs_total'), 3);
    assert.equal(value(m, 'tsnats_in_bytes_total'), 10);
    assert.equal(value(m, 'tsnats_out_msgs_total'), 2);
    assert.equal(value(m, 'tsnats_out_bytes_total'), 8);
    assert.equal(value(m, 'tsnats_slow_consumers_total'), 0);
    const v = (await get(mon, '/varz')).json;
    assert.equal(v.in_msgs, 3, '/varz agrees');
    assert.equal(v.out_bytes, 8);
    assert.equal('ocsp' in v, false, 'no TLS and no stapler: /varz keeps nats-server fields only');
    a.close();
    b.close();
    for (let i = 0; i < 100 && srv.server.clients.size > 0; i++) await new Promise((res) => setTimeout(res, 10));
    m = await metrics(mon);
    assert.equal(value(m, 'tsnats_connections'), 0);
    assert.equal(value(m, 'tsnats_connections_total'), 2);
    assert.equal(value(m, 'tsnats_subscriptions'), 0);
  });

  it('two servers in one process have separate registries; the global registry is untouched', async () => {
    const one = await start();
    const two = await start();
    const s1 = await make(pki.serverMustStaple, 'must');
    one.srv.server.ocsp.set([{ listener: 'client', stapler: s1 }]);
    const c = await client(one.srv.port);
    c.send('PUB x 1\r\na\r\n');
    await c.roundTrip();
    const m1 = await metrics(one.mon);
    const m2 = await metrics(two.mon);
    assert.equal(value(m1, 'tsnats_in_msgs_total'), 1);
    assert.equal(value(m2, 'tsnats_in_msgs_total'), 0);
    assert.equal(value(m1, 'tsnats_connections'), 1);
    assert.equal(value(m2, 'tsnats_connections'), 0);
    assert.equal(value(m1, 'tsnats_ocsp_staple_status', { serial: pki.serverMustStaple.serialHex, status: 'good' }), 1);
    assert.equal(find(m2, 'tsnats_ocsp_staple_status').length, 0);
    assert.notEqual(value(m1, 'tsnats_info', {}), undefined);
    assert.equal(find(m1, 'tsnats_info')[0]!.labels.server_id, one.srv.server.serverId);
    assert.equal(find(m2, 'tsnats_info')[0]!.labels.server_id, two.srv.server.serverId);
    const r1 = getServerObservability(one.srv.server)!.metrics!.registry;
    const r2 = getServerObservability(two.srv.server)!.metrics!.registry;
    assert.notEqual(r1, r2);
    assert.equal(globalRegistry.getMetricsAsArray().filter((x) => x.name.startsWith('tsnats_')).length, 0);
    c.close();
  });

  it('reload rebinds: endpoints keep working and follow the registry', async () => {
    const { srv, mon } = await start();
    const s1 = await make(pki.serverMustStaple, 'must');
    srv.server.ocsp.set([{ listener: 'client', stapler: s1 }]);
    assert.equal((await get(mon, '/ocspz')).json.num_certificates, 1);
    srv.server.ocsp.set([]);
    await srv.server.reload({ ...srv.server.options });
    const z = (await get(mon, '/ocspz')).json;
    assert.equal(z.num_certificates, 0);
    assert.deepEqual(z.certificates, []);
    assert.equal(z.worst_status, 'none');
    const m = await metrics(mon);
    assert.equal(find(m, 'tsnats_ocsp_staple_status').length, 0);
    assert.equal((await get(mon, '/')).text.includes('ocspz'), true, 'listed on the index page');
  });

  it('default hooks include observability (plain server: /ocspz empty, /metrics served)', async () => {
    const srv = await startServer({ options: { httpPort: -1 } });
    servers.push(srv);
    const mon = srv.server.monitor.urls()[0]!;
    const z = await get(mon, '/ocspz');
    assert.equal(z.status, 200);
    assert.equal(z.json.num_certificates, 0);
    const m = await metrics(mon);
    assert.equal(value(m, 'tsnats_connections'), 0);
  });
});

describe('observability: with the stapling hook (TLS server, ocsp must)', () => {
  let responder: TestResponder;
  let pki: TestPki;
  let dir: string;
  let srv: RunningServer | undefined;

  before(async () => {
    responder = await startResponder();
    pki = await createTestPki({ ocspUrl: responder.url });
    responder.setIssuer(pki.root);
    dir = mkdtempSync(join(tmpdir(), 'tsnats-obs-'));
  });
  after(async () => {
    await srv?.close();
    await responder?.close();
    await pki?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the staplers the hook puts in service appear in /ocspz, /varz and /metrics', async () => {
    const c = pki.serverMustStaple;
    const confFile = join(dir, 'tls.conf');
    writeFileSync(
      confFile,
      `listen: "127.0.0.1:-1"\nhttp: "127.0.0.1:-1"\ntls {\n  cert_file: "${c.certFile}"\n  key_file: "${c.keyFile}"\n  ca_file: "${pki.caFile}"\n}\nocsp {\n  mode: must\n}\n`,
    );
    srv = await startServer({ configFile: confFile });
    const mon = srv.server.monitor.urls()[0]!;
    const z = (await get(mon, '/ocspz')).json;
    assert.equal(z.num_certificates, 1);
    assert.equal(z.mode, 'must');
    const e = z.certificates[0];
    assert.equal(e.certificate, c.certFile);
    assert.equal(e.serial, c.serialHex);
    assert.equal(e.status, 'good');
    assert.ok(e.listeners.includes('client'));
    assert.equal((await get(mon, '/varz')).json.ocsp.worst_status, 'good');
    const m = await metrics(mon);
    assert.equal(value(m, 'tsnats_ocsp_staple_status', { serial: c.serialHex, status: 'good' }), 1);
    assert.equal(value(m, 'tsnats_ocsp_fetch_duration_seconds_count', { responder: responder.url }), 1);
  });
});
