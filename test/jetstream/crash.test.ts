// Storage you can trust: a tsnats child process is killed (SIGKILL) during a publish burst with a
// durable consumer mid-way; after restart every acknowledged message, the stream and consumer
// definitions, the consumer's ack floor and a deleted message's absence are all as before.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AckPolicy, jetstream, jetstreamManager, type PubAck } from '@nats-io/jetstream';
import { BIN, conn, sleep, spawnProc } from './helpers.js';

async function startChild(dir: string) {
  return spawnProc(process.execPath, [BIN, '-a', '127.0.0.1', '-p', '-1', '-js', '-sd', dir]);
}

const ROUNDS = Number(process.env.JS_CRASH_ROUNDS ?? 3);

describe('jetstream: kill -9 loses nothing acknowledged', { timeout: 60_000 + ROUNDS * 30_000 }, () => {
  it(`acked messages, deletes, definitions and the ack floor survive SIGKILL (${ROUNDS} rounds; JS_CRASH_ROUNDS=n for more)`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'js-crash-'));
    try {
      let proc = await startChild(dir);
      let nc = await conn(`nats://127.0.0.1:${proc.port}`);
      let jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'K', subjects: ['k.>'] });
      await jsm.consumers.add('K', { durable_name: 'D', ack_policy: AckPolicy.Explicit });
      const acked = new Set<number>();
      const deleted: number[] = [];
      let floor = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const js = jetstream(nc);
        // some acked publishes, consume and ack a part, delete one message
        for (let i = 0; i < 50; i++) acked.add((await js.publish('k.a', `r${round}-${i}`, { msgID: `r${round}-${i}` })).seq);
        const c = await js.consumers.get('K', 'D');
        for await (const m of await c.fetch({ max_messages: 20, expires: 2000 })) await m.ackAck();
        const victim = Math.max(...acked) - 3;
        await jsm.streams.deleteMessage('K', victim);
        deleted.push(victim);
        await sleep(300); // consumer state is written at most every 100 ms
        floor = (await jsm.consumers.info('K', 'D')).ack_floor.stream_seq;
        // a burst of async publishes, killed in the middle
        const inflight: Promise<PubAck>[] = [];
        for (let i = 0; i < 2000; i++) inflight.push(js.publish('k.b', `burst-${round}-${i}`));
        const settled = Promise.allSettled(inflight).then((rs) => {
          for (const r of rs) if (r.status === 'fulfilled') acked.add(r.value.seq);
        });
        await sleep(5 + (round % 5) * 7);
        proc.child.kill('SIGKILL');
        await settled;
        await proc.kill();
        await nc.close().catch(() => undefined);
        // restart and check
        proc = await startChild(dir);
        nc = await conn(`nats://127.0.0.1:${proc.port}`);
        jsm = await jetstreamManager(nc);
        const si = await jsm.streams.info('K');
        for (const seq of acked) {
          if (deleted.includes(seq)) continue;
          const m = await jsm.streams.getMessage('K', { seq }).catch(() => null);
          assert.ok(m, `round ${round}: acknowledged seq ${seq} lost (last_seq ${si.state.last_seq})`);
        }
        for (const seq of deleted) {
          const m = await jsm.streams.getMessage('K', { seq }).catch(() => null);
          assert.equal(m, null, `round ${round}: deleted seq ${seq} came back`);
        }
        const ci = await jsm.consumers.info('K', 'D');
        assert.ok(ci.ack_floor.stream_seq >= floor, `ack floor went back: ${ci.ack_floor.stream_seq} < ${floor}`);
        // a duplicate of an acknowledged id is still detected after the crash
        const dup = await jetstream(nc).publish('k.a', 'again', { msgID: `r${round}-1` });
        assert.equal(dup.duplicate, true);
      }
      await nc.close();
      await proc.kill();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
