// The official clients (@nats-io/jetstream, @nats-io/kv, @nats-io/obj) against tsnats and
// nats-server 2.9.10: the same scenarios, the same observable results.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { Kvm, KvWatchInclude } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { conn, KINDS, sleep, startJs, type JsServer, type Kind } from './helpers.js';

async function errOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    const x = e as { api_error?: { err_code?: number }; message: string };
    return x.api_error?.err_code ? `${x.api_error.err_code} ${x.message}` : x.message;
  }
}

async function kvScenario(nc: NatsConnection): Promise<unknown> {
  const out: Record<string, unknown> = {};
  const kvm = new Kvm(nc);
  const kv = await kvm.create('cfg', { history: 5 });
  out.put1 = await kv.put('a.b', 'one');
  out.put2 = await kv.put('a.b', 'two');
  out.get = (await kv.get('a.b'))?.string();
  out.getRev = (await kv.get('a.b', { revision: 1 }))?.string();
  out.create = await kv.create('new', 'x');
  out.createAgain = await errOf(kv.create('new', 'y'));
  out.updateOk = await kv.update('new', 'z', 3);
  out.updateBad = await errOf(kv.update('new', 'w', 3));
  await kv.delete('new');
  out.afterDelete = (await kv.get('new'))?.operation;
  out.recreate = await kv.create('new', 'again');
  await kv.put('c', '1');
  await kv.purge('c');
  out.afterPurge = (await kv.get('c'))?.operation;
  const keys: string[] = [];
  for await (const k of await kv.keys()) keys.push(k);
  out.keys = keys.sort();
  const hist: string[] = [];
  for await (const e of await kv.history({ key: 'a.b' })) hist.push(`${e.revision}:${e.operation}:${e.string()}`);
  out.history = hist;
  const w = await kv.watch({ key: 'a.>' });
  const seen: string[] = [];
  const done = (async () => {
    for await (const e of w) {
      seen.push(`${e.key}=${e.string()}`);
      if (seen.length === 2) break;
    }
  })();
  await sleep(50);
  await kv.put('a.z', 'watched');
  await Promise.race([done, sleep(3000)]);
  w.stop();
  out.watch = seen;
  // watch variants: whole history, then updates only
  const collectWatch = async (opts: Parameters<typeof kv.watch>[0], trigger: () => Promise<unknown>, want: number) => {
    const it = await kv.watch(opts);
    const got: string[] = [];
    const d = (async () => {
      for await (const e of it) {
        got.push(`${e.key}:${e.operation}:${e.revision}`);
        if (got.length >= want) break;
      }
    })();
    await sleep(100);
    await trigger();
    await Promise.race([d, sleep(3000)]);
    it.stop();
    return got;
  };
  out.watchHistory = await collectWatch({ key: 'a.b', include: KvWatchInclude.AllHistory }, async () => undefined, 2);
  out.watchUpdates = await collectWatch({ key: '>', include: KvWatchInclude.UpdatesOnly }, () => kv.put('u', 'new'), 1);
  const st = await kv.status();
  out.status = { values: st.values, history: st.history, bucket: st.bucket };
  const names: string[] = [];
  for await (const s of kvm.list()) names.push(s.bucket);
  out.list = names;
  return out;
}

async function objScenario(nc: NatsConnection): Promise<unknown> {
  const out: Record<string, unknown> = {};
  const objm = new Objm(nc);
  const os = await objm.create('files');
  const big = Buffer.alloc(600_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
  const info = await os.putBlob({ name: 'big.bin' }, big);
  out.put = { size: info.size, chunks: info.chunks, digest: info.digest };
  const got = await os.getBlob('big.bin');
  out.roundTrip = got !== null && Buffer.from(got).equals(big);
  await os.putBlob({ name: 'small' }, Buffer.from('hi'));
  out.list = (await os.list()).map((i) => i.name).sort();
  await os.delete('small');
  out.afterDelete = (await os.list()).map((i) => i.name).sort();
  out.missing = await os.getBlob('small');
  await os.link('alias', (await os.info('big.bin'))!);
  out.link = (await os.info('alias'))?.options?.link;
  // object watch: the current entries, then a new one
  const w = await os.watch();
  const seen: string[] = [];
  const d = (async () => {
    for await (const e of w) {
      seen.push(e === null ? 'initial-done' : `${e.name}:${e.deleted ? 'deleted' : e.size}`);
      if (seen.includes('later:5')) break;
    }
  })();
  await sleep(100);
  await os.putBlob({ name: 'later' }, Buffer.from('12345'));
  await Promise.race([d, sleep(3000)]);
  w.stop();
  out.watch = seen.sort();
  const st = await os.status();
  out.status = { bucket: st.bucket, size: st.size > 0 };
  return out;
}

async function consumerScenario(nc: NatsConnection): Promise<unknown> {
  const out: Record<string, unknown> = {};
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({ name: 'Q', subjects: ['q.>'] });
  for (let i = 1; i <= 20; i++) await js.publish(`q.${i % 3}`, `m${i}`);
  // pull with explicit acks, redelivery of an unacked message
  await jsm.consumers.add('Q', { durable_name: 'W', ack_policy: AckPolicy.Explicit, ack_wait: 500_000_000, max_deliver: 3 });
  const c = await js.consumers.get('Q', 'W');
  const first: number[] = [];
  for await (const m of await c.fetch({ max_messages: 5, expires: 2000 })) {
    first.push(m.seq);
    if (m.seq !== 3) m.ack();
  }
  out.first = first;
  await sleep(700);
  const again: string[] = [];
  for await (const m of await c.fetch({ max_messages: 1, expires: 2000 })) {
    again.push(`${m.seq}:${m.info.deliveryCount}:${m.info.redelivered}`);
    m.term();
  }
  out.redelivered = again;
  await sleep(150); // term is fire-and-forget: let the server see it
  let info = await c.info();
  out.info1 = { delivered: info.delivered.stream_seq, ack_floor: info.ack_floor.stream_seq, pending: info.num_pending, ack_pending: info.num_ack_pending };
  // consume() the rest with nak of one message
  const consumed: number[] = [];
  const msgs = await c.consume({ max_messages: 7 });
  let nakked = false;
  for await (const m of msgs) {
    if (m.seq === 10 && !nakked) {
      nakked = true;
      m.nak();
      continue;
    }
    consumed.push(m.seq);
    m.ack();
    if (consumed.length === 15) break;
  }
  out.consumed = consumed.sort((a, b) => a - b); // a NAKed message comes back when the server sees the NAK: timing
  info = await c.info();
  out.info2 = { pending: info.num_pending, waiting: info.num_waiting >= 0 };
  // ordered consumer (push) over a filter, from a start sequence
  const oc = await js.consumers.get('Q', { filter_subjects: 'q.1', deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 5 });
  const ordered: number[] = [];
  for await (const m of await oc.fetch({ max_messages: 4, expires: 2000 })) ordered.push(m.seq);
  out.ordered = ordered;
  // ack all: acking the 2nd of 3 moves the floor
  await jsm.consumers.add('Q', { durable_name: 'ALL', ack_policy: AckPolicy.All, filter_subject: 'q.2' });
  const ca = await js.consumers.get('Q', 'ALL');
  const ms: JsMsg[] = [];
  for await (const m of await ca.fetch({ max_messages: 3, expires: 2000 })) ms.push(m);
  await ms[1]!.ackAck();
  const ia = await ca.info();
  out.ackAll = { floor: [ia.ack_floor.consumer_seq, ia.ack_floor.stream_seq], ack_pending: ia.num_ack_pending };
  // consumer list / names
  const names: string[] = [];
  for await (const n of jsm.consumers.list('Q')) names.push(n.name);
  out.consumers = names.sort().filter((n) => n === 'W' || n === 'ALL');
  out.deleteMissing = await errOf(jsm.consumers.delete('Q', 'nope'));
  out.streamMissing = await errOf(jsm.streams.info('nope'));
  return out;
}

describe('official clients: tsnats and nats-server 2.9.10 give the same results', { timeout: 120_000 }, () => {
  const results = new Map<Kind, Record<string, unknown>>();
  const servers: JsServer[] = [];

  before(async () => {
    for (const k of KINDS) {
      const s = await startJs(k);
      servers.push(s);
      const nc = await conn(s.url);
      try {
        results.set(k, { kv: await kvScenario(nc), obj: await objScenario(nc), consumers: await consumerScenario(nc) });
      } finally {
        await nc.close();
      }
    }
  });

  after(async () => {
    for (const s of servers) await s.close();
  });

  for (const part of ['kv', 'obj', 'consumers']) {
    it(`${part}: same results`, () => {
      const ts = results.get('tsnats')![part] as Record<string, unknown>;
      const go = results.get('nats-server')?.[part];
      if (go) assert.deepEqual(ts, go);
      else assert.ok(ts);
    });
  }

  it('kv and object store work on tsnats as a user expects', () => {
    const kv = results.get('tsnats')!.kv as Record<string, unknown>;
    assert.equal(kv.get, 'two');
    assert.equal(kv.getRev, 'one');
    assert.deepEqual(kv.keys, ['a.b', 'new']);
    assert.equal((kv.watchHistory as string[]).length, 2);
    assert.match((kv.watchUpdates as string[])[0]!, /^u:PUT:\d+$/);
    const obj = results.get('tsnats')!.obj as Record<string, unknown>;
    assert.equal(obj.roundTrip, true);
    assert.deepEqual(obj.afterDelete, ['big.bin']);
    assert.ok((obj.watch as string[]).includes('later:5'), String(obj.watch));
  });
});
