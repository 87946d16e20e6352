// Leaf connections between tsnats and nats-server 2.9.10 in both roles (and tsnats ↔ tsnats):
// pub/sub both ways, wildcards, request/reply, queue groups preferring local members,
// unsubscribe propagation, /leafz and /varz.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { SKIP_NATS, client, collect, leafz, sleep, startNode, until, waitLeafInterest, waitLeafs, type Kind, type LNode } from './harness.js';

const PAIRS: Array<[Kind, Kind]> = [
  ['nats-server', 'tsnats'],
  ['tsnats', 'nats-server'],
  ['tsnats', 'tsnats'],
];

for (const [hubKind, spokeKind] of PAIRS) {
  describe(`leaf: ${hubKind} hub <- ${spokeKind} spoke`, { skip: SKIP_NATS }, () => {
    let hub: LNode;
    let spoke: LNode;
    let hc: NatsConnection;
    let sc: NatsConnection;

    before(async () => {
      hub = await startNode(hubKind, { name: 'HUB', leaf: 'listen: "127.0.0.1:-1"' });
      spoke = await startNode(spokeKind, { name: 'SPOKE', leaf: `remotes: [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}" } ]` });
      await waitLeafs(hub, 1);
      await waitLeafs(spoke, 1);
      hc = await client(hub);
      sc = await client(spoke);
    });

    after(async () => {
      await hc?.close();
      await sc?.close();
      await spoke?.stop();
      await hub?.stop();
    });

    it('/leafz lists the connection on both sides', async () => {
      const h = await leafz(hub);
      const s = await leafz(spoke);
      assert.equal(h.leafnodes, 1);
      assert.equal(s.leafnodes, 1);
      assert.equal(h.leafs![0]!.account, '$G');
      assert.equal(s.leafs![0]!.port, hub.leafPort);
      const v = (await (await fetch(`${hub.monitor}/varz`)).json()) as { leafnodes: number; leaf: { port: number } };
      assert.equal(v.leafnodes, 1);
      assert.equal(v.leaf.port, hub.leafPort);
      // Both sides without JetStream: the same line from both servers.
      for (const n of [hub, spoke]) assert.match(n.log(), /lid:\d+ - JetStream Not Extended, adding deny \[\$JS\.API\.> \$KV\.> \$OBJ\.>\] for account "\$G"/, n.kind);
    });

    it('$JS.API.>, $KV.>, $OBJ.> do not cross (JetStream not extended)', async () => {
      const sub = hc.subscribe('$KV.bucket.key');
      const ok = hc.subscribe('kv.ok');
      await hc.flush();
      await waitLeafInterest(spoke, 'kv.ok');
      sc.publish('$KV.bucket.key', 'no');
      sc.publish('kv.ok', 'yes');
      assert.deepEqual(await collect(ok, 1), ['yes']);
      assert.deepEqual(await collect(sub, 1, 300), []);
      sub.unsubscribe();
      ok.unsubscribe();
    });

    it('hub -> spoke with a wildcard subscription', async () => {
      const sub = sc.subscribe('h2s.*');
      await sc.flush();
      await waitLeafInterest(hub, 'h2s.*');
      for (let i = 0; i < 5; i++) hc.publish(`h2s.${i}`, `m${i}`);
      const got = await collect(sub, 5);
      sub.unsubscribe();
      assert.deepEqual(got, ['m0', 'm1', 'm2', 'm3', 'm4']);
    });

    it('spoke -> hub with a full wildcard subscription', async () => {
      const sub = hc.subscribe('s2h.>');
      await hc.flush();
      await waitLeafInterest(spoke, 's2h.>');
      for (let i = 0; i < 5; i++) sc.publish(`s2h.a.${i}`, `m${i}`);
      const got = await collect(sub, 5);
      sub.unsubscribe();
      assert.deepEqual(got, ['m0', 'm1', 'm2', 'm3', 'm4']);
    });

    it('request/reply across in both directions (headers kept)', async () => {
      const a = hc.subscribe('svc.hub', { callback: (_e, m) => void m.respond(`hub:${m.string()}:${m.headers?.get('X') ?? ''}`) });
      const b = sc.subscribe('svc.spoke', { callback: (_e, m) => void m.respond(`spoke:${m.string()}`) });
      await hc.flush();
      await sc.flush();
      await waitLeafInterest(spoke, 'svc.hub');
      await waitLeafInterest(hub, 'svc.spoke');
      const { headers } = await import('@nats-io/transport-node');
      const h = headers();
      h.set('X', 'y');
      const r1 = await sc.request('svc.hub', 'q1', { timeout: 2000, headers: h });
      assert.equal(r1.string(), 'hub:q1:y');
      const r2 = await hc.request('svc.spoke', 'q2', { timeout: 2000 });
      assert.equal(r2.string(), 'spoke:q2');
      a.unsubscribe();
      b.unsubscribe();
    });

    it('queue groups prefer local members; the other side serves when no local member is left', async () => {
      let hubN = 0;
      let spokeN = 0;
      const qh = hc.subscribe('work', { queue: 'q', callback: () => void hubN++ });
      const qs = sc.subscribe('work', { queue: 'q', callback: () => void spokeN++ });
      await hc.flush();
      await sc.flush();
      await waitLeafInterest(hub, 'work');
      await waitLeafInterest(spoke, 'work');
      for (let i = 0; i < 20; i++) hc.publish('work', 'x');
      await hc.flush();
      await until(() => hubN === 20, 2000, 'hub members');
      for (let i = 0; i < 20; i++) sc.publish('work', 'x');
      await sc.flush();
      await until(() => spokeN === 20, 2000, 'spoke members');
      await sleep(100);
      assert.equal(hubN, 20);
      assert.equal(spokeN, 20);
      // Without the spoke's member, the spoke's publishes go to the hub's member.
      qs.unsubscribe();
      await sc.flush();
      await until(async () => !((await leafz(hub, true)).leafs ?? []).some((l) => ((l.subscriptions_list as string[]) ?? []).includes('work')), 3000, 'LS- work');
      for (let i = 0; i < 10; i++) sc.publish('work', 'x');
      await sc.flush();
      await until(() => hubN === 30, 2000, 'hub member serving the spoke');
      qh.unsubscribe();
    });

    it('unsubscribe propagates (LS-)', async () => {
      const sub = sc.subscribe('gone.x');
      await sc.flush();
      await waitLeafInterest(hub, 'gone.x');
      sub.unsubscribe();
      await sc.flush();
      await until(async () => !((await leafz(hub, true)).leafs ?? []).some((l) => ((l.subscriptions_list as string[]) ?? []).includes('gone.x')), 3000, 'LS- gone.x');
    });
  });
}
