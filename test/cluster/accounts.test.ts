// Accounts over routes (issue 14): interest and messages of every account cross the cluster
// (`RS+ <acc> ...`, `RMSG <acc> ...`) and stay in their account. Mixed clusters with nats-server
// 2.9.10 in both directions (nats-server ↔ nats-server is the reference): accounts A and B on both
// nodes, a system account whose traffic lands in the peer's system account, /routez compared.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import type { NatsConnection } from '@nats-io/transport-node';
import { SKIP_NATS, client, routeUrl, sleep, startNode, until, waitRoutes, type Kind, type Node } from './harness.js';

const TOPOLOGIES: Array<[Kind, Kind]> = [
  ['tsnats', 'tsnats'],
  ['tsnats', 'nats-server'],
  ['nats-server', 'tsnats'],
  ['nats-server', 'nats-server'],
];

// nats-server in the harness runs with no_system_account; here both sides have SYS.
const ACCOUNTS = `
no_system_account: false
accounts {
  A { users: [ { user: a, password: a } ] }
  B { users: [ { user: b, password: b } ] }
  SYS { users: [ { user: sys, password: sys } ] }
}
system_account: SYS
`;

const as = (u: string) => ({ user: u, pass: u });

/** Subjects the route from `n` to its peer carries (every account). */
async function routeSubjects(n: Node): Promise<string[]> {
  const j = (await (await fetch(`${n.monitor}/routez?subs=1`)).json()) as { routes: Array<{ subscriptions_list?: string[] }> };
  return j.routes.flatMap((r) => r.subscriptions_list ?? []);
}

async function waitRouteSubject(n: Node, subject: string, count = 1): Promise<void> {
  await until(async () => (await routeSubjects(n)).filter((s) => s === subject).length >= count, 5000, `${subject} x${count} on ${n.name}`);
}

for (const [ka, kb] of TOPOLOGIES) {
  describe(`accounts over a route: ${ka} (A) <- ${kb} (B)`, { skip: SKIP_NATS && (ka !== 'tsnats' || kb !== 'tsnats') ? SKIP_NATS : false }, () => {
    let n1: Node;
    let n2: Node;
    const conns: NatsConnection[] = [];
    const conn = async (n: Node, u: string): Promise<NatsConnection> => {
      const c = await client(n, as(u));
      conns.push(c);
      return c;
    };

    before(async () => {
      n1 = await startNode(ka, { name: 'N1', extra: ACCOUNTS });
      n2 = await startNode(kb, { name: 'N2', extra: ACCOUNTS, routes: [routeUrl(n1)] });
      await waitRoutes([n1, n2], 1);
    });
    after(async () => {
      for (const c of conns) await c.close().catch(() => undefined);
      await n2?.stop();
      await n1?.stop();
    });

    it('a publish in A on one node reaches A on the other node, never B', async () => {
      const a1 = await conn(n1, 'a');
      const a2 = await conn(n2, 'a');
      const b2 = await conn(n2, 'b');
      const got: string[] = [];
      const sa = a2.subscribe('iso.>', { callback: (_e, m) => void got.push(`A:${m.subject}:${m.string()}`) });
      const sb = b2.subscribe('iso.>', { callback: (_e, m) => void got.push(`B:${m.subject}:${m.string()}`) });
      await a2.flush();
      await b2.flush();
      // Both accounts' interest is on the route (two entries for one subject).
      await waitRouteSubject(n1, 'iso.>', 2);
      for (let i = 0; i < 5; i++) a1.publish(`iso.${i}`, `m${i}`);
      await a1.flush();
      await until(() => got.length >= 5, 3000, 'five deliveries in A');
      await sleep(200);
      assert.deepEqual(got, ['A:iso.0:m0', 'A:iso.1:m1', 'A:iso.2:m2', 'A:iso.3:m3', 'A:iso.4:m4']);
      sa.unsubscribe();
      sb.unsubscribe();
    });

    it('the other direction, B only, and request/reply stays in its account', async () => {
      const b1 = await conn(n1, 'b');
      const b2 = await conn(n2, 'b');
      const a1 = await conn(n1, 'a');
      const got: string[] = [];
      const sb = b1.subscribe('back', { callback: (_e, m) => void got.push(`B:${m.string()}`) });
      const sa = a1.subscribe('back', { callback: (_e, m) => void got.push(`A:${m.string()}`) });
      const svc = b1.subscribe('svc.b', { callback: (_e, m) => void m.respond(`re:${m.string()}`) });
      await b1.flush();
      await a1.flush();
      await waitRouteSubject(n2, 'svc.b');
      await waitRouteSubject(n2, 'back', 2);
      b2.publish('back', 'x');
      await b2.flush();
      await until(() => got.length >= 1, 3000, 'delivery in B');
      const r = await b2.request('svc.b', 'ping', { timeout: 2000 });
      assert.equal(r.string(), 're:ping');
      // Account A on node 2 has no responder for it.
      const a2 = await conn(n2, 'a');
      await assert.rejects(a2.request('svc.b', 'ping', { timeout: 1000 }));
      await sleep(150);
      assert.deepEqual(got, ['B:x']);
      sb.unsubscribe();
      sa.unsubscribe();
      svc.unsubscribe();
    });

    it('queue groups are per account across the route', async () => {
      const counts = { a1: 0, a2: 0, b1: 0, b2: 0 };
      const a1 = await conn(n1, 'a');
      const a2 = await conn(n2, 'a');
      const b1 = await conn(n1, 'b');
      const b2 = await conn(n2, 'b');
      const subs = [
        a1.subscribe('work', { queue: 'q', callback: () => void counts.a1++ }),
        a2.subscribe('work', { queue: 'q', callback: () => void counts.a2++ }),
        b1.subscribe('work', { queue: 'q', callback: () => void counts.b1++ }),
        b2.subscribe('work', { queue: 'q', callback: () => void counts.b2++ }),
      ];
      for (const c of [a1, a2, b1, b2]) await c.flush();
      await waitRouteSubject(n1, 'work', 2);
      await waitRouteSubject(n2, 'work', 2);
      const n = 300;
      for (let i = 0; i < n; i++) (i % 2 ? a1 : a2).publish('work', String(i));
      await a1.flush();
      await a2.flush();
      await until(() => counts.a1 + counts.a2 >= n, 5000, 'all queue messages in A');
      await sleep(200);
      assert.equal(counts.a1 + counts.a2, n, 'each message once in A');
      assert.ok(counts.a1 > 20 && counts.a2 > 20, `spread over both nodes: ${JSON.stringify(counts)}`);
      assert.equal(counts.b1 + counts.b2, 0, 'B never gets A messages');
      // And B's group works on its own.
      for (let i = 0; i < 50; i++) b2.publish('work', String(i));
      await b2.flush();
      await until(() => counts.b1 + counts.b2 >= 50, 5000, 'all queue messages in B');
      await sleep(150);
      assert.equal(counts.b1 + counts.b2, 50);
      assert.equal(counts.a1 + counts.a2, n);
      for (const s of subs) s.unsubscribe();
    });

    it('system account traffic lands in the peer system account only', async () => {
      const s1 = await conn(n1, 'sys');
      const s2 = await conn(n2, 'sys');
      const a2 = await conn(n2, 'a');
      const got: string[] = [];
      const ss = s2.subscribe('sysprobe.>', { callback: (_e, m) => void got.push(`SYS:${m.subject}`) });
      const sa = a2.subscribe('sysprobe.>', { callback: (_e, m) => void got.push(`A:${m.subject}`) });
      const leak: string[] = [];
      const sw = a2.subscribe('$SYS.>', { callback: (_e, m) => void leak.push(m.subject) });
      await s2.flush();
      await a2.flush();
      await waitRouteSubject(n1, 'sysprobe.>', 2);
      s1.publish('sysprobe.x', 'hi');
      await s1.flush();
      await until(() => got.length >= 1, 3000, 'delivery in SYS');
      await sleep(200);
      assert.deepEqual(got, ['SYS:sysprobe.x']);
      assert.deepEqual(leak, [], 'no $SYS traffic in account A');
      for (const n of [n1, n2]) {
        assert.doesNotMatch(n.log(), /Unknown account/, `${n.kind} ${n.name}`);
      }
      ss.unsubscribe();
      sa.unsubscribe();
      sw.unsubscribe();
    });

    it('/routez counts the interest of every account and has no account field (2.9.10)', async () => {
      const a2 = await conn(n2, 'a');
      const b2 = await conn(n2, 'b');
      const s1 = a2.subscribe('rz.only.a');
      const s2 = b2.subscribe('rz.only.b');
      await a2.flush();
      await b2.flush();
      await waitRouteSubject(n1, 'rz.only.a');
      await waitRouteSubject(n1, 'rz.only.b');
      const j = (await (await fetch(`${n1.monitor}/routez`)).json()) as { routes: Array<Record<string, unknown>> };
      assert.equal(j.routes.length, 1);
      assert.ok(!('account' in j.routes[0]!), JSON.stringify(j.routes[0]));
      assert.ok((j.routes[0]!.subscriptions as number) >= 2);
      s1.unsubscribe();
      s2.unsubscribe();
      await a2.flush();
      await b2.flush();
      await until(async () => !(await routeSubjects(n1)).includes('rz.only.a'), 3000, 'RS- in A');
      await until(async () => !(await routeSubjects(n1)).includes('rz.only.b'), 3000, 'RS- in B');
    });
  });
}

function fakePeer(port: number, id = 'NFAKEPEER'): { text(): string; send(s: string): void; close(): void } {
  const sock = netConnect(port, '127.0.0.1');
  let buf = '';
  sock.on('data', (d) => (buf += d.toString('latin1')));
  sock.on('error', () => undefined);
  sock.write(`CONNECT {"echo":true,"verbose":false,"pedantic":false,"tls_required":false,"headers":true,"name":"${id}","cluster":"C1","lnoc":true}\r\n`);
  sock.write(`INFO {"server_id":"${id}","server_name":"${id}","version":"2.9.10","proto":2,"host":"127.0.0.1","port":1,"headers":true,"max_payload":1048576,"cluster":"C1","lnoc":true}\r\n`);
  return { text: () => buf, send: (x) => void sock.write(x), close: () => void sock.destroy() };
}

for (const kind of ['tsnats', 'nats-server'] as Kind[]) {
  describe(`accounts on the route protocol against ${kind}`, { skip: kind === 'nats-server' && SKIP_NATS ? SKIP_NATS : false }, () => {
    let n: Node;
    before(async () => {
      n = await startNode(kind, { name: 'N', extra: `${ACCOUNTS}\ndebug: true` });
    });
    after(async () => {
      await n?.stop();
    });

    it('initial RS+ per account, RMSG into the named account, unknown accounts logged and dropped', async () => {
      const a = await client(n, as('a'));
      const b = await client(n, as('b'));
      try {
        const got: string[] = [];
        a.subscribe('pre.a', { callback: (_e, m) => void got.push(`A:${m.subject}:${m.string()}`) });
        b.subscribe('pre.a', { callback: (_e, m) => void got.push(`B:${m.subject}:${m.string()}`) });
        a.subscribe('qq', { queue: 'g' });
        await a.flush();
        await b.flush();
        const f = fakePeer(n.clusterPort);
        try {
          await until(() => /RS\+ A pre\.a\r\n/.test(f.text()) && /RS\+ B pre\.a\r\n/.test(f.text()) && /RS\+ A qq g 1\r\n/.test(f.text()), 3000, 'initial RS+ of A and B');
          // Into A only.
          f.send('RMSG A pre.a 2\r\nhi\r\n');
          f.send('RMSG B pre.a 2\r\nho\r\n');
          await until(() => got.length >= 2, 3000, 'two routed deliveries');
          assert.deepEqual(got.sort(), ['A:pre.a:hi', 'B:pre.a:ho']);
          // Unknown account: logged, dropped, the route stays.
          f.send('RS+ ZZZ foo\r\n');
          f.send('RMSG ZZZ pre.a 2\r\nzz\r\n');
          f.send('RS- ZZZ foo\r\n');
          await until(() => /Unknown account "ZZZ" for routed message on subject: "pre\.a"/.test(n.log()), 3000, 'RMSG line');
          assert.match(n.log(), /\[ERR\] [^\n]*Unknown account "ZZZ" for remote subject "foo"/);
          assert.match(n.log(), /Unknown account "ZZZ" for subject "foo"/);
          // Interest in A from the peer gets A's messages as RMSG A.
          f.send('RS+ A to.peer\r\nRS+ B to.peer\r\nPING\r\n');
          await until(() => /PONG/.test(f.text()), 3000, 'PONG');
          a.publish('to.peer', 'x');
          await a.flush();
          await until(() => /RMSG A to\.peer 1\r\nx\r\n/.test(f.text()), 3000, 'RMSG A to the peer');
          await sleep(100);
          assert.equal(got.length, 2);
          assert.doesNotMatch(f.text(), /RMSG B to\.peer/);
        } finally {
          f.close();
        }
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}
