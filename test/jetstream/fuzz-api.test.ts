// Property-based fuzzing of the JetStream API decoders and validators (fast-check): any JSON
// value (and mutations of realistic configs) either decodes and validates, or fails with an API
// error / invalid JSON — never another exception. A live server then takes a few hundred random
// bodies on every API subject and keeps answering.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  checkConsumerConfig,
  checkStreamConfig,
  consumerDefaults,
  decodeConsumerConfig,
  decodeStreamConfig,
  streamDefaults,
} from '../../src/jetstream/config.js';
import { ApiError } from '../../src/jetstream/errors.js';
import { BadJson } from '../../src/jetstream/json.js';
import { conn, req, startJs } from './helpers.js';

const streamFields = fc.record(
  {
    name: fc.oneof(fc.constantFrom('S', 'a.b', 'a b', '', 'x'.repeat(300)), fc.string(), fc.integer()),
    subjects: fc.oneof(fc.array(fc.constantFrom('a', 'a.*', 'a.>', '>', '$JS.API.>', 'a..b', ' ', 'b.*.c')), fc.string()),
    retention: fc.constantFrom('limits', 'interest', 'workqueue', 'LIMITS', 1),
    max_msgs: fc.oneof(fc.integer(), fc.double(), fc.string()),
    max_age: fc.oneof(fc.integer({ min: -1e12, max: 1e12 }), fc.constant(1e30)),
    duplicate_window: fc.integer({ min: -1e12, max: 1e12 }),
    discard: fc.constantFrom('old', 'new', 'New', 'x'),
    storage: fc.constantFrom('file', 'memory', 'File'),
    num_replicas: fc.integer({ min: -2, max: 7 }),
    mirror: fc.oneof(fc.constant(null), fc.record({ name: fc.string(), opt_start_seq: fc.integer() })),
    sources: fc.oneof(fc.constant(null), fc.array(fc.record({ name: fc.string(), external: fc.constant({ api: 'x' }) }))),
    republish: fc.oneof(fc.constant(null), fc.record({ src: fc.string(), dest: fc.string() })),
    sealed: fc.oneof(fc.boolean(), fc.string()),
    discard_new_per_subject: fc.boolean(),
    max_msgs_per_subject: fc.integer({ min: -3, max: 3 }),
    allow_rollup_hdrs: fc.boolean(),
    deny_purge: fc.boolean(),
  },
  { requiredKeys: [] },
);

const consumerFields = fc.record(
  {
    durable_name: fc.oneof(fc.string(), fc.constantFrom('D', 'a.b', 'a/b')),
    deliver_policy: fc.constantFrom('all', 'last', 'new', 'by_start_sequence', 'by_start_time', 'last_per_subject', 'undefined', 'x'),
    opt_start_seq: fc.oneof(fc.nat(), fc.integer({ min: -5, max: -1 })),
    opt_start_time: fc.constantFrom('2020-01-01T00:00:00Z', 'yesterday', ''),
    ack_policy: fc.constantFrom('none', 'all', 'explicit', 'maybe'),
    ack_wait: fc.integer(),
    max_deliver: fc.integer({ min: -2, max: 5 }),
    backoff: fc.oneof(fc.array(fc.integer()), fc.string()),
    filter_subject: fc.constantFrom('', '>', 'a.*', 'zz', 'a..b'),
    deliver_subject: fc.constantFrom('', 'd.x', 'd.*', 'a.b', ' '),
    max_waiting: fc.integer({ min: -2, max: 600 }),
    idle_heartbeat: fc.integer({ min: -1, max: 1e10 }),
    flow_control: fc.boolean(),
    max_batch: fc.integer({ min: -2, max: 100 }),
    max_expires: fc.integer({ min: -2, max: 1e10 }),
    sample_freq: fc.constantFrom('', '50%', '101', 'x'),
    num_replicas: fc.integer({ min: -1, max: 3 }),
  },
  { requiredKeys: [] },
);

function expectedFailure(e: unknown): boolean {
  return e instanceof ApiError || e instanceof BadJson;
}

describe('jetstream API fuzzing', { timeout: 120_000 }, () => {
  it('stream configs: decode + defaults + validation never throw anything but API errors', () => {
    fc.assert(
      fc.property(fc.oneof(streamFields, fc.jsonValue()), (raw) => {
        try {
          const cfg = decodeStreamConfig(raw);
          streamDefaults(cfg, 120e9);
          checkStreamConfig(cfg, 120e9);
        } catch (e) {
          if (!expectedFailure(e)) throw e;
        }
      }),
      { numRuns: 5000, seed: 42 },
    );
  });

  it('consumer configs: decode + defaults + validation never throw anything but API errors', () => {
    const stream = decodeStreamConfig({ name: 'S', subjects: ['a.>'] });
    streamDefaults(stream, 120e9);
    fc.assert(
      fc.property(fc.oneof(consumerFields, fc.jsonValue()), (raw) => {
        try {
          const c = decodeConsumerConfig(raw);
          consumerDefaults(c, { maxRequestBatch: 0, maxAckPending: 0 });
          checkConsumerConfig(c, stream, { maxRequestBatch: 0, maxAckPending: 0 });
        } catch (e) {
          if (!expectedFailure(e)) throw e;
        }
      }),
      { numRuns: 5000, seed: 43 },
    );
  });

  it('a live server answers random bodies on every API subject without an internal error', async () => {
    const s = await startJs('tsnats');
    try {
      const nc = await conn(s.url);
      await req(nc, '$JS.API.STREAM.CREATE.S', { name: 'S', subjects: ['a.>'] });
      const subjects = ['STREAM.CREATE.F', 'STREAM.UPDATE.S', 'STREAM.INFO.S', 'STREAM.PURGE.S', 'STREAM.MSG.GET.S', 'STREAM.MSG.DELETE.S', 'CONSUMER.CREATE.S', 'CONSUMER.CREATE.S.C', 'CONSUMER.DURABLE.CREATE.S.D', 'STREAM.NAMES', 'CONSUMER.LIST.S'];
      const bodies = fc.sample(fc.oneof(streamFields.map((x) => JSON.stringify(x)), consumerFields.map((c) => JSON.stringify({ stream_name: 'S', config: c })), fc.json(), fc.string()), { numRuns: 300, seed: 44 });
      for (let i = 0; i < bodies.length; i++) {
        const r = await req(nc, `$JS.API.${subjects[i % subjects.length]}`, bodies[i]!, 300);
        assert.doesNotMatch(JSON.stringify(r), /internal error/);
      }
      const info = await req(nc, '$JS.API.INFO');
      assert.ok(typeof info === 'object' && 'json' in info);
      await nc.close();
    } finally {
      await s.close();
    }
  });
});
