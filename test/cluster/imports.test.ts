// Imports and exports across a cluster: the same accounts {} on both nodes; a service request
// from B on one node is answered by A's responder on the other node (the requester's server
// handles the import and forwards the request in A; the response comes back over the route to
// the `_R_` subscription), a queue group of responders in A spread over both nodes answers once,
// and a stream export published in A on one node reaches B's subscriber on the other. Mixed
// topologies with nats-server 2.9.10 in both directions (nats-server ↔ nats-server: the reference).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { SKIP_NATS, client, routeUrl, sleep, startNode, until, waitRoutes, type Kind, type Node } from './harness.js';

const TOPOLOGIES: Array<[Kind, Kind]> = [
  ['tsnats', 'tsnats'],
  ['tsnats', 'nats-server'],
  ['nats-server', 'tsnats'],
  ['nats-server', 'nats-server'],
];

const ACCOUNTS = `
accounts {
  A {
    users: [ { user: a, password: a } ]
    exports: [ { service: "svc.>" }, { stream: "ev.>" } ]
  }
  B {
    users: [ { user: b, password: b } ]
    imports: [
      { service: { account: A, subject: "svc.>" } }
      { stream: { account: A, subject: "ev.>" }, prefix: "from.a" }
    ]
  }
}
`;

const as = (u: string) => ({ user: u, pass: u });

for (const [k1, k2] of TOPOLOGIES) {
  describe(`imports over a route: ${k1} <-> ${k2}`, { skip: SKIP_NATS && (k1 !== 'tsnats' || k2 !== 'tsnats') ? SKIP_NATS : false }, () => {
    let n1: Node;
    let n2: Node;
    const conns: NatsConnection[] = [];
    const conn = async (n: Node, u: string): Promise<NatsConnection> => {
      const c = await client(n, as(u));
      conns.push(c);
      return c;
    };

    before(async () => {
      n1 = await startNode(k1, { name: 'N1', extra: ACCOUNTS });
      n2 = await startNode(k2, { name: 'N2', extra: ACCOUNTS, routes: [routeUrl(n1)] });
      await waitRoutes([n1, n2], 1);
    });
    after(async () => {
      for (const c of conns) await c.close().catch(() => undefined);
      await n2?.stop();
      await n1?.stop();
    });

    it('a request from B on node 1 is answered by A on node 2', async () => {
      const a2 = await conn(n2, 'a');
      a2.subscribe('svc.echo', { callback: (_e, m) => void m.respond(`A2:${m.string()}`) });
      await a2.flush();
      const b1 = await conn(n1, 'b');
      // Interest needs a moment to cross the route.
      let answer = '';
      await until(
        async () => {
          answer = await b1.request('svc.echo', 'hi', { timeout: 500 }).then((m) => m.string(), () => '');
          return answer !== '';
        },
        8000,
        'an answer across the route',
      );
      assert.equal(answer, 'A2:hi');
      for (let i = 0; i < 5; i++) assert.equal((await b1.request('svc.echo', `m${i}`, { timeout: 2000 })).string(), `A2:m${i}`);
    });

    it('a queue group of responders in A on both nodes answers each request once', async () => {
      const a1 = await conn(n1, 'a');
      const a2 = await conn(n2, 'a');
      let calls = 0;
      for (const [c, tag] of [[a1, 'n1'], [a2, 'n2']] as const) {
        c.subscribe('svc.q', { queue: 'workers', callback: (_e, m) => void (calls++, m.respond(tag)) });
        await c.flush();
      }
      const b1 = await conn(n1, 'b');
      await until(async () => (await b1.request('svc.q', 'x', { timeout: 500 }).then(() => true, () => false)), 8000, 'queue answers');
      calls = 0;
      for (let i = 0; i < 20; i++) await b1.request('svc.q', `${i}`, { timeout: 2000 });
      await sleep(200);
      assert.equal(calls, 20, 'one responder per request');
    });

    it('a stream export published in A on node 1 reaches B on node 2 under the prefix, once', async () => {
      const b2 = await conn(n2, 'b');
      const got: string[] = [];
      b2.subscribe('from.a.ev.>', { callback: (_e, m) => void got.push(`${m.subject}:${m.string()}`) });
      await b2.flush();
      const a1 = await conn(n1, 'a');
      await until(
        async () => {
          a1.publish('ev.probe', 'p');
          await a1.flush();
          await sleep(100);
          return got.length > 0;
        },
        8000,
        'the stream import across the route',
      );
      got.length = 0;
      for (let i = 0; i < 5; i++) a1.publish(`ev.${i}`, `m${i}`);
      await a1.flush();
      await until(() => got.length >= 5, 3000, 'five deliveries');
      await sleep(200);
      assert.deepEqual(got, ['from.a.ev.0:m0', 'from.a.ev.1:m1', 'from.a.ev.2:m2', 'from.a.ev.3:m3', 'from.a.ev.4:m4']);
    });
  });
}
