// The system account side by side with nats-server 2.9.10: the same scenario on both servers, a
// system account user watching `$SYS.>` and sending the requests tools send (`nats server ...`).
// Compared: subjects, and the JSON key paths of events and answers (values differ by nature:
// ids, times, counters).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, headers } from '@nats-io/transport-node';
import { gunzipSync } from 'node:zlib';
import { s2Decode } from '../../src/ocsp/s2.js';
import { SKIP_NATS_SERVER } from '../wire/harness.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYS_CONF, keyPaths, sleep, startNatsServerSys, startTsnatsSys, type SysMsg, type SysTarget } from './helpers.js';

const SERVER_X = ['STATSZ', 'VARZ', 'CONNZ', 'SUBSZ', 'ROUTEZ', 'GATEWAYZ', 'LEAFZ', 'ACCOUNTZ', 'JSZ', 'HEALTHZ'];

/** tsnats keys must be nats-server's (in any order), except these tsnats-only ones. */
function sameKeys(ts: unknown, ns: unknown, what: string, ignore: RegExp[] = []): void {
  const keep = (k: string): boolean => !ignore.some((r) => r.test(k));
  const a = [...new Set(keyPaths(ts).filter(keep))].sort();
  const b = [...new Set(keyPaths(ns).filter(keep))].sort();
  assert.deepEqual(a, b, what);
}

function one(list: SysMsg[], what: string): Record<string, unknown> {
  assert.equal(list.length, 1, `${what}: one answer (got ${list.map((m) => m.text.slice(0, 80)).join(' | ')})`);
  assert.ok(list[0]!.json, `${what}: JSON`);
  return list[0]!.json!;
}

describe('system account: tsnats and nats-server 2.9.10 side by side', { skip: SKIP_NATS_SERVER }, () => {
  let ts: SysTarget;
  let ns: SysTarget;

  before(async () => {
    ts = await startTsnatsSys();
    ns = await startNatsServerSys();
  });
  after(async () => {
    await ts?.stop();
    await ns?.stop();
  });

  it('auth error event: $SYS.SERVER.<id>.CLIENT.AUTH.ERR with the disconnect advisory shape', async () => {
    const got: Record<string, unknown>[] = [];
    for (const t of [ts, ns]) {
      await connect({ port: t.port, user: 'a', pass: 'wrong', reconnect: false }).then(
        (nc) => nc.close(),
        () => undefined,
      );
      const m = await t.probe.waitFor(new RegExp(`^\\$SYS\\.SERVER\\.${t.serverId}\\.CLIENT\\.AUTH\\.ERR$`));
      got.push(m.json!);
    }
    sameKeys(got[0], got[1], 'AUTH.ERR keys');
    for (const j of got) {
      assert.equal(j.type, 'io.nats.server.advisory.v1.client_disconnect');
      assert.equal(j.reason, 'Authentication Failure');
      assert.equal((j.client as Record<string, unknown>).acc, '$G');
      assert.equal((j.client as Record<string, unknown>).user, 'a');
      assert.match(String(j.id), /^[0-9A-Za-z]{22}$/);
    }
  });

  it('a new connection: $G connection count events on both subjects (nats-server binds new connections to $G first)', async () => {
    const got: Record<string, unknown>[] = [];
    for (const t of [ts, ns]) {
      const before = t.probe.seen.length;
      const nc = await connect({ port: t.port, user: 'a', pass: 'a', name: 'cli-a' });
      await nc.flush();
      await nc.close();
      await sleep(200);
      const subjects = t.probe.seen.slice(before).map((m) => m.subject);
      assert.ok(subjects.includes('$SYS.SERVER.ACCOUNT.$G.CONNS'), `${t.name}: ${subjects.join(',')}`);
      assert.ok(subjects.includes('$SYS.ACCOUNT.$G.SERVER.CONNS'), `${t.name}: ${subjects.join(',')}`);
      got.push(t.probe.seen.slice(before).find((m) => m.subject === '$SYS.ACCOUNT.$G.SERVER.CONNS')!.json!);
    }
    sameKeys(got[0], got[1], 'CONNS keys');
    assert.equal(got[0]!.type, 'io.nats.server.advisory.v1.account_connections');
  });

  it('connect and disconnect advisories of an account user', async () => {
    const got: Record<string, SysMsg[]> = {};
    for (const tg of [ts, ns]) {
      const before = tg.probe.seen.length;
      const nc = await connect({ port: tg.port, user: 'a', pass: 'a', name: 'cli-a' });
      nc.publish('foo', 'hello');
      await nc.flush();
      await nc.close();
      await tg.probe.waitFor(/^\$SYS\.ACCOUNT\.A\.DISCONNECT$/);
      await sleep(100);
      // (Account A's events only: $G counts and STATSZ heartbeats interleave by timing.)
      got[tg.name] = tg.probe.seen.slice(before).filter((m) => /\.A\./.test(m.subject));
    }
    const subj = (l: SysMsg[]) => l.map((m) => m.subject);
    assert.deepEqual(subj(got.tsnats!), subj(got['nats-server']!));
    for (const s of ['$SYS.ACCOUNT.A.CONNECT', '$SYS.ACCOUNT.A.DISCONNECT', '$SYS.ACCOUNT.A.SERVER.CONNS']) {
      sameKeys(got.tsnats!.find((m) => m.subject === s)!.json, got['nats-server']!.find((m) => m.subject === s)!.json, s);
    }
    const d = got.tsnats!.find((m) => m.subject === '$SYS.ACCOUNT.A.DISCONNECT')!.json!;
    assert.deepEqual(d.sent, { msgs: 1, bytes: 5 });
    assert.equal(d.reason, 'Client Closed');
  });

  it('system imports: a user of account A asking $SYS.REQ.ACCOUNT.PING.CONNZ / SERVER.PING.CONNZ / ACCOUNT.PING.STATZ gets its own account\'s answer', async () => {
    const got: Record<string, unknown>[] = [];
    for (const t of [ts, ns]) {
      const a = await connect({ port: t.port, user: 'a', pass: 'a', name: 'importer' });
      try {
        for (const subj of ['$SYS.REQ.ACCOUNT.PING.CONNZ', '$SYS.REQ.SERVER.PING.CONNZ']) {
          const r = (await a.request(subj, '', { timeout: 2000 })).json<{ data: { connections: Array<{ name?: string }> } }>();
          assert.deepEqual(r.data.connections.map((c) => c.name), ['importer'], `${t.name} ${subj}`);
          got.push(r as unknown as Record<string, unknown>);
        }
        const st = (await a.request('$SYS.REQ.ACCOUNT.PING.STATZ', '', { timeout: 2000 })).json<{ data: { account_statz: Array<{ acc: string }> } }>();
        assert.deepEqual(st.data.account_statz.map((x) => x.acc), ['A'], t.name);
      } finally {
        await a.close();
      }
    }
    sameKeys(got[0], got[2], 'imported CONNZ', [/^data\.connections\[\]\.(tls|rtt)/]);
  });

  it('isolation: a user of another account subscribed to $SYS.> sees no event; $SYS.REQ.SERVER.PING.VARZ from it has no responders', async () => {
    for (const t of [ts, ns]) {
      const a = await connect({ port: t.port, user: 'a', pass: 'a' });
      const got: string[] = [];
      const sub = a.subscribe('$SYS.>');
      void (async () => {
        for await (const m of sub) got.push(m.subject);
      })();
      await a.flush();
      const other = await connect({ port: t.port, user: 'a', pass: 'a' });
      await other.close();
      await connect({ port: t.port, user: 'a', pass: 'bad', reconnect: false }).then(
        (nc) => nc.close(),
        () => undefined,
      );
      await t.probe.waitFor(/^\$SYS\.ACCOUNT\.A\.DISCONNECT$/);
      await sleep(100);
      await a.close();
      assert.deepEqual(got, [], `${t.name}: account A saw ${got.join(', ')}`);
      const b = await connect({ port: t.port, user: 'a', pass: 'a' });
      try {
        await assert.rejects(b.request('$SYS.REQ.SERVER.PING.VARZ', '', { timeout: 1000 }), (e: Error) => /503|no responders/i.test(String((e as { code?: string }).code ?? '') + e.message), t.name);
      } finally {
        await b.close();
      }
    }
  });

  it('STATSZ heartbeat: $SYS.SERVER.<id>.STATSZ within a second of start, same keys', async () => {
    const a = await ts.probe.waitFor(new RegExp(`^\\$SYS\\.SERVER\\.${ts.serverId}\\.STATSZ$`), 2000);
    const b = await ns.probe.waitFor(new RegExp(`^\\$SYS\\.SERVER\\.${ns.serverId}\\.STATSZ$`), 2000);
    sameKeys(a.json, b.json, 'STATSZ keys');
  });

  for (const x of SERVER_X) {
    it(`$SYS.REQ.SERVER.PING.${x} and $SYS.REQ.SERVER.<id>.${x}: {server, data} with the same keys`, async () => {
      const [a, b] = await Promise.all([ts.probe.request(`$SYS.REQ.SERVER.PING.${x}`), ns.probe.request(`$SYS.REQ.SERVER.PING.${x}`)]);
      const ja = one(a, `tsnats ${x}`);
      const jb = one(b, `nats-server ${x}`);
      // Data only compared at the top level for endpoints whose inner lists depend on the connections.
      const top = (j: Record<string, unknown>) => ({ ...j, data: j.data && typeof j.data === 'object' ? Object.fromEntries(Object.keys(j.data).map((k) => [k, 0])) : j.data });
      if (x === 'VARZ') {
        // /varz has its own key test (test/server/monitor.test.ts): tsnats' keys are a subset.
        for (const k of Object.keys(ja.data as object)) if (k !== 'config_digest') assert.ok(k in (jb.data as object), `varz key ${k}`);
        sameKeys({ ...ja, data: 0 }, { ...jb, data: 0 }, x);
      } else if (x === 'STATSZ') sameKeys(ja, jb, x);
      else sameKeys(top(ja), top(jb), x);
      const direct = await ts.probe.request(`$SYS.REQ.SERVER.${ts.serverId}.${x}`);
      one(direct, `tsnats direct ${x}`);
    });
  }

  it('$SYS.REQ.SERVER.PING (no suffix) answers STATSZ', async () => {
    const [a, b] = await Promise.all([ts.probe.request('$SYS.REQ.SERVER.PING'), ns.probe.request('$SYS.REQ.SERVER.PING')]);
    sameKeys(one(a, 'tsnats'), one(b, 'nats-server'), 'PING');
  });

  it('a body that is not JSON: error 400 without data; a filter that excludes the server: silence; a matching one: an answer', async () => {
    const [a, b] = await Promise.all([ts.probe.request('$SYS.REQ.SERVER.PING.VARZ', 'not json'), ns.probe.request('$SYS.REQ.SERVER.PING.VARZ', 'not json')]);
    const ja = one(a, 'tsnats');
    const jb = one(b, 'nats-server');
    sameKeys(ja, jb, 'error');
    assert.equal((ja.error as { code: number }).code, 400);
    for (const t of [ts, ns]) {
      assert.equal((await t.probe.request('$SYS.REQ.SERVER.PING.CONNZ', JSON.stringify({ server_name: 'no-such-server' }))).length, 0, t.name);
      assert.equal((await t.probe.request('$SYS.REQ.SERVER.PING.HEALTHZ', JSON.stringify({ server_name: t.serverId.slice(0, 10) }))).length, 1, t.name);
      assert.equal((await t.probe.request('$SYS.REQ.SERVER.PING.HEALTHZ', JSON.stringify({ tags: ['nope'] }))).length, 0, t.name);
    }
  });

  it('option fields of the wrong JSON type: error 400 with Go\'s decoding message, the same on both', async () => {
    const cases: Array<[string, string]> = [
      ['$SYS.REQ.SERVER.PING.CONNZ', '{"limit":"x"}'],
      ['$SYS.REQ.SERVER.PING.CONNZ', '{"limit":1.5}'],
      ['$SYS.REQ.SERVER.PING.CONNZ', '{"server_name":5}'],
      ['$SYS.REQ.SERVER.PING.CONNZ', '{"tags":"a"}'],
      ['$SYS.REQ.SERVER.PING.CONNZ', '{"sort":7}'],
      ['$SYS.REQ.SERVER.PING.STATSZ', '{"server_name":5}'],
      ['$SYS.REQ.SERVER.PING.SUBSZ', '{"subscriptions":"yes"}'],
      ['$SYS.REQ.SERVER.PING.JSZ', '{"accounts":["a"]}'],
      ['$SYS.REQ.ACCOUNT.PING.STATZ', '{"accounts":"x"}'],
      ['$SYS.REQ.ACCOUNT.SYS.STATZ', '{"include_unused":1}'],
    ];
    for (const [subj, body] of cases) {
      const [a, b] = await Promise.all([ts.probe.request(subj, body, 250), ns.probe.request(subj, body, 250)]);
      // (ACCOUNT.PING.STATZ also matches ACCOUNT.*.STATZ: a bad body is answered twice by nats-server.)
      const errs = (l: SysMsg[]) => l.map((m) => m.json?.error);
      assert.ok(a.length > 0, `${subj} ${body}`);
      assert.deepEqual(errs(a), errs(b), `${subj} ${body}`);
    }
  });

  it('Accept-Encoding on a request: gzip and snappy answers (Content-Encoding header), identity for others', async () => {
    const results: Record<string, string[]> = {};
    for (const t of [ts, ns]) {
      const nc = await connect({ port: t.port, user: 'sys', pass: 'x' });
      try {
        results[t.name] = [];
        for (const enc of ['gzip', 'snappy', 's2', 'br', 'deflate, gzip']) {
          const h = headers();
          h.set('Accept-Encoding', enc);
          const r = await nc.request('$SYS.REQ.SERVER.PING.CONNZ', '', { timeout: 2000, headers: h });
          const ce = r.headers?.get('Content-Encoding') ?? '';
          const body = ce === 'gzip' ? gunzipSync(r.data) : ce === 'snappy' ? s2Decode(r.data) : Buffer.from(r.data);
          const j = JSON.parse(body.toString()) as Record<string, unknown>;
          results[t.name]!.push(`${enc}=>${ce}:${Object.keys(j).join(',')}:${Object.keys(j.data as object).join(',')}`);
        }
      } finally {
        await nc.close();
      }
    }
    assert.deepEqual(results.tsnats, results['nats-server']);
  });

  it('connz options in the request body (limit, subscriptions)', async () => {
    for (const t of [ts, ns]) {
      const nc = await connect({ port: t.port, user: 'a', pass: 'a' });
      nc.subscribe('x.y');
      await nc.flush();
      const r = one(await t.probe.request('$SYS.REQ.SERVER.PING.CONNZ', JSON.stringify({ subscriptions: true, limit: 1, sort: 'subs' })), t.name);
      const d = r.data as { limit: number; connections: Array<Record<string, unknown>> };
      assert.equal(d.limit, 1, t.name);
      assert.equal(d.connections.length, 1, t.name);
      assert.ok(Array.isArray(d.connections[0]!.subscriptions_list), `${t.name}: ${JSON.stringify(d.connections[0])}`);
      const bad = one(await t.probe.request('$SYS.REQ.SERVER.PING.CONNZ', JSON.stringify({ sort: 'nope' })), t.name);
      assert.deepEqual(bad.error, { code: 500, description: 'invalid sorting option: nope' }, t.name);
      assert.equal(bad.data, null, t.name);
      await nc.close();
    }
  });

  it('$SYS.REQ.ACCOUNT.<acc>.<X>: INFO, CONNZ, SUBSZ, JSZ (JetStream off: error 500), STATZ of an idle account: silence', async () => {
    const acc = 'A';
    for (const x of ['INFO', 'CONNZ', 'SUBSZ']) {
      const [a, b] = await Promise.all([ts.probe.request(`$SYS.REQ.ACCOUNT.${acc}.${x}`), ns.probe.request(`$SYS.REQ.ACCOUNT.${acc}.${x}`)]);
      const ja = one(a, `tsnats ${x}`);
      const jb = one(b, `nats-server ${x}`);
      // (Subscription lists: nats-server also lists the internal subscriptions of the system imports.)
      sameKeys(ja, jb, x, [/subscriptions_list/, /^data\.connections\[\]/]);
      if (x === 'INFO') {
        const imp = (j: Record<string, unknown>) => ((j.data as { imports: Array<{ subject: string; to: string }> }).imports ?? []).map((i) => `${i.subject}>${i.to}`).sort();
        assert.deepEqual(imp(ja), imp(jb), 'system imports');
      }
    }
    // ACCOUNT.PING.CONNZ from the system account: "PING" is taken as an account name, unknown: an
    // empty Connz without server id (nats-server's answer).
    const [p1, p2] = await Promise.all([ts.probe.request('$SYS.REQ.ACCOUNT.PING.CONNZ'), ns.probe.request('$SYS.REQ.ACCOUNT.PING.CONNZ')]);
    const [d1, d2] = [one(p1, 'tsnats PING.CONNZ').data as Record<string, unknown>, one(p2, 'nats-server PING.CONNZ').data as Record<string, unknown>];
    sameKeys(d1, d2, 'ACCOUNT.PING.CONNZ');
    assert.equal(d1.server_id, '');
    assert.equal(d1.connections, null);
    const [a, b] = await Promise.all([ts.probe.request(`$SYS.REQ.ACCOUNT.${acc}.JSZ`), ns.probe.request(`$SYS.REQ.ACCOUNT.${acc}.JSZ`)]);
    assert.deepEqual(one(a, 'tsnats').error, { code: 500, description: 'jetstream not enabled' });
    assert.deepEqual(one(b, 'nats-server').error, { code: 500, description: 'jetstream not enabled' });
    assert.equal((await ts.probe.request(`$SYS.REQ.ACCOUNT.${acc}.STATZ`)).length, 0);
    assert.equal((await ns.probe.request(`$SYS.REQ.ACCOUNT.${acc}.STATZ`)).length, 0);
    // include_unused: answered.
    const [u1, u2] = await Promise.all([ts.probe.request(`$SYS.REQ.ACCOUNT.${acc}.STATZ`, '{"include_unused":true}'), ns.probe.request(`$SYS.REQ.ACCOUNT.${acc}.STATZ`, '{"include_unused":true}')]);
    sameKeys(one(u1, 'tsnats'), one(u2, 'nats-server'), 'STATZ include_unused');
  });

  it('monitoring: /accountz, /accountz?acc=, /accstatz, /connz?acc= have nats-server keys and errors', async () => {
    const get = async (t: SysTarget, p: string) => {
      const r = await fetch(`${t.monitor}${p}`);
      const text = await r.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        /* text */
      }
      return { status: r.status, text, json };
    };
    for (const p of ['/accountz', '/accountz?acc=SYS', '/accstatz', '/accstatz?unused=1', '/connz?acc=nope', '/subsz?acc=SYS', '/connz?acc=SYS&auth=1']) {
      const [a, b] = [await get(ts, p), await get(ns, p)];
      assert.equal(a.status, b.status, p);
      sameKeys(a.json, b.json, p, [/^account_statz\[\]/]);
    }
    const [a, b] = [await get(ts, '/accountz?acc=nope'), await get(ns, '/accountz?acc=nope')];
    assert.equal(a.status, 400);
    assert.equal(a.status, b.status);
    assert.equal(a.text.trim(), b.text.trim());
    const acc = (await get(ts, '/accountz')).json as { system_account: string; accounts: string[] };
    assert.equal(acc.system_account, 'SYS');
    assert.ok(acc.accounts.includes('$G') && acc.accounts.includes('SYS'));
    const v = (await get(ts, '/varz')).json as { system_account: string };
    assert.equal(v.system_account, 'SYS');
  });

  it('shutdown: $SYS.SERVER.<id>.SHUTDOWN reaches a system account subscriber before it is closed', async () => {
    // Run last: stops both servers (after() tolerates it).
    const probes = [ts.probe, ns.probe];
    await ts.stop();
    await ns.stop();
    const a = probes[0]!.seen.find((m) => m.subject === `$SYS.SERVER.${ts.serverId}.SHUTDOWN`);
    const b = probes[1]!.seen.find((m) => m.subject === `$SYS.SERVER.${ns.serverId}.SHUTDOWN`);
    assert.ok(a, 'tsnats SHUTDOWN');
    assert.ok(b, 'nats-server SHUTDOWN');
    sameKeys(a.json, b.json, 'SHUTDOWN');
    ts = undefined as unknown as SysTarget;
    ns = undefined as unknown as SysTarget;
  });
});

describe('system account with JetStream: JSZ requests side by side', { skip: SKIP_NATS_SERVER }, () => {
  it('$SYS.REQ.SERVER.PING.JSZ and $SYS.REQ.ACCOUNT.<acc>.JSZ: an enabled account\'s detail, errors for the others', async () => {
    const accounts = SYS_CONF.replace('A { users', 'A { jetstream: enabled, users');
    const dirs = [mkdtempSync(join(tmpdir(), 'sys-js-ts-')), mkdtempSync(join(tmpdir(), 'sys-js-ns-'))];
    const ts = await startTsnatsSys(`jetstream { store_dir: "${dirs[0]}" }\n`, accounts);
    const ns = await startNatsServerSys(`jetstream { store_dir: "${dirs[1]}" }\n`, accounts);
    try {
      for (const [subj, body] of [
        ['$SYS.REQ.SERVER.PING.JSZ', ''],
        ['$SYS.REQ.ACCOUNT.A.JSZ', ''],
        ['$SYS.REQ.ACCOUNT.SYS.JSZ', ''],
        ['$SYS.REQ.ACCOUNT.NOPE.JSZ', ''],
      ] as const) {
        const [a, b] = await Promise.all([ts.probe.request(subj, body), ns.probe.request(subj, body)]);
        const ja = one(a, `tsnats ${subj}`);
        const jb = one(b, `nats-server ${subj}`);
        assert.deepEqual(ja.error, jb.error, subj);
        const top = (j: Record<string, unknown>) => Object.keys((j.data as object | null) ?? {}).sort();
        assert.deepEqual(top(ja), top(jb), subj);
      }
    } finally {
      await ts.stop();
      await ns.stop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });
});
