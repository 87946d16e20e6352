// tsnats' system account events and requests on their own: when they run at all (a plain server
// loads nothing), the send queue (events never delivered on the path that raised them), the STATSZ
// back-off, no echo (a request whose reply subject is a request subject does not loop), the CONNS
// request, account STATZ pings, and hostile request bodies that must never crash the server.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { startServer } from '../../src/index.js';
import { eventsWanted } from '../../src/server/hooks.js';
import { defaultOptions } from '../../src/config/options.js';
import { internalProbe, sleep, startTsnatsSys, type SysTarget } from './helpers.js';

async function withSys(body: (t: SysTarget) => Promise<void>, extra = ''): Promise<void> {
  const t = await startTsnatsSys(extra);
  try {
    await body(t);
  } finally {
    await t.stop();
  }
}

describe('system events: when they run', () => {
  it('eventsWanted: only when something can listen in the system account', () => {
    const d = defaultOptions();
    assert.equal(eventsWanted(d), false, 'plain: $SYS exists but has no users');
    assert.equal(eventsWanted({ ...d, systemAccount: 'SYS' }), true);
    assert.equal(eventsWanted({ ...d, systemAccount: 'SYS', noSystemAccount: true }), false);
    assert.equal(eventsWanted({ ...d, accounts: [{ name: '$SYS' } as never] }), true);
    assert.equal(eventsWanted({ ...d, accounts: [{ name: 'A' } as never] }), false);
    assert.equal(eventsWanted({ ...d, accounts: [{ name: 'SYS' } as never], systemAccount: 'SYS' }), true);
  });

  it('a plain server has no events (and /varz still names the system account $SYS)', async () => {
    const r = await startServer({ options: { httpPort: -1 } });
    try {
      assert.equal(r.server.events, undefined);
      const v = (await (await fetch(`${r.server.monitor.urls()[0]}/varz`)).json()) as Record<string, unknown>;
      assert.equal(v.system_account, '$SYS');
      const a = (await (await fetch(`${r.server.monitor.urls()[0]}/accountz`)).json()) as Record<string, unknown>;
      assert.deepEqual(a.accounts, ['$G', '$SYS']);
    } finally {
      await r.close();
    }
  });

  it('no_system_account: no events, no system_account in /varz and /accountz', async () => {
    const r = await startServer({ options: { httpPort: -1, systemAccount: 'SYS', noSystemAccount: true } });
    try {
      assert.equal(r.server.events, undefined);
      const v = (await (await fetch(`${r.server.monitor.urls()[0]}/varz`)).json()) as Record<string, unknown>;
      assert.equal('system_account' in v, false);
      const a = (await (await fetch(`${r.server.monitor.urls()[0]}/accountz`)).json()) as Record<string, unknown>;
      assert.equal('system_account' in a, false);
      assert.deepEqual(a.accounts, ['$G']);
    } finally {
      await r.close();
    }
  });
});

describe('system events: reload', () => {
  it('a reload that adds the first system account user starts the events', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { loadConfigFile } = await import('../../src/config/index.js');
    const dir = mkdtempSync(join(tmpdir(), 'tsnats-sys-reload-'));
    const f = join(dir, 's.conf');
    const head = 'host: 127.0.0.1\nport: -1\n';
    // The default $SYS without users: no events until a reload gives it one.
    writeFileSync(f, `${head}accounts { A { users: [{user: a, password: a}] } }\n`);
    const r = await startServer({ configFile: f });
    try {
      assert.equal(r.server.events, undefined);
      writeFileSync(f, `${head}accounts { A { users: [{user: a, password: a}] }, $SYS { users: [{user: sys, password: x}] } }\n`);
      await r.server.reload(loadConfigFile(f).options);
      assert.ok(r.server.events, 'events started by the reload');
      const nc = await connect({ port: r.port, user: 'sys', pass: 'x' });
      const r1 = await nc.request('$SYS.REQ.SERVER.PING.HEALTHZ', '', { timeout: 2000 });
      assert.deepEqual((r1.json() as { data: unknown }).data, { status: 'ok' });
      await nc.close();
      // An account added by a later reload gets the system imports too.
      writeFileSync(f, `${head}accounts { A { users: [{user: a, password: a}] }, B { users: [{user: b, password: b}] }, $SYS { users: [{user: sys, password: x}] } }\n`);
      await r.server.reload(loadConfigFile(f).options);
      const b = await connect({ port: r.port, user: 'b', pass: 'b', name: 'in-b' });
      const c = (await b.request('$SYS.REQ.ACCOUNT.PING.CONNZ', '', { timeout: 2000 })).json<{ data: { connections: Array<{ name: string }> } }>();
      assert.deepEqual(c.data.connections.map((x) => x.name), ['in-b']);
      await b.close();
    } finally {
      await r.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('system events: delivery', () => {
  it('events are queued: nothing is delivered on the path that raised them, everything on the next turn, in order', async () => {
    await withSys(async (t) => {
      const ev = t.ts!.server.events!;
      const probe = internalProbe(t.ts!);
      try {
        const before = probe.seen.length;
        ev.accountConnsChanged('$G');
        ev.sendStatsz('$SYS.SERVER.x.STATSZ');
        assert.equal(probe.seen.length, before, 'not delivered synchronously');
        await new Promise((r) => setImmediate(r));
        await new Promise((r) => setImmediate(r));
        const got = probe.seen.slice(before).map((m) => m.subject);
        assert.deepEqual(got, ['$SYS.SERVER.ACCOUNT.$G.CONNS', '$SYS.ACCOUNT.$G.SERVER.CONNS', '$SYS.SERVER.x.STATSZ']);
        const seqs = probe.seen.slice(before).map((m) => (m.json!.server as { seq: number }).seq);
        assert.ok(seqs[0]! < seqs[1]! && seqs[1]! < seqs[2]!, `sequence grows: ${seqs.join(',')}`);
      } finally {
        await probe.close();
      }
    });
  });

  it('STATSZ heartbeat backs off: 250 ms, then 500 ms, then 1 s ... (nats-server up to 30 s)', async () => {
    await withSys(async (t) => {
      const re = new RegExp(`^\\$SYS\\.SERVER\\.${t.serverId}\\.STATSZ$`);
      const at: number[] = [];
      const start = Date.now();
      for (let i = 0; i < 200 && at.length < 3; i++) {
        at.length = 0;
        for (const m of t.probe.seen) if (re.test(m.subject)) at.push(Date.parse(String((m.json!.server as { time: string }).time)));
        await sleep(25);
      }
      assert.equal(at.length, 3, `three heartbeats within ${Date.now() - start} ms`);
      const d1 = at[1]! - at[0]!;
      const d2 = at[2]! - at[1]!;
      assert.ok(d1 >= 400 && d1 < 900, `second gap ~500 ms: ${d1}`);
      assert.ok(d2 >= 850 && d2 < 1600, `third gap ~1 s: ${d2}`);
    });
  });

  it('CONNS heartbeat: an account with connections repeats its event once its last one is 30 s old; idle accounts do not', async () => {
    await withSys(async (t) => {
      const nc = await connect({ port: t.port, user: 'a', pass: 'a' });
      try {
        await sleep(100);
        const ev = t.ts!.server.events! as unknown as { connsHeartbeat(): void; connsSentAt: Map<string, number> };
        const before = t.probe.seen.length;
        ev.connsHeartbeat();
        await sleep(50);
        assert.equal(t.probe.seen.slice(before).filter((m) => m.subject.endsWith('.CONNS')).length, 0, 'sent recently: nothing');
        for (const k of ev.connsSentAt.keys()) ev.connsSentAt.set(k, Date.now() - 31_000);
        ev.connsHeartbeat();
        await sleep(50);
        const subjects = t.probe.seen.slice(before).map((m) => m.subject).filter((x) => x.endsWith('.CONNS'));
        const acc = 'A';
        assert.ok(subjects.includes(`$SYS.ACCOUNT.${acc}.SERVER.CONNS`), subjects.join(','));
        assert.ok(!subjects.some((x) => x.includes('.$G.')), `idle $G sends nothing: ${subjects.join(',')}`);
      } finally {
        await nc.close();
      }
    });
  });

  it('no echo: a request whose reply subject is a request subject is answered once, no loop', async () => {
    await withSys(async (t) => {
      const before = t.probe.seen.length;
      await t.probe.request('$SYS.REQ.SERVER.PING.HEALTHZ', '', 50);
      // Reply to a request subject: the answer goes to $SYS.REQ.SERVER.PING.VARZ, which the server
      // itself must not take as a new request.
      const ev = t.ts!.server.events!;
      ev.bus.publish('$SYS.REQ.SERVER.PING.HEALTHZ', '$SYS.REQ.SERVER.PING.VARZ', '');
      await sleep(300);
      const varz = t.probe.seen.slice(before).filter((m) => m.subject === '$SYS.REQ.SERVER.PING.VARZ');
      assert.ok(varz.length <= 1, `at most one message on the reply subject, got ${varz.length}`);
    });
  });

  it('$SYS.REQ.ACCOUNT.<acc>.CONNS answers the account connection count only while it has connections; ACCOUNT.PING.STATZ lists busy accounts', async () => {
    await withSys(async (t) => {
      const acc = 'A';
      assert.equal((await t.probe.request(`$SYS.REQ.ACCOUNT.${acc}.CONNS`)).length, 0, 'no connections: silent');
      const nc = await connect({ port: t.port, user: 'a', pass: 'a' });
      try {
        const r = await t.probe.request(`$SYS.REQ.ACCOUNT.${acc}.CONNS`);
        assert.equal(r.length, 1);
        assert.equal(r[0]!.json!.type, 'io.nats.server.advisory.v1.account_connections');
        assert.equal(r[0]!.json!.conns, 1);
        assert.equal((await t.probe.request(`$SYS.REQ.ACCOUNT.${acc}.CONNS`, '{"acc":"other"}')).length, 0, 'account mismatch: ignored');
        const p = await t.probe.request('$SYS.REQ.ACCOUNT.PING.STATZ');
        assert.equal(p.length, 1);
        const list = (p[0]!.json!.data as { account_statz: Array<{ acc: string; conns: number }> }).account_statz;
        assert.ok(list.some((x) => x.acc === acc && x.conns === 1), JSON.stringify(list));
        const one = await t.probe.request('$SYS.REQ.ACCOUNT.PING.STATZ', JSON.stringify({ accounts: ['nope'] }));
        assert.equal(one.length, 0, 'only idle/unknown accounts: silent');
      } finally {
        await nc.close();
      }
    });
  });

  it('/connz filters by account and user; the account shows with auth for accounts other than $G', async () => {
    await withSys(async (t) => {
      const nc = await connect({ port: t.port, user: 'a', pass: 'a', name: 'filtered' });
      try {
        const acc = t.ts!.server.events!.accounts.accountOf([...t.ts!.server.clients.values()].find((c) => c.name === 'filtered')!);
        const get = async (p: string) => (await (await fetch(`${t.monitor}${p}`)).json()) as { connections: Array<Record<string, unknown>> | null; server_id: string };
        assert.equal((await get(`/connz?acc=${encodeURIComponent(acc)}`)).connections!.some((c) => c.name === 'filtered'), true);
        assert.equal((await get(`/connz?user=a`)).connections!.some((c) => c.name === 'filtered'), true);
        assert.equal((await get(`/connz?user=b`)).connections!.length, 0);
        const none = await get('/connz?acc=nope');
        assert.equal(none.server_id, '');
        assert.equal(none.connections, null);
        const withAuth = (await get(`/connz?auth=1&acc=${encodeURIComponent(acc)}`)).connections!.find((c) => c.name === 'filtered')!;
        assert.equal(withAuth.account, acc === '$G' ? undefined : acc);
      } finally {
        await nc.close();
      }
    });
  });
});

describe('per-account counters', () => {
  it('/accstatz and STATZ count an account\'s messages and slow consumers', async () => {
    await withSys(async (t) => {
      const { connect: netConnect } = await import('node:net');
      // A consumer in A that never reads: a slow consumer once max_pending is passed.
      const raw = netConnect(t.port, '127.0.0.1');
      await new Promise<void>((r) => raw.once('data', () => r()));
      raw.write('CONNECT {"verbose":false,"user":"a","pass":"a"}\r\nSUB big 1\r\nPING\r\n');
      await new Promise<void>((r) => raw.once('data', () => r()));
      raw.pause();
      const pub = await connect({ port: t.port, user: 'a', pass: 'a' });
      const payload = new Uint8Array(64 * 1024);
      for (let i = 0; i < 40 && !raw.destroyed; i++) {
        for (let k = 0; k < 50; k++) pub.publish('big', payload);
        await pub.flush();
      }
      await sleep(200);
      const st = (await (await fetch(`${t.monitor}/accstatz?unused=1`)).json()) as { account_statz: Array<{ acc: string; slow_consumers: number; received: { msgs: number } }> };
      const a = st.account_statz.find((x) => x.acc === 'A')!;
      assert.ok(a.slow_consumers >= 1, JSON.stringify(a));
      assert.ok(a.received.msgs >= 50, JSON.stringify(a));
      raw.destroy();
      await pub.close();
    }, 'max_pending: 1048576\n');
  });
});

describe('system requests: hostile bodies never crash the server', () => {
  it('garbage, wrong types, deep nesting and large bodies on every request subject', async () => {
    await withSys(async (t) => {
      const subjects = [
        '$SYS.REQ.SERVER.PING',
        ...['STATSZ', 'VARZ', 'CONNZ', 'SUBSZ', 'ROUTEZ', 'GATEWAYZ', 'LEAFZ', 'ACCOUNTZ', 'JSZ', 'HEALTHZ'].flatMap((x) => [`$SYS.REQ.SERVER.PING.${x}`, `$SYS.REQ.SERVER.${t.serverId}.${x}`]),
        ...['SUBSZ', 'CONNZ', 'LEAFZ', 'JSZ', 'INFO', 'STATZ', 'CONNS'].map((x) => `$SYS.REQ.ACCOUNT.$G.${x}`),
        '$SYS.REQ.ACCOUNT.PING.STATZ',
        '$SYS.REQ.ACCOUNT.PING.CONNZ',
      ];
      const bodies = [
        '\u0000\u0001\u00ff',
        '[]',
        '"x"',
        '42',
        'null',
        '{"limit":"x","offset":-5,"sort":7,"subscriptions":"yes","state":99,"cid":-1,"acc":{}}',
        '{"server_name":5,"tags":"a","cluster":[]}',
        '{"accounts":"notalist","include_unused":1}',
        '{"a":' + '['.repeat(5000) + ']'.repeat(5000) + '}',
        JSON.stringify({ test: 'x'.repeat(100_000), account: '*', acc: '>' }),
        '{"test":"foo.*"}',
      ];
      for (const s of subjects) for (const b of bodies) t.ts!.server.events!.bus.flush(), void t.probe.request(s, b, 1);
      await sleep(800);
      // Still serving.
      const ok = await t.probe.request('$SYS.REQ.SERVER.PING.HEALTHZ');
      assert.equal(ok.length, 1);
      assert.deepEqual(ok[0]!.json!.data, { status: 'ok' });
      const nc = await connect({ port: t.port, user: 'a', pass: 'a' });
      await nc.flush();
      await nc.close();
    });
  });
});
