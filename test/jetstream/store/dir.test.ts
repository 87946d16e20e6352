// Stream/consumer definitions on disk, consumer state, and account recovery.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import {
  FileConsumerStore,
  jsonParseBig,
  jsonStringifyBig,
  openFileAccountStorage,
  openFileConsumerStore,
  StoreError,
  openFileStreamStore,
  readStreamMeta,
  recoverAccount,
  removeConsumerDir,
  streamDirOf,
  UNLIMITED,
  writeConsumerMeta,
  writeStreamMeta,
  type ConsumerState,
} from '../../../src/jetstream/store/index.js';
import { tempDir } from './helpers.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function acct(): string {
  const d = tempDir();
  dirs.push(d);
  return join(d, 'jetstream', '$G');
}

const cstate = (n: number): ConsumerState => ({
  delivered: { consumerSeq: n, streamSeq: n + 10 },
  ackFloor: { consumerSeq: n - 2, streamSeq: n + 8 },
  pending: new Map([[n + 9, { consumerSeq: n - 1, ts: 1_700_000_000_123_456_789n }], [n + 10, { consumerSeq: n, ts: 1_700_000_000_223_456_789n }]]),
  redelivered: new Map([[n + 9, 3]]),
});

describe('stream and consumer files', () => {
  it('JSON keeps nanosecond durations beyond 2^53 exact', () => {
    const v = { max_age: 31_536_000_000_000_000n, name: 'S', n: 5, list: [1, 12345678901234567890n] };
    const text = jsonStringifyBig(v);
    assert.equal(text, '{"max_age":31536000000000000,"name":"S","n":5,"list":[1,12345678901234567890]}');
    assert.deepEqual(jsonParseBig(text), v);
  });

  it('meta.inf round-trips with Created first, as nats-server writes it', () => {
    const dir = streamDirOf(acct(), 'ORDERS');
    writeStreamMeta(dir, { config: { name: 'ORDERS', subjects: ['o.>'], max_age: 0 }, created: '2024-01-02T03:04:05.123456789Z' });
    const text = fs.readFileSync(join(dir, 'meta.inf'), 'utf8');
    assert.ok(text.startsWith('{"Created":"2024-01-02T03:04:05.123456789Z","name":"ORDERS"'), text);
    assert.match(fs.readFileSync(join(dir, 'meta.sum'), 'utf8'), /^[0-9a-f]{16}$/);
    assert.deepEqual(readStreamMeta(dir), { config: { name: 'ORDERS', subjects: ['o.>'], max_age: 0 }, created: '2024-01-02T03:04:05.123456789Z' });
    assert.deepEqual(fs.readdirSync(dir).sort(), ['meta.inf', 'meta.sum']);
  });

  it('consumer state is coalesced, written atomically and read back', async () => {
    const sdir = streamDirOf(acct(), 'S');
    const c = openFileConsumerStore(sdir, 'dur', { coalesceMs: 30 });
    assert.equal(c.state(), undefined);
    c.update(cstate(5));
    c.update(cstate(6));
    const file = join(sdir, 'obs', 'dur', 'o.dat');
    assert.equal(fs.existsSync(file), false, 'coalesced, not yet written');
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(fs.existsSync(file), true);
    c.update(cstate(7));
    await c.close();
    const again = new FileConsumerStore(join(sdir, 'obs', 'dur'));
    assert.deepEqual(again.state(), cstate(7));
    await again.destroy();
    assert.equal(fs.existsSync(join(sdir, 'obs', 'dur')), false);
  });

  it('recoverAccount lists streams with stores and consumers with state; skips corrupt ones with a warning', async () => {
    const a = acct();
    // a good file stream with two consumers
    const good = streamDirOf(a, 'GOOD');
    writeStreamMeta(good, { config: { name: 'GOOD', storage: 'file', max_msgs_per_subject: 2 }, created: '2024-01-01T00:00:00Z' });
    const st = openFileStreamStore(good, UNLIMITED, { syncIntervalMs: 0 });
    for (let i = 0; i < 5; i++) st.store('k', null, Buffer.from(String(i)));
    await st.close();
    writeConsumerMeta(good, { name: 'C1', config: { durable_name: 'C1', ack_policy: 'explicit' }, created: '2024-01-01T00:00:01Z' });
    const c1 = openFileConsumerStore(good, 'C1', { coalesceMs: 0 });
    c1.update(cstate(3));
    await c1.close();
    writeConsumerMeta(good, { name: 'C2', config: { durable_name: 'C2' }, created: '2024-01-01T00:00:02Z' });
    // a consumer with a garbled meta.inf
    writeConsumerMeta(good, { name: 'BAD', config: {}, created: 'x' });
    fs.writeFileSync(join(good, 'obs', 'BAD', 'meta.inf'), '{"Created":');
    // a stream whose meta.inf is garbage
    const bad = streamDirOf(a, 'BROKEN');
    writeStreamMeta(bad, { config: { name: 'BROKEN' }, created: 'x' });
    fs.writeFileSync(join(bad, 'meta.inf'), 'not json');
    // a stream whose meta.sum is stale (crash between the two renames)
    const stale = streamDirOf(a, 'STALE');
    writeStreamMeta(stale, { config: { name: 'STALE', storage: 'file' }, created: '2024-01-01T00:00:00Z' });
    fs.writeFileSync(join(stale, 'meta.sum'), '0000000000000000');
    // a directory with no meta.inf
    fs.mkdirSync(streamDirOf(a, 'EMPTY'), { recursive: true });

    const warns: string[] = [];
    const got = recoverAccount(a, { warn: (w) => warns.push(w), fileStoreOptions: { syncIntervalMs: 0 } });
    assert.deepEqual(got.map((s) => s.name), ['GOOD', 'STALE']);
    const g = got[0];
    // limits come from the recovered config: max_msgs_per_subject 2
    assert.equal(g.store.state().msgs, 2);
    assert.equal(g.meta.created, '2024-01-01T00:00:00Z');
    assert.deepEqual(g.consumers.map((c) => c.name), ['C1', 'C2']);
    assert.deepEqual(g.consumers[0].state, cstate(3));
    assert.equal(g.consumers[1].state, undefined);
    assert.deepEqual(g.consumers[0].meta.config, { durable_name: 'C1', ack_policy: 'explicit' });
    assert.equal(warns.filter((w) => /BROKEN/.test(w)).length, 1);
    assert.equal(warns.filter((w) => /EMPTY/.test(w)).length, 1);
    assert.equal(warns.filter((w) => /BAD/.test(w)).length, 1);
    assert.equal(warns.filter((w) => /STALE.*repaired/.test(w)).length, 1);
    for (const s of got) {
      await s.store.close();
      for (const c of s.consumers) await c.store.close();
    }
    removeConsumerDir(good, 'C2');
    assert.deepEqual(fs.readdirSync(join(good, 'obs')).sort(), ['BAD', 'C1']);
    // destroy removes the whole stream directory
    const again = recoverAccount(a, { fileStoreOptions: { syncIntervalMs: 0 } });
    for (const s of again) {
      for (const c of s.consumers) await c.store.close();
      await s.store.destroy();
    }
    assert.equal(fs.existsSync(good), false);
  });

  it('account storage: file streams on disk, memory streams and mem_storage consumers in memory, safe names', async () => {
    const a = acct();
    const st = openFileAccountStorage(a, { fileStoreOptions: { syncIntervalMs: 0 }, consumerOptions: { coalesceMs: 0 } });
    const meta = (name: string) => ({ config: { name, storage: 'file' }, created: '2024-01-01T00:00:00Z' });
    const f = await st.createStream('F', 'file', UNLIMITED, meta('F'));
    const m = await st.createStream('M', 'memory', UNLIMITED, { config: { name: 'M', storage: 'memory' }, created: 'x' });
    assert.equal(f.kind, 'file');
    assert.equal(m.kind, 'memory');
    f.store('a', null, Buffer.from('1'));
    const c = await st.createConsumer('F', 'D', { name: 'D', config: { durable_name: 'D' }, created: 'x' });
    c.update(cstate(4));
    const mc = await st.createConsumer('F', 'E', { name: 'E', config: { mem_storage: true }, created: 'x' });
    mc.update(cstate(1));
    assert.deepEqual(fs.readdirSync(join(a, 'streams')), ['F']);
    assert.deepEqual(fs.readdirSync(join(a, 'streams', 'F', 'obs')), ['D']);
    for (const bad of ['../x', 'a/b', '..', '']) {
      await assert.rejects(st.createStream(bad, 'file', UNLIMITED, meta(bad)), (e: unknown) => e instanceof StoreError && e.code === 'bad_request');
    }
    await f.close();
    await c.close();
    const st2 = openFileAccountStorage(a, { fileStoreOptions: { syncIntervalMs: 0 } });
    const rec = await st2.recoverStreams();
    assert.deepEqual(rec.map((r) => [r.name, r.store.state().msgs, r.consumers.map((x) => x.name)]), [['F', 1, ['D']]]);
    assert.deepEqual(rec[0].consumers[0].store.state(), cstate(4));
    await rec[0].consumers[0].store.close();
    await rec[0].store.close();
    await st2.removeConsumer('F', 'D');
    await st2.removeStream('F');
    assert.deepEqual(fs.readdirSync(join(a, 'streams')), []);
  });
});
