// Client-suite scenarios that need more than one plain server, through the launcher contract:
// JetStream KV on a launched server (store under the launcher's directory, kept across a restart)
// and a cluster of three with a client failing over to another node. Run against tsnats and
// nats-server alike (the nats-server half only when it is installed).

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection, Status } from '@nats-io/nats-core';
import { flavors, NatsServer } from './launcher.js';

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, rej) => (t = setTimeout(() => rej(new Error(`timeout: ${what}`)), ms)))]).finally(() => clearTimeout(t));
}

function waitStatus(nc: NatsConnection, type: Status['type']): Promise<Status> {
  return (async () => {
    for await (const s of nc.status()) if (s.type === type) return s;
    throw new Error(`status iterator ended before ${type}`);
  })();
}

for (const flavor of flavors()) {
  describe(`peer suite: JetStream and cluster (${flavor})`, () => {
    const cleanup: Array<() => Promise<unknown>> = [];
    after(async () => {
      for (const f of cleanup.reverse()) await f().catch(() => undefined);
    });

    test('JetStream KV put/get/history/delete, data kept across a restart', async () => {
      // the store goes in the launcher's directory (as nats.js' launcher does with a temp dir)
      const dir = mkdtempSync(join(tmpdir(), `peer-js-${flavor}-`));
      let s = await NatsServer.start(flavor, { jetstream: { store_dir: join(dir, 'js') } }, { dir, ownDir: true });
      cleanup.push(() => s.stop());
      let nc = await connect({ servers: s.url });
      const kvm = new Kvm(nc);
      const kv = await kvm.create('peer', { history: 5 });
      assert.equal(await kv.put('k', 'v1'), 1);
      assert.equal(await kv.put('k', 'v2'), 2);
      const e = await kv.get('k');
      assert.equal(e?.string(), 'v2');
      assert.equal(e?.revision, 2);
      const hist: string[] = [];
      for await (const x of await kv.history({ key: 'k' })) hist.push(x.string());
      assert.deepEqual(hist, ['v1', 'v2']);
      await kv.put('gone', 'x');
      await kv.delete('gone');
      assert.equal((await kv.get('gone'))?.operation, 'DEL');
      const keys: string[] = [];
      for await (const k of await kv.keys()) keys.push(k);
      assert.deepEqual(keys, ['k']);
      await nc.close();
      s = await s.restart();
      nc = await connect({ servers: s.url });
      try {
        const kv2 = await new Kvm(nc).open('peer');
        assert.equal((await kv2.get('k'))?.string(), 'v2');
        const st = await kv2.status();
        assert.equal(st.history, 5);
      } finally {
        await nc.close();
      }
    });

    test('cluster of 3: messages cross routes, a client fails over to another node', async () => {
      const nodes = await NatsServer.cluster(flavor, 3);
      cleanup.push(() => Promise.all(nodes.map((n) => n.stop())));
      for (const n of nodes) assert.ok(n.clusterUrl, `${n.conf.server_name} ports file has a cluster URL`);
      const [a, b, c] = nodes as [NatsServer, NatsServer, NatsServer];
      const nc = await connect({ servers: [a.url], reconnectTimeWait: 100, maxReconnectAttempts: -1 });
      cleanup.push(() => nc.close());
      const other = await connect({ servers: c.url });
      cleanup.push(() => other.close());
      // the client learns the other nodes from INFO connect_urls
      const deadline = Date.now() + 5000;
      while (nc.getServer() && (nc as unknown as { protocol: { servers: { getServers(): unknown[] } } }).protocol.servers.getServers().length < 3) {
        if (Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      const got: string[] = [];
      let probes = 0;
      nc.subscribe('cross.>', { callback: (_e, m) => void (m.subject === 'cross.probe' ? probes++ : got.push(m.string())) });
      await nc.flush();
      // interest crosses the route asynchronously: probe from c until a probe arrives
      async function probe(): Promise<void> {
        const start = probes;
        for (const end = Date.now() + 5000; probes === start; ) {
          if (Date.now() > end) throw new Error('no interest across the route');
          other.publish('cross.probe');
          await other.flush();
          await new Promise((r) => setTimeout(r, 25));
        }
      }
      await probe();
      other.publish('cross.one', 'via-route');
      await other.flush();
      // fail over: stop a, the client reconnects to b or c and keeps its subscription
      const reconnect = waitStatus(nc, 'reconnect');
      await a.stop();
      await within(reconnect, 10_000, 'failover reconnect');
      const now = nc.getServer();
      assert.ok(now === `127.0.0.1:${b.port}` || now === `127.0.0.1:${c.port}`, `reconnected to ${now}`);
      await nc.flush();
      await probe();
      other.publish('cross.two', 'after-failover');
      await other.flush();
      await nc.flush();
      for (const end = Date.now() + 3000; got.length < 2 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(got, ['via-route', 'after-failover']);
    });
  });
}
