// Fuzz target: the JetStream API request decoders and validators (src/jetstream/config.ts, json.ts),
// the in-process part of test/jetstream/fuzz-api.test.ts as a runner target (the live-server part
// stays in that test).
//
// Every input is a request body (bytes): a realistic stream or consumer config with random fields
// replaced by hostile values (wrong types, huge/negative/fractional numbers, names with `.`/`*`/`>`/
// spaces, unknown fields, nested nulls), then optionally byte-mutated; or random JSON; or random
// bytes. It goes through parseBody → decode → defaults → validation (and update checks against
// itself). Oracle: nothing but an ApiError (an API error reply) or BadJson (invalid JSON) is ever
// thrown, and every ApiError carries an HTTP-like code and a JetStream error code.

import fc from 'fast-check';
import {
  checkConsumerConfig,
  checkConsumerUpdate,
  checkStreamConfig,
  checkStreamUpdate,
  consumerDefaults,
  decodeConsumerConfig,
  decodeStreamConfig,
  streamDefaults,
} from '../../../src/jetstream/config.js';
import { ApiError } from '../../../src/jetstream/errors.js';
import { BadJson, parseBody } from '../../../src/jetstream/json.js';
import { check, type Kind, type TargetInstance, type TargetOptions } from '../engine.js';
import { mutateBytes, type ByteMutation, type Src } from '../rng.js';

const DUP_NS = 120e9;
const LIMITS = { maxRequestBatch: 0, maxAckPending: 0 };
const LIMITS2 = { maxRequestBatch: 10, maxAckPending: 5 };

const STREAM_BASES: Record<string, unknown>[] = [
  { name: 'S', subjects: ['a.>'] },
  { name: 'ORDERS', subjects: ['orders.*', 'ship.>'], retention: 'workqueue', storage: 'memory', max_msgs: 1000, max_bytes: 1 << 20, max_age: 60e9, discard: 'new', num_replicas: 1, duplicate_window: 10e9 },
  { name: 'KV_b', subjects: ['$KV.b.>'], max_msgs_per_subject: 5, allow_rollup_hdrs: true, deny_delete: true, deny_purge: false, discard: 'new', allow_direct: true, max_msg_size: 1024 },
  { name: 'M', mirror: { name: 'S', opt_start_seq: 3, filter_subject: 'a.b' } },
  { name: 'SRC', sources: [{ name: 'S' }, { name: 'ORDERS', opt_start_time: '2020-01-01T00:00:00Z' }], republish: { src: '>', dest: 'rp.>' } },
  { name: 'SEALED', subjects: ['z'], sealed: true, deny_delete: true, deny_purge: true, discard_new_per_subject: true, discard: 'new', max_msgs_per_subject: 1 },
];
const CONSUMER_BASES: Record<string, unknown>[] = [
  { durable_name: 'D', ack_policy: 'explicit' },
  { durable_name: 'P', deliver_subject: 'push.d', deliver_policy: 'new', ack_policy: 'explicit', ack_wait: 30e9, max_deliver: 5, backoff: [1e9, 2e9], flow_control: true, idle_heartbeat: 5e9 },
  { name: 'E', deliver_policy: 'by_start_sequence', opt_start_seq: 10, filter_subject: 'a.b', ack_policy: 'all', max_waiting: 512, max_batch: 100, max_expires: 30e9, inactive_threshold: 5e9 },
  { deliver_policy: 'by_start_time', opt_start_time: '2024-02-29T12:00:00.5Z', ack_policy: 'none', replay_policy: 'original', rate_limit_bps: 1000, sample_freq: '50%', headers_only: true },
  { durable_name: 'L', deliver_policy: 'last_per_subject', filter_subject: 'a.*', max_ack_pending: 20, num_replicas: 0, mem_storage: true },
];
const FIELDS = [
  'name', 'subjects', 'retention', 'max_consumers', 'max_msgs', 'max_bytes', 'max_age', 'max_msgs_per_subject', 'max_msg_size',
  'discard', 'storage', 'num_replicas', 'no_ack', 'duplicate_window', 'placement', 'mirror', 'sources', 'sealed', 'deny_delete',
  'deny_purge', 'allow_rollup_hdrs', 'allow_direct', 'mirror_direct', 'republish', 'discard_new_per_subject', 'description',
  'durable_name', 'deliver_policy', 'opt_start_seq', 'opt_start_time', 'ack_policy', 'ack_wait', 'max_deliver', 'backoff',
  'filter_subject', 'deliver_subject', 'deliver_group', 'replay_policy', 'rate_limit_bps', 'sample_freq', 'max_waiting',
  'max_ack_pending', 'idle_heartbeat', 'flow_control', 'headers_only', 'max_batch', 'max_expires', 'max_bytes',
  'inactive_threshold', 'mem_storage', 'metadata', 'x_unknown', '', '__proto__', 'constructor', 'stream_name', 'config',
];
const VALUES: unknown[] = [
  null, true, false, 0, -1, -2, 1, 0.5, -0.5, 1e30, -1e30, 2 ** 53, 2 ** 63, -(2 ** 63), 9007199254740993, 1e-9, '',
  ' ', 'S', 'a.b', 'a b', 'a.*', 'a.>', '>', '*', 'a..b', '.a', 'a.', '$JS.API.>', '$KV.b.>', 'x'.repeat(300), '\u0000',
  '\u00e9', 'limits', 'interest', 'workqueue', 'file', 'memory', 'old', 'new', 'all', 'last', 'by_start_sequence',
  'by_start_time', 'last_per_subject', 'explicit', 'none', 'instant', 'original', '50%', '101%', '2020-01-01T00:00:00Z',
  'yesterday', '-1', '1e3', [], [null], ['a', 'a'], ['a.>', 'a.b'], ['>'], [1, 2], [-1], [1e30], {}, { name: 'S' },
  { name: 'S', external: { api: '$JS.x.API', deliver: '' } }, { src: '>', dest: '>' }, { src: 'a.*', dest: 'b.$1' },
  { cluster: 'c', tags: [1] }, { a: { b: { c: null } } },
];

function setField(src: Src, obj: Record<string, unknown>, recipe: string[]): void {
  const f = src.pick(FIELDS);
  if (src.oneIn(6)) {
    delete obj[f];
    recipe.push(`-${f}`);
    return;
  }
  let v: unknown = src.pick(VALUES);
  if (src.oneIn(5)) v = src.int(2) === 0 ? src.int(1 << 30) - (1 << 29) : src.bytes(src.len(40)).toString('latin1');
  Object.defineProperty(obj, f, { value: v, enumerable: true, writable: true, configurable: true });
  recipe.push(`${f}=${JSON.stringify(v)?.slice(0, 30)}`);
}

function body(src: Src, base: Record<string, unknown>, wrap: boolean, recipe: string[]): Buffer {
  const obj: Record<string, unknown> = structuredClone(base);
  for (let n = src.int(5); n > 0; n--) setField(src, obj, recipe);
  const payload = wrap && !src.oneIn(8) ? { stream_name: src.oneIn(6) ? src.pick(VALUES) : 'S', config: obj } : obj;
  let b: Buffer = Buffer.from(JSON.stringify(payload), 'utf8');
  if (src.oneIn(4)) {
    const m: ByteMutation = { first: b.length, recipe };
    b = mutateBytes(src, b, DICT, 1 + src.int(3), m);
  }
  return b;
}
const DICT = ['{', '}', '[', ']', '"', ':', ',', 'null', '1e400', '-0', '"\\u0000"', '"\\ud800"', '9223372036854775808', '{"a":'].map((s) => Buffer.from(s));

export function create(_opts: TargetOptions): TargetInstance {
  const stats: Record<string, number> = {};
  const bump = (k: string) => (stats[k] = (stats[k] ?? 0) + 1);
  const stream = decodeStreamConfig({ name: 'S', subjects: ['a.>'] });
  streamDefaults(stream, DUP_NS);

  /** Runs fn; only API errors and invalid JSON may come out of it. */
  const guarded = (what: string, fn: () => void): boolean => {
    try {
      fn();
      return true;
    } catch (e) {
      if (e instanceof BadJson) {
        bump(`${what}: invalid JSON`);
        return false;
      }
      if (!(e instanceof ApiError)) throw e;
      check(e.code >= 400 && e.errCode > 0 && e.description.length > 0, () => `${what}: ApiError without codes or text: ${JSON.stringify(e)}`);
      bump(`${what}: API error ${e.code}/${e.errCode}`);
      return false;
    }
  };

  const runStream = (data: Buffer): void => {
    let cfg: ReturnType<typeof decodeStreamConfig> | undefined;
    const ok = guarded('stream', () => {
      const raw = parseBody(data);
      cfg = decodeStreamConfig(raw);
      streamDefaults(cfg, DUP_NS);
      checkStreamConfig(cfg, DUP_NS);
    });
    if (ok && cfg) {
      bump('stream: valid');
      guarded('stream update', () => void checkStreamUpdate(cfg!, cfg!));
      guarded('stream update', () => void checkStreamUpdate(stream, cfg!));
    }
  };
  const runConsumer = (data: Buffer): void => {
    let c: ReturnType<typeof decodeConsumerConfig> | undefined;
    const ok = guarded('consumer', () => {
      const raw = parseBody(data) as { config?: unknown } | undefined;
      const cfgRaw = raw !== null && typeof raw === 'object' && 'config' in raw ? raw.config : raw;
      c = decodeConsumerConfig(cfgRaw);
      const lim = data.length % 2 === 0 ? LIMITS : LIMITS2;
      consumerDefaults(c, lim);
      checkConsumerConfig(c, stream, lim);
    });
    if (ok && c) {
      bump('consumer: valid');
      guarded('consumer update', () => checkConsumerUpdate(c!, c!));
    }
  };

  const kinds: Kind[] = [
    {
      name: 'stream-config',
      weight: 4,
      run(src, cur) {
        const recipe: string[] = [];
        const data = body(src, src.pick(STREAM_BASES), false, recipe);
        cur.set(data, recipe.join(' '));
        runStream(data);
      },
    },
    {
      name: 'consumer-config',
      weight: 4,
      run(src, cur) {
        const recipe: string[] = [];
        const data = body(src, src.pick(CONSUMER_BASES), true, recipe);
        cur.set(data, recipe.join(' '));
        runConsumer(data);
      },
    },
    {
      name: 'random-json',
      weight: 2,
      run(src, cur) {
        const [v] = fc.sample(fc.jsonValue({ maxDepth: 4 }), { seed: src.int(2 ** 31), numRuns: 1 });
        const data = Buffer.from(JSON.stringify(v) ?? 'null', 'utf8');
        cur.set(data, 'fc.jsonValue');
        runStream(data);
        runConsumer(data);
      },
    },
    {
      name: 'random-bytes',
      weight: 1,
      run(src, cur) {
        const data = src.bytes(src.len(512));
        cur.set(data);
        runStream(data);
        runConsumer(data);
      },
    },
  ];
  return { kinds, stats, setupNote: 'stream and consumer request bodies through parseBody, decode, defaults, validation and update checks' };
}
