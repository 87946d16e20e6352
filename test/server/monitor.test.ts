// Monitoring endpoints: shapes, paging, filters, errors; field names and order checked against the
// real nats-server when it is installed.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { client, SKIP_NATS_SERVER, sleep, startNatsServer, startTsnats, type Running } from '../wire/harness.js';

const MON = 'http: "127.0.0.1:-1"';

async function get(srv: Running, path: string): Promise<{ status: number; type: string; text: string; json?: Record<string, unknown> }> {
  const r = await fetch(srv.monitor! + path);
  const text = await r.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: r.status, type: r.headers.get('content-type') ?? '', text, json };
}

/** Some traffic: one client with subs and a message, one closed client. */
async function traffic(srv: Running): Promise<void> {
  const a = await client(srv.port, '{"verbose":false,"name":"app","lang":"go","version":"1.2.3"}');
  a.send('SUB foo 1\r\nSUB bar q 2\r\nSUB baz 3\r\nUNSUB 3 5\r\nPUB foo 2\r\nhi\r\n');
  await a.roundTrip();
  const b = await client(srv.port);
  b.send('SUB gone 1\r\n');
  await b.roundTrip();
  b.close();
  await sleep(100);
}

/** `keys` appear in `reference` in the same relative order (tsnats may omit some). */
function assertOrderedSubset(keys: string[], reference: string[], allowedExtra: string[] = []): void {
  const ref = reference.filter((k) => keys.includes(k));
  const mine = keys.filter((k) => !allowedExtra.includes(k));
  assert.deepEqual(
    mine.filter((k) => reference.includes(k)),
    ref,
    'same relative order',
  );
  const unknown = mine.filter((k) => !reference.includes(k));
  assert.deepEqual(unknown, [], `fields nats-server does not have: ${unknown.join(',')}`);
}

describe('monitoring: tsnats endpoints', () => {
  it('/varz has nats-server fields and counters', async () => {
    const srv = await startTsnats(`${MON}\nserver_name: mon1\nmax_subscriptions: 10`);
    try {
      await traffic(srv);
      const r = await get(srv, '/varz');
      assert.equal(r.status, 200);
      assert.equal(r.type, 'application/json');
      const v = r.json!;
      assert.equal(v.server_name, 'mon1');
      assert.equal(v.port, srv.port);
      assert.equal(v.max_subscriptions, 10);
      assert.equal(v.ping_interval, 120_000_000_000);
      assert.equal(v.write_deadline, 10_000_000_000);
      assert.equal(v.auth_timeout, 2);
      assert.equal(v.connections, 1);
      assert.equal(v.total_connections, 2);
      assert.equal(v.in_msgs, 1);
      assert.equal(v.out_msgs, 1);
      assert.equal(v.in_bytes, 2);
      assert.equal(v.subscriptions, 3);
      assert.deepEqual(v.http_req_stats, { '/varz': 1 });
      assert.match(String(v.start), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.match(String(v.uptime), /^\d+s$/);
      assert.equal(v.auth_required, undefined);
      assert.match(r.text, /^\{\n {2}"server_id": /, 'pretty-printed like Go');
    } finally {
      await srv.stop();
    }
  });

  it('/connz: open, closed, any; subs list and detail; cid; paging; sorting; errors', async () => {
    const srv = await startTsnats(MON);
    try {
      await traffic(srv);
      const open = (await get(srv, '/connz?subs=detail')).json!;
      assert.equal(open.num_connections, 1);
      assert.equal(open.total, 1);
      assert.equal(open.limit, 1024);
      const c = (open.connections as Array<Record<string, unknown>>)[0]!;
      assert.deepEqual(Object.keys(c), [
        'cid',
        'kind',
        'type',
        'ip',
        'port',
        'start',
        'last_activity',
        'rtt',
        'uptime',
        'idle',
        'pending_bytes',
        'in_msgs',
        'out_msgs',
        'in_bytes',
        'out_bytes',
        'subscriptions',
        'name',
        'lang',
        'version',
        'subscriptions_list_detail',
      ]);
      assert.equal(c.kind, 'Client');
      assert.equal(c.type, 'nats');
      assert.equal(c.name, 'app');
      assert.deepEqual(c.subscriptions_list_detail, [
        { subject: 'foo', sid: '1', msgs: 1, cid: c.cid },
        { subject: 'bar', qgroup: 'q', sid: '2', msgs: 0, cid: c.cid },
        { subject: 'baz', sid: '3', msgs: 0, max: 5, cid: c.cid },
      ]);
      const closed = (await get(srv, '/connz?state=closed&subs=1')).json!;
      const cc = (closed.connections as Array<Record<string, unknown>>)[0]!;
      assert.equal(cc.reason, 'Client Closed');
      assert.ok(cc.stop);
      assert.deepEqual(cc.subscriptions_list, ['gone']);
      const any = (await get(srv, '/connz?state=any&limit=1&offset=1')).json!;
      assert.equal(any.total, 2);
      assert.equal(any.num_connections, 1);
      assert.equal(any.offset, 1);
      assert.equal(any.limit, 1);
      const byCid = (await get(srv, `/connz?cid=${c.cid}`)).json!;
      assert.equal((byCid.connections as unknown[]).length, 1);
      const sorted = (await get(srv, '/connz?state=any&sort=msgs_from')).json!;
      assert.equal((sorted.connections as Array<Record<string, unknown>>)[0]!.in_msgs, 1);
      const bad = await get(srv, '/connz?sort=foo');
      assert.equal(bad.status, 400);
      assert.equal(bad.text, 'invalid sorting option: foo');
      const bad2 = await get(srv, '/connz?offset=x');
      assert.equal(bad2.status, 400);
      assert.equal(bad2.text, `Error decoding int for 'offset': strconv.Atoi: parsing "x": invalid syntax`);
      const bad3 = await get(srv, '/connz?sort=stop');
      assert.equal(bad3.status, 400);
      assert.equal(bad3.text, 'sort by stop only valid on closed connections');
    } finally {
      await srv.stop();
    }
  });

  it('/subsz with and without the list, test filter; /healthz; 404; index', async () => {
    const srv = await startTsnats(MON);
    try {
      await traffic(srv);
      const s = (await get(srv, '/subsz')).json!;
      assert.equal(s.num_subscriptions, 3);
      assert.equal(s.server_id, undefined);
      const l = (await get(srv, '/subsz?subs=1&test=foo')).json!;
      assert.deepEqual(l.subscriptions_list, [{ account: '$G', subject: 'foo', sid: '1', msgs: 1, cid: 1 }]);
      assert.equal(l.total, 1);
      const alias = await get(srv, '/subscriptionsz');
      assert.equal(alias.status, 200);
      const h = await get(srv, '/healthz');
      assert.equal(h.text, '{"status":"ok"}');
      const nf = await get(srv, '/nope');
      assert.equal(nf.status, 404);
      assert.equal(nf.text, '404 page not found\n');
      const idx = await get(srv, '/');
      assert.equal(idx.status, 200);
      assert.match(idx.type, /text\/html/);
      assert.match(idx.text, /varz/);
    } finally {
      await srv.stop();
    }
  });

  it('http_base_path prefixes every endpoint', async () => {
    const srv = await startTsnats(`${MON}\nhttp_base_path: /mon`);
    try {
      assert.equal((await get(srv, '/mon/varz')).status, 200);
      assert.equal((await get(srv, '/varz')).status, 404);
    } finally {
      await srv.stop();
    }
  });

  it('extra endpoints and /varz sections can be registered', async () => {
    const srv = await startTsnats(MON);
    try {
      const m = srv.ts!.server.monitor;
      m.addEndpoint('/ocspz', () => ({ body: { ok: true } }));
      m.addVarzSection('ocsp', () => ({ mode: 'auto' }));
      assert.deepEqual((await get(srv, '/ocspz')).json, { ok: true });
      const v = (await get(srv, '/varz')).json!;
      assert.deepEqual(v.ocsp, { mode: 'auto' });
      assert.equal(Object.keys(v).at(-1), 'ocsp');
    } finally {
      await srv.stop();
    }
  });

  it('Go-style HTML escaping in JSON strings', async () => {
    const srv = await startTsnats(MON);
    try {
      const a = await client(srv.port);
      a.send('SUB foo.> 1\r\n');
      await a.roundTrip();
      const r = await get(srv, '/connz?subs=1');
      assert.ok(r.text.includes('"foo.\\u003e"'), r.text);
      a.close();
    } finally {
      await srv.stop();
    }
  });
});

describe('monitoring: field names and order match nats-server', { skip: SKIP_NATS_SERVER }, () => {
  it('/varz, /connz, /subsz', async () => {
    const conf = `${MON}\nmax_subscriptions: 10`;
    const ts = await startTsnats(conf);
    const ns = await startNatsServer(conf);
    try {
      for (const s of [ts, ns]) await traffic(s);
      const v1 = (await get(ts, '/varz')).json!;
      const v2 = (await get(ns, '/varz')).json!;
      assertOrderedSubset(Object.keys(v1), Object.keys(v2), ['config_digest']);
      for (const k of ['server_id', 'version', 'proto', 'host', 'port', 'max_connections', 'ping_interval', 'http_req_stats', 'in_msgs', 'subscriptions']) {
        assert.ok(k in v1, k);
      }
      for (const q of ['/connz?subs=detail', '/connz?state=closed&subs=1', '/connz?auth=1']) {
        const c1 = (await get(ts, q)).json!;
        const c2 = (await get(ns, q)).json!;
        assert.deepEqual(Object.keys(c1), Object.keys(c2), q);
        const k1 = Object.keys((c1.connections as Array<Record<string, unknown>>)[0]!);
        const k2 = Object.keys((c2.connections as Array<Record<string, unknown>>)[0]!);
        assert.deepEqual(k1, k2, q);
      }
      const s1 = (await get(ts, '/subsz')).json!;
      const s2 = (await get(ns, '/subsz')).json!;
      assert.deepEqual(Object.keys(s1), Object.keys(s2));
      const l1 = (await get(ts, '/subsz?subs=1&test=foo')).json!;
      const l2 = (await get(ns, '/subsz?subs=1&test=foo')).json!;
      assert.deepEqual(Object.keys(l1), Object.keys(l2));
      const e1 = (l1.subscriptions_list as Array<Record<string, unknown>>).find((x) => x.subject === 'foo')!;
      const e2 = (l2.subscriptions_list as Array<Record<string, unknown>>).find((x) => x.subject === 'foo')!;
      assert.deepEqual(Object.keys(e1), Object.keys(e2));
      for (const q of ['/connz?sort=foo', '/connz?offset=x', '/connz?sort=stop', '/healthz', '/nope']) {
        const a = await get(ts, q);
        const b = await get(ns, q);
        assert.equal(a.status, b.status, q);
        assert.equal(a.text.trim(), b.text.trim(), q);
      }
    } finally {
      await ts.stop();
      await ns.stop();
    }
  });
});
