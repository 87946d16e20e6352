// Failover URLs: a spoke configured with one hub URL learns the other leaf URLs of the hub's
// cluster from `leafnode_urls` and reconnects to another node when its hub goes away.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { SKIP_NATS, client, collect, freePort, leafz, startNode, until, waitLeafInterest, type LNode } from './harness.js';

describe('leaf: failover through leafnode_urls', { skip: SKIP_NATS }, () => {
  it('tsnats spoke moves from a stopped nats-server hub to the other cluster node', async () => {
    const nodes: LNode[] = [];
    try {
      const ca = await freePort();
      const cb = await freePort();
      const a = await startNode('nats-server', {
        name: 'A',
        leaf: 'listen: "127.0.0.1:-1"',
        extra: `cluster { name: HC, listen: "127.0.0.1:${ca}", routes: ["nats-route://127.0.0.1:${cb}"] }`,
      });
      nodes.push(a);
      const b = await startNode('nats-server', {
        name: 'B',
        leaf: 'listen: "127.0.0.1:-1"',
        extra: `cluster { name: HC, listen: "127.0.0.1:${cb}", routes: ["nats-route://127.0.0.1:${ca}"] }`,
      });
      nodes.push(b);
      await until(async () => ((await (await fetch(`${a.monitor}/routez`)).json()) as { num_routes: number }).num_routes === 1, 6000, 'hub route');
      const s = await startNode('tsnats', { name: 'S', leaf: `reconnect: 1\nremotes: [ { url: "nats-leaf://127.0.0.1:${a.leafPort}" } ]` });
      nodes.push(s);
      await until(async () => (await leafz(a)).leafnodes === 1, 6000, 'leaf on A');
      // A's async INFO carries B's leaf URL once the route is up; give it a moment.
      await until(() => true, 500);
      await a.stop();
      await until(async () => (await leafz(b)).leafnodes === 1, 10000, 'leaf moved to B');
      const sc = await client(s);
      const bc = await client(b);
      const sub = sc.subscribe('after.failover');
      await sc.flush();
      await waitLeafInterest(b, 'after.failover');
      bc.publish('after.failover', 'ok');
      assert.deepEqual(await collect(sub, 1), ['ok']);
      await sc.close();
      await bc.close();
    } finally {
      for (const n of nodes.reverse()) await n.stop().catch(() => undefined);
    }
  });

  it('a tsnats hub cluster lists every node\'s leaf URL; a nats-server spoke fails over to the other node', async () => {
    const nodes: LNode[] = [];
    try {
      const ca = await freePort();
      const cb = await freePort();
      const a = await startNode('tsnats', {
        name: 'A',
        leaf: 'listen: "127.0.0.1:-1"',
        extra: `cluster { name: HC, listen: "127.0.0.1:${ca}", routes: ["nats-route://127.0.0.1:${cb}"] }`,
      });
      nodes.push(a);
      const b = await startNode('tsnats', {
        name: 'B',
        leaf: 'listen: "127.0.0.1:-1"',
        extra: `cluster { name: HC, listen: "127.0.0.1:${cb}", routes: ["nats-route://127.0.0.1:${ca}"] }`,
      });
      nodes.push(b);
      await until(async () => ((await (await fetch(`${a.monitor}/routez`)).json()) as { num_routes: number }).num_routes === 1, 6000, 'hub route');
      const info = await new Promise<string>((resolve, reject) => {
        const c = netConnect(a.leafPort, '127.0.0.1');
        c.on('data', (d) => {
          resolve(d.toString());
          c.destroy();
        });
        c.on('error', reject);
      });
      const urls = (JSON.parse(/^INFO (\{.*\}) \r\n/.exec(info)![1]!) as { leafnode_urls: string[] }).leafnode_urls;
      assert.deepEqual(urls.sort(), [`127.0.0.1:${a.leafPort}`, `127.0.0.1:${b.leafPort}`].sort());
      // A nats-server spoke attached to A moves to B when A stops.
      const s = await startNode('nats-server', { name: 'S', leaf: `reconnect: 1\nremotes: [ { url: "nats-leaf://127.0.0.1:${a.leafPort}" } ]` });
      nodes.push(s);
      await until(async () => (await leafz(a)).leafnodes === 1, 6000, 'leaf on A');
      await a.stop();
      await until(async () => (await leafz(b)).leafnodes === 1, 10000, 'leaf moved to B');
    } finally {
      for (const n of nodes.reverse()) await n.stop().catch(() => undefined);
    }
  });
});
