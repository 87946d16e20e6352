// Leaf connections over websocket: a `ws://` remote URL dials the hub's websocket listener on the
// `/leafnode` path (nats-server 2.9.10's convention), both ways between tsnats and nats-server.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SKIP_NATS, client, collect, startNode, waitLeafInterest, waitLeafs, type Kind, type LNode } from './harness.js';

describe('leaf over websocket', { skip: SKIP_NATS }, () => {
  for (const [hubKind, spokeKind] of [
    ['nats-server', 'tsnats'],
    ['tsnats', 'nats-server'],
    ['tsnats', 'tsnats'],
  ] as Array<[Kind, Kind]>) {
    it(`${spokeKind} spoke -> ${hubKind} hub over ws://; messages both ways`, async () => {
      let hub: LNode | undefined;
      let spoke: LNode | undefined;
      try {
        hub = await startNode(hubKind, {
          name: 'HUB',
          leaf: 'listen: "127.0.0.1:-1"',
          extra: 'websocket { listen: "127.0.0.1:-1", no_tls: true }',
        });
        assert.ok(hub.wsPort > 0);
        spoke = await startNode(spokeKind, { name: 'SPOKE', leaf: `remotes: [ { url: "ws://127.0.0.1:${hub.wsPort}" } ]` });
        await waitLeafs(hub, 1, 8000);
        const hc = await client(hub);
        const sc = await client(spoke);
        const s1 = sc.subscribe('ws.down');
        const s2 = hc.subscribe('ws.up');
        await sc.flush();
        await hc.flush();
        await waitLeafInterest(hub, 'ws.down');
        await waitLeafInterest(spoke, 'ws.up');
        hc.publish('ws.down', 'd');
        sc.publish('ws.up', 'u');
        assert.deepEqual(await collect(s1, 1), ['d']);
        assert.deepEqual(await collect(s2, 1), ['u']);
        await hc.close();
        await sc.close();
      } finally {
        await spoke?.stop();
        await hub?.stop();
      }
    });
  }
});
