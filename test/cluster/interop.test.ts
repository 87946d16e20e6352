// Mixed clusters: tsnats and nats-server 2.9.10 nodes on 127.0.0.1 with nats.js clients on
// different nodes. Every scenario runs on tsnats-tsnats, tsnats dialing nats-server, and
// nats-server dialing tsnats (and nats-server-nats-server as the reference).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { headers, type NatsConnection, type Msg } from '@nats-io/transport-node';
import { SKIP_NATS, client, routeUrl, sleep, startNode, until, waitRoutes, type Kind, type Node } from './harness.js';

const TOPOLOGIES: Array<[Kind, Kind]> = [
  ['tsnats', 'tsnats'],
  ['tsnats', 'nats-server'],
  ['nats-server', 'tsnats'],
  ['nats-server', 'nats-server'],
];

/** Waits until a publish on `pub` reaches the subscription (interest propagated). */
async function ready(pub: NatsConnection, sub: NatsConnection, _subject: string): Promise<void> {
  await pub.flush();
  await sub.flush();
  await sleep(150);
}

for (const [ka, kb] of TOPOLOGIES) {
  // B dials A.
  describe(`cluster ${ka} (A) <- ${kb} (B)`, { skip: SKIP_NATS && (ka !== 'tsnats' || kb !== 'tsnats') ? SKIP_NATS : false }, () => {
    let a: Node;
    let b: Node;
    let ca: NatsConnection;
    let cb: NatsConnection;
    before(async () => {
      a = await startNode(ka, { name: 'A' });
      b = await startNode(kb, { name: 'B', routes: [routeUrl(a)] });
      await waitRoutes([a, b], 1);
      ca = await client(a);
      cb = await client(b);
    });
    after(async () => {
      await ca?.close();
      await cb?.close();
      await b?.stop();
      await a?.stop();
    });

    it('pub/sub across nodes, both directions, with wildcards', async () => {
      const got: string[] = [];
      const s1 = cb.subscribe('x.*.z', { callback: (_e, m) => void got.push(`B:${m.subject}:${m.string()}`) });
      const s2 = ca.subscribe('x.>', { callback: (_e, m) => void got.push(`A:${m.subject}:${m.string()}`) });
      await ready(ca, cb, 'x');
      ca.publish('x.y.z', 'one');
      cb.publish('x.q.z', 'two');
      await until(() => got.length >= 4, 3000, 'four deliveries');
      await sleep(100);
      assert.deepEqual(got.sort(), ['A:x.q.z:two', 'A:x.y.z:one', 'B:x.q.z:two', 'B:x.y.z:one']);
      s1.unsubscribe();
      s2.unsubscribe();
    });

    it('several matching subscriptions on the remote node each get the message once', async () => {
      const got: string[] = [];
      const subs = [
        cb.subscribe('m.a', { callback: () => void got.push('lit') }),
        cb.subscribe('m.*', { callback: () => void got.push('pwc') }),
        cb.subscribe('>', {
          callback: (_e, m) => {
            if (m.subject === 'm.a') got.push('fwc');
          },
        }),
      ];
      await ready(ca, cb, 'm.a');
      ca.publish('m.a', 'x');
      await until(() => got.length >= 3, 3000, 'three deliveries');
      await sleep(150);
      assert.deepEqual(got.sort(), ['fwc', 'lit', 'pwc']);
      for (const s of subs) s.unsubscribe();
    });

    it('queue group spread over both nodes: each message once, both nodes used', async () => {
      const counts = { a: 0, b: 0 };
      const subs = [
        ca.subscribe('work', { queue: 'q', callback: () => void counts.a++ }),
        cb.subscribe('work', { queue: 'q', callback: () => void counts.b++ }),
        cb.subscribe('work', { queue: 'q', callback: () => void counts.b++ }),
      ];
      await ready(ca, cb, 'work');
      const n = 300;
      for (let i = 0; i < n; i++) (i % 2 ? ca : cb).publish('work', String(i));
      await ca.flush();
      await cb.flush();
      await until(() => counts.a + counts.b >= n, 5000, 'all queue messages');
      await sleep(200);
      assert.equal(counts.a + counts.b, n, 'each message exactly once');
      assert.ok(counts.a > 20 && counts.b > 20, `spread: ${JSON.stringify(counts)}`);
      for (const s of subs) s.unsubscribe();
    });

    it('request/reply across nodes, and no responders', async () => {
      const s = cb.subscribe('svc', { callback: (_e, m) => void m.respond(`re:${m.string()}`) });
      await ready(ca, cb, 'svc');
      const r = await ca.request('svc', 'ping', { timeout: 2000 });
      assert.equal(r.string(), 're:ping');
      s.unsubscribe();
      await cb.flush();
      await sleep(150);
      await assert.rejects(ca.request('svc', 'ping', { timeout: 2000 }), (e: Error) => /no responders|503/i.test(String((e as { code?: string }).code ?? e.message)));
    });

    it('unsubscribe and auto-unsubscribe propagate', async () => {
      let n = 0;
      const s = cb.subscribe('auto', { max: 3, callback: () => void n++ });
      await ready(ca, cb, 'auto');
      for (let i = 0; i < 10; i++) ca.publish('auto', 'x');
      await ca.flush();
      await sleep(300);
      assert.equal(n, 3);
      assert.ok(s.isClosed());
      // Interest is gone on A: a request there now gets no responders.
      await assert.rejects(ca.request('auto', 'x', { timeout: 2000 }));
    });

    it('order per publisher kept, headers and max-payload messages cross', async () => {
      const seq: number[] = [];
      let big: Msg | undefined;
      let hdr: string | undefined;
      const s1 = cb.subscribe('ord', { callback: (_e, m) => void seq.push(Number(m.string())) });
      const s2 = cb.subscribe('big', { callback: (_e, m) => void (big = m) });
      const s3 = cb.subscribe('hdr', { callback: (_e, m) => void (hdr = m.headers?.get('X-Test')) });
      await ready(ca, cb, 'ord');
      for (let i = 0; i < 2000; i++) ca.publish('ord', String(i));
      const payload = new Uint8Array(1024 * 1024 - 512);
      for (let i = 0; i < payload.length; i++) payload[i] = i & 0xff;
      ca.publish('big', payload);
      const h = headers();
      h.set('X-Test', 'yes');
      ca.publish('hdr', 'body', { headers: h });
      await until(() => seq.length === 2000 && big !== undefined && hdr !== undefined, 8000, 'ordered, big, header messages');
      assert.deepEqual(seq, Array.from({ length: 2000 }, (_, i) => i));
      assert.equal(big!.data.length, payload.length);
      assert.ok(Buffer.from(big!.data).equals(Buffer.from(payload)));
      assert.equal(hdr, 'yes');
      s1.unsubscribe();
      s2.unsubscribe();
      s3.unsubscribe();
    });
  });
}
