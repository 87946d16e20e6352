import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, client, routeUrl, waitRoutes, waitInterest, sleep } from './harness.js';

test('smoke: tsnats + nats-server', async () => {
  const a = await startNode('tsnats', { name: 'A' });
  const b = await startNode('nats-server', { name: 'B', routes: [routeUrl(a)] });
  try {
    await waitRoutes([a, b], 1);
    const ca = await client(a);
    const cb = await client(b);
    const got: string[] = [];
    const sub = cb.subscribe('foo', { callback: (_e, m) => void got.push(m.string()) });
    await cb.flush();
    await waitInterest(a, 'foo');
    ca.publish('foo', 'hello');
    await ca.flush();
    await sleep(200);
    assert.deepEqual(got, ['hello']);
    sub.unsubscribe();
    await ca.close();
    await cb.close();
  } finally {
    console.log(a.log());
    console.log(b.log());
    await b.stop();
    await a.stop();
  }
});
