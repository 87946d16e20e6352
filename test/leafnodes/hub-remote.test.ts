// `hub: true` on a remote inverts the roles: the soliciting server is the hub of that connection
// (it sends everything it knows), the accepting server behaves as the spoke.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SKIP_NATS, client, collect, leafz, startNode, until, waitLeafs, type Kind, type LNode } from './harness.js';

async function hasInterest(n: LNode, subject: string): Promise<boolean> {
  return ((await leafz(n, true)).leafs ?? []).some((l) => ((l.subscriptions_list as string[] | undefined) ?? []).includes(subject));
}

describe('leaf: remote with hub: true', { skip: SKIP_NATS }, () => {
  for (const [acceptKind, solicitKind] of [
    ['nats-server', 'tsnats'],
    ['tsnats', 'nats-server'],
  ] as Array<[Kind, Kind]>) {
    it(`${solicitKind} solicits ${acceptKind} as its spoke; messages both ways`, async () => {
      let acc: LNode | undefined;
      let sol: LNode | undefined;
      try {
        acc = await startNode(acceptKind, { name: 'ACC', leaf: 'listen: "127.0.0.1:-1"' });
        sol = await startNode(solicitKind, { name: 'SOL', leaf: `remotes: [ { url: "nats-leaf://127.0.0.1:${acc.leafPort}", hub: true } ]` });
        await waitLeafs(acc, 1);
        const ac = await client(acc);
        const sc = await client(sol);
        const a = ac.subscribe('to.acc');
        const b = sc.subscribe('to.sol');
        await ac.flush();
        await sc.flush();
        await until(() => hasInterest(sol!, 'to.acc'), 5000, 'to.acc on the soliciting hub');
        await until(() => hasInterest(acc!, 'to.sol'), 5000, 'to.sol on the accepting spoke');
        sc.publish('to.acc', '1');
        ac.publish('to.sol', '2');
        assert.deepEqual(await collect(a, 1), ['1']);
        assert.deepEqual(await collect(b, 1), ['2']);
        await ac.close();
        await sc.close();
      } finally {
        await sol?.stop();
        await acc?.stop();
      }
    });
  }
});
