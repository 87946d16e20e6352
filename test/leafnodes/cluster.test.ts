// Leafs and routes together: a spoke attached to one node of a two-node cluster reaches clients
// of the other node and back (messages from a leaf go to routes; routed messages go to leafs we
// are the hub of), with tsnats and nats-server as cluster nodes.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { SKIP_NATS, client, collect, freePort, startNode, until, waitLeafInterest, waitLeafs, type Kind, type LNode } from './harness.js';

for (const [clusterKind, spokeKind] of [
  ['tsnats', 'nats-server'],
  ['tsnats', 'tsnats'],
  ['nats-server', 'tsnats'],
] as Array<[Kind, Kind]>) {
  describe(`leaf + routes: ${clusterKind} cluster hub, ${spokeKind} spoke`, { skip: SKIP_NATS }, () => {
    const nodes: LNode[] = [];
    const conns: NatsConnection[] = [];
    after(async () => {
      for (const c of conns) await c.close().catch(() => undefined);
      for (const n of nodes.reverse()) await n.stop().catch(() => undefined);
    });

    it('spoke <-> client on the other cluster node, both ways', async () => {
      const ca = await freePort();
      const cb = await freePort();
      const a = await startNode(clusterKind, {
        name: 'A',
        leaf: 'listen: "127.0.0.1:-1"',
        extra: `cluster { name: C1, listen: "127.0.0.1:${ca}", routes: ["nats-route://127.0.0.1:${cb}"] }`,
      });
      nodes.push(a);
      const b = await startNode(clusterKind, {
        name: 'B',
        extra: `cluster { name: C1, listen: "127.0.0.1:${cb}", routes: ["nats-route://127.0.0.1:${ca}"] }`,
      });
      nodes.push(b);
      await until(async () => ((await (await fetch(`${a.monitor}/routez`)).json()) as { num_routes: number }).num_routes === 1, 6000, 'route');
      const s = await startNode(spokeKind, { name: 'S', leaf: `remotes: [ { url: "nats-leaf://127.0.0.1:${a.leafPort}" } ]` });
      nodes.push(s);
      await waitLeafs(a, 1);
      const bc = await client(b);
      const sc = await client(s);
      conns.push(bc, sc);
      // Spoke subscriber, publisher on B: LS+ on A becomes RS+ to B; B's RMSG goes on to the leaf.
      const ss = sc.subscribe('to.spoke');
      await sc.flush();
      await waitLeafInterest(a, 'to.spoke');
      await until(
        async () => {
          const j = (await (await fetch(`${b.monitor}/routez?subs=1`)).json()) as { routes: Array<{ subscriptions_list?: string[] }> };
          return j.routes.some((r) => (r.subscriptions_list ?? []).includes('to.spoke'));
        },
        5000,
        'RS+ to.spoke on B',
      );
      bc.publish('to.spoke', 'from-b');
      assert.deepEqual(await collect(ss, 1), ['from-b']);
      // B subscriber, spoke publisher: the hub sends the spoke all its interest (route-learned too).
      const bs = bc.subscribe('to.b');
      await bc.flush();
      await waitLeafInterest(s, 'to.b');
      sc.publish('to.b', 'from-spoke');
      assert.deepEqual(await collect(bs, 1), ['from-spoke']);
      // Request from B to a responder on the spoke.
      sc.subscribe('svc', { callback: (_e, m) => void m.respond('pong') });
      await sc.flush();
      await waitLeafInterest(a, 'svc');
      await until(
        async () => {
          const j = (await (await fetch(`${b.monitor}/routez?subs=1`)).json()) as { routes: Array<{ subscriptions_list?: string[] }> };
          return j.routes.some((r) => (r.subscriptions_list ?? []).includes('svc'));
        },
        5000,
        'RS+ svc on B',
      );
      const r = await bc.request('svc', 'ping', { timeout: 2000 });
      assert.equal(r.string(), 'pong');
    });
  });
}

// A spoke does not pass route-learned interest to its hub (nats-server: every server of a spoke
// cluster needs its own remote).
for (const spokeKind of ['tsnats', 'nats-server'] as Kind[]) {
  describe(`spoke cluster (${spokeKind}): route-learned interest is not sent to the hub`, { skip: SKIP_NATS }, () => {
    it('LS+ for a subscription on the other spoke node never reaches the hub', async () => {
      const nodes: LNode[] = [];
      try {
        const hub = await startNode('tsnats', { name: 'H', leaf: 'listen: "127.0.0.1:-1"' });
        nodes.push(hub);
        const c1 = await freePort();
        const c2 = await freePort();
        const s1 = await startNode(spokeKind, {
          name: 'S1',
          leaf: `remotes: [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}" } ]`,
          extra: `cluster { name: SC, listen: "127.0.0.1:${c1}", routes: ["nats-route://127.0.0.1:${c2}"] }`,
        });
        nodes.push(s1);
        const s2 = await startNode(spokeKind, { name: 'S2', extra: `cluster { name: SC, listen: "127.0.0.1:${c2}", routes: ["nats-route://127.0.0.1:${c1}"] }` });
        nodes.push(s2);
        await waitLeafs(hub, 1);
        await until(async () => ((await (await fetch(`${s1.monitor}/routez`)).json()) as { num_routes: number }).num_routes === 1, 6000, 'spoke route');
        const c = await client(s2);
        c.subscribe('only.on.s2');
        const c1c = await client(s1);
        c1c.subscribe('on.s1');
        await c.flush();
        await c1c.flush();
        await waitLeafInterest(hub, 'on.s1');
        await new Promise((r) => setTimeout(r, 300));
        const j = (await (await fetch(`${hub.monitor}/leafz?subs=1`)).json()) as { leafs: Array<{ subscriptions_list: string[] }> };
        assert.ok(!j.leafs[0]!.subscriptions_list.includes('only.on.s2'), JSON.stringify(j.leafs[0]!.subscriptions_list));
        await c.close();
        await c1c.close();
      } finally {
        for (const n of nodes.reverse()) await n.stop().catch(() => undefined);
      }
    });
  });
}

// Routed queue messages prefer the hub's local members over its leaf members (nats-server).
for (const clusterKind of ['tsnats', 'nats-server'] as Kind[]) {
  describe(`routed queue messages on a ${clusterKind} hub prefer local members over leafs`, { skip: SKIP_NATS }, () => {
    it('publisher on node B, queue members on hub A and on A\'s spoke: all go to A\'s member', async () => {
      const nodes: LNode[] = [];
      try {
        const ca = await freePort();
        const cb = await freePort();
        const a = await startNode(clusterKind, { name: 'A', leaf: 'listen: "127.0.0.1:-1"', extra: `cluster { name: C1, listen: "127.0.0.1:${ca}", routes: ["nats-route://127.0.0.1:${cb}"] }` });
        nodes.push(a);
        const b = await startNode(clusterKind, { name: 'B', extra: `cluster { name: C1, listen: "127.0.0.1:${cb}", routes: ["nats-route://127.0.0.1:${ca}"] }` });
        nodes.push(b);
        await until(async () => ((await (await fetch(`${a.monitor}/routez`)).json()) as { num_routes: number }).num_routes === 1, 6000, 'route');
        const s = await startNode('tsnats', { name: 'S', leaf: `remotes: [ { url: "nats-leaf://127.0.0.1:${a.leafPort}" } ]` });
        nodes.push(s);
        await waitLeafs(a, 1);
        const ac = await client(a);
        const sc = await client(s);
        const bc = await client(b);
        let onA = 0;
        let onS = 0;
        ac.subscribe('rq', { queue: 'w', callback: () => void onA++ });
        sc.subscribe('rq', { queue: 'w', callback: () => void onS++ });
        await ac.flush();
        await sc.flush();
        await waitLeafInterest(a, 'rq');
        await until(
          async () => {
            const j = (await (await fetch(`${b.monitor}/routez?subs=1`)).json()) as { routes: Array<{ subscriptions_list?: string[] }> };
            return j.routes.some((r) => (r.subscriptions_list ?? []).includes('rq'));
          },
          5000,
          'RS+ rq on B',
        );
        for (let i = 0; i < 30; i++) bc.publish('rq', 'x');
        await bc.flush();
        await until(() => onA + onS === 30, 3000, '30 deliveries');
        assert.deepEqual([onA, onS], [30, 0]);
        for (const c of [ac, sc, bc]) await c.close();
      } finally {
        for (const n of nodes.reverse()) await n.stop().catch(() => undefined);
      }
    });
  });
}
