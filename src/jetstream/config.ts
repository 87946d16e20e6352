// Stream and consumer configurations: decoding with Go's rules, defaults, validation (nats-server
// 2.9.10 checkStreamCfg / setConsumerConfigDefaults / checkConsumerCfg) and JSON in Go's field order.

import { ApiError, Err } from './errors.js';
import { BadJson, dec, timeToNs } from './json.js';
import { isLiteral, subjectIsSubset, subjectsCollide, validSubject } from './subject.js';

export const MAX_NAME = 255;
export const MAX_DESCRIPTION = 4096;
export const DEFAULT_DUP_WINDOW_NS = 120_000_000_000;
export const DEFAULT_ACK_WAIT_NS = 30_000_000_000;
export const DEFAULT_MAX_ACK_PENDING = 1000;
export const DEFAULT_MAX_WAITING = 512;
export const DEFAULT_INACTIVE_NS = 5_000_000_000;
const MS100 = 100_000_000;

export type Retention = 'limits' | 'interest' | 'workqueue';

export interface RePublish {
  src: string;
  dest: string;
  headers_only: boolean;
}

/** A mirror or source (stream.go StreamSource). */
export interface StreamSource {
  name: string;
  opt_start_seq: number;
  opt_start_time: string;
  filter_subject: string;
  external?: unknown;
}

function decodeSource(v: unknown): StreamSource {
  const o = dec.obj(v);
  const st = o.opt_start_time;
  if (st !== undefined && st !== null && (typeof st !== 'string' || timeToNs(st) === undefined)) throw new BadJson('opt_start_time: bad time');
  const src: StreamSource = {
    name: dec.str(o, 'name'),
    opt_start_seq: dec.uint(o, 'opt_start_seq'),
    opt_start_time: typeof st === 'string' ? st : '',
    filter_subject: dec.str(o, 'filter_subject'),
  };
  if (o.external !== undefined && o.external !== null) src.external = dec.obj(o.external);
  return src;
}

export function sourceJson(x: StreamSource): Record<string, unknown> {
  const o: Record<string, unknown> = { name: x.name };
  if (x.opt_start_seq) o.opt_start_seq = x.opt_start_seq;
  if (x.opt_start_time) o.opt_start_time = x.opt_start_time;
  if (x.filter_subject) o.filter_subject = x.filter_subject;
  if (x.external) o.external = x.external;
  return o;
}

export interface StreamConfig {
  name: string;
  description: string;
  subjects: string[];
  retention: Retention;
  max_consumers: number;
  max_msgs: number;
  max_bytes: number;
  max_age: number;
  max_msgs_per_subject: number;
  max_msg_size: number;
  discard: 'old' | 'new';
  storage: 'file' | 'memory';
  num_replicas: number;
  no_ack: boolean;
  template_owner: string;
  duplicate_window: number;
  placement?: unknown;
  mirror?: StreamSource;
  sources?: StreamSource[];
  republish?: RePublish;
  allow_direct: boolean;
  mirror_direct: boolean;
  discard_new_per_subject: boolean;
  sealed: boolean;
  deny_delete: boolean;
  deny_purge: boolean;
  allow_rollup_hdrs: boolean;
}

function enumOf<T extends string>(o: Record<string, unknown>, k: string, allowed: readonly T[], def: T, lower = false): T {
  const v = o[k];
  if (v === undefined || v === null) return def;
  if (typeof v !== 'string') throw new BadJson(`${k}: expected string`);
  const s = lower ? v.toLowerCase() : v;
  if (!(allowed as readonly string[]).includes(s)) throw new BadJson(`can not unmarshal ${JSON.stringify(v)}`);
  return s as T;
}

/** Decodes a StreamConfig JSON object (unknown fields ignored; wrong types and enums → BadJson). */
export function decodeStreamConfig(raw: unknown): StreamConfig {
  const o = dec.obj(raw);
  const cfg: StreamConfig = {
    name: dec.str(o, 'name'),
    description: dec.str(o, 'description'),
    subjects: dec.strs(o, 'subjects') ?? [],
    retention: enumOf(o, 'retention', ['limits', 'interest', 'workqueue'] as const, 'limits'),
    max_consumers: dec.int(o, 'max_consumers'),
    max_msgs: dec.int(o, 'max_msgs'),
    max_bytes: dec.int(o, 'max_bytes'),
    max_age: dec.int(o, 'max_age'),
    max_msgs_per_subject: dec.int(o, 'max_msgs_per_subject'),
    max_msg_size: dec.int(o, 'max_msg_size'),
    discard: enumOf(o, 'discard', ['old', 'new'] as const, 'old', true),
    storage: enumOf(o, 'storage', ['file', 'memory'] as const, 'file'),
    num_replicas: dec.int(o, 'num_replicas'),
    no_ack: dec.bool(o, 'no_ack'),
    template_owner: dec.str(o, 'template_owner'),
    duplicate_window: dec.int(o, 'duplicate_window'),
    allow_direct: dec.bool(o, 'allow_direct'),
    mirror_direct: dec.bool(o, 'mirror_direct'),
    discard_new_per_subject: dec.bool(o, 'discard_new_per_subject'),
    sealed: dec.bool(o, 'sealed'),
    deny_delete: dec.bool(o, 'deny_delete'),
    deny_purge: dec.bool(o, 'deny_purge'),
    allow_rollup_hdrs: dec.bool(o, 'allow_rollup_hdrs'),
  };
  if (o.placement !== undefined && o.placement !== null) cfg.placement = dec.obj(o.placement);
  if (o.mirror !== undefined && o.mirror !== null) cfg.mirror = decodeSource(o.mirror);
  if (o.sources !== undefined && o.sources !== null) {
    if (!Array.isArray(o.sources)) throw new BadJson('sources: expected array');
    if (o.sources.length > 0) cfg.sources = o.sources.map(decodeSource);
  }
  if (o.republish !== undefined && o.republish !== null) {
    const r = dec.obj(o.republish);
    cfg.republish = { src: dec.str(r, 'src'), dest: dec.str(r, 'dest'), headers_only: dec.bool(r, 'headers_only') };
  }
  return cfg;
}

/** Stream defaults (setStreamConfigDefaults / checkStreamCfg's defaulting). */
export function streamDefaults(cfg: StreamConfig, serverDupWindowNs: number): void {
  if (cfg.num_replicas === 0) cfg.num_replicas = 1;
  if (cfg.max_msgs === 0) cfg.max_msgs = -1;
  if (cfg.max_msgs_per_subject === 0) cfg.max_msgs_per_subject = -1;
  if (cfg.max_bytes === 0) cfg.max_bytes = -1;
  if (cfg.max_msg_size === 0) cfg.max_msg_size = -1;
  if (cfg.max_consumers === 0) cfg.max_consumers = -1;
  if (cfg.duplicate_window === 0 && cfg.mirror === undefined) {
    let w = Math.min(DEFAULT_DUP_WINDOW_NS, serverDupWindowNs);
    if (cfg.max_age > 0 && cfg.max_age < w) w = cfg.max_age;
    cfg.duplicate_window = w;
  }
  if (cfg.subjects.length === 0 && cfg.mirror === undefined && cfg.sources === undefined) cfg.subjects = [cfg.name];
}

export function badStreamName(name: string): boolean {
  return name === '' || /[\s.*>]/.test(name);
}

/** checkStreamCfg (after the create handler's own checks). Throws ApiError. */
export function checkStreamConfig(cfg: StreamConfig, serverDupWindowNs: number): void {
  const bad = (m: string): never => {
    throw Err.streamInvalidConfig(m);
  };
  if (badStreamName(cfg.name)) bad("stream name is required and can not contain '.', '*', '>'");
  if (cfg.name.length > MAX_NAME) bad(`stream name is too long, maximum allowed is ${MAX_NAME}`);
  if (cfg.description.length > MAX_DESCRIPTION) bad(`stream description is too long, maximum allowed is ${MAX_DESCRIPTION}`);
  if (cfg.num_replicas > 5) bad('maximum replicas is 5');
  if (cfg.num_replicas < 0) throw Err.replicasNegative();
  if (cfg.max_msgs < -1 || cfg.max_bytes < -1 || cfg.max_msg_size < -1 || cfg.max_msgs_per_subject < -1) {
    // nats-server accepts them (they behave as unlimited); keep them as given.
  }
  if (cfg.max_age !== 0 && cfg.max_age < MS100) bad('max age needs to be >= 100ms');
  if (cfg.duplicate_window < 0) bad('duplicates window can not be negative');
  if (cfg.duplicate_window > 0) {
    if (cfg.max_age > 0 && cfg.duplicate_window > cfg.max_age) bad('duplicates window can not be larger then max age');
    if (cfg.duplicate_window > serverDupWindowNs) bad(`duplicates window can not be larger then server limit of ${serverDupWindowNs / 1e9}s`);
    if (cfg.duplicate_window < MS100) bad('duplicates window needs to be >= 100ms');
  }
  if (cfg.deny_purge && cfg.allow_rollup_hdrs) bad('roll-ups require the purge permission');
  if (cfg.discard_new_per_subject) {
    if (cfg.discard !== 'new') bad('discard new per subject requires discard new policy to be set');
    if (cfg.max_msgs_per_subject <= 0) bad('discard new per subject requires max msgs per subject > 0');
  }
  if (cfg.mirror !== undefined) {
    if (cfg.subjects.length > 0) throw Err.mirrorWithSubjects();
    if (cfg.sources !== undefined) throw Err.mirrorWithSources();
  }
  for (const x of [...(cfg.mirror ? [cfg.mirror] : []), ...(cfg.sources ?? [])]) {
    if (x.external !== undefined) throw Err.notSupported('mirrors and sources from other accounts or domains (external)');
    if (x.name === '' || badStreamName(x.name)) bad(`stream source name ${JSON.stringify(x.name)} is invalid`);
    if (x.name === cfg.name) bad('detected cycle');
  }
  if (cfg.template_owner !== '') throw Err.notSupported('stream templates');
  const seen = new Set<string>();
  for (const s of cfg.subjects) {
    if (seen.has(s)) bad('duplicate subjects detected');
    seen.add(s);
    if (!validSubject(s)) bad('invalid subject');
    if (subjectIsSubset(s, '$JS.API.>')) bad('subjects overlap with jetstream api');
  }
  for (let i = 0; i < cfg.subjects.length; i++) {
    for (let j = i + 1; j < cfg.subjects.length; j++) {
      const a = cfg.subjects[i]!;
      const b = cfg.subjects[j]!;
      if (subjectIsSubset(a, b) || subjectIsSubset(b, a)) bad(`subject ${JSON.stringify(a)} overlaps with ${JSON.stringify(b)}`);
    }
  }
  const rp = cfg.republish;
  if (rp) {
    const src = rp.src === '' ? '>' : rp.src;
    if (!validSubject(src) || !cfg.subjects.some((s) => subjectsCollide(s, src))) bad('stream configuration for republish source is not valid subset of subjects');
    if (!validSubject(rp.dest) || cfg.subjects.some((s) => subjectsCollide(s, rp.dest))) bad('stream configuration for republish destination forms a cycle');
  }
}

/** StreamConfig as nats-server 2.9.10 marshals it (field order, omitempty). */
export function streamConfigJson(c: StreamConfig): Record<string, unknown> {
  const o: Record<string, unknown> = { name: c.name };
  if (c.description) o.description = c.description;
  if (c.subjects.length) o.subjects = c.subjects;
  Object.assign(o, {
    retention: c.retention,
    max_consumers: c.max_consumers,
    max_msgs: c.max_msgs,
    max_bytes: c.max_bytes,
    max_age: c.max_age,
    max_msgs_per_subject: c.max_msgs_per_subject,
  });
  if (c.max_msg_size) o.max_msg_size = c.max_msg_size;
  o.discard = c.discard;
  o.storage = c.storage;
  o.num_replicas = c.num_replicas;
  if (c.no_ack) o.no_ack = true;
  if (c.template_owner) o.template_owner = c.template_owner;
  if (c.duplicate_window) o.duplicate_window = c.duplicate_window;
  if (c.placement) o.placement = c.placement;
  if (c.mirror) o.mirror = sourceJson(c.mirror);
  if (c.sources) o.sources = c.sources.map(sourceJson);
  if (c.republish) {
    const r: Record<string, unknown> = { src: c.republish.src, dest: c.republish.dest };
    if (c.republish.headers_only) r.headers_only = true;
    o.republish = r;
  }
  o.allow_direct = c.allow_direct;
  o.mirror_direct = c.mirror_direct;
  if (c.discard_new_per_subject) o.discard_new_per_subject = true;
  o.sealed = c.sealed;
  o.deny_delete = c.deny_delete;
  o.deny_purge = c.deny_purge;
  o.allow_rollup_hdrs = c.allow_rollup_hdrs;
  return o;
}

export function sameStreamConfig(a: StreamConfig, b: StreamConfig): boolean {
  return JSON.stringify(streamConfigJson(a)) === JSON.stringify(streamConfigJson(b));
}

/** configUpdateCheck: returns the config to apply or throws. */
export function checkStreamUpdate(old: StreamConfig, next: StreamConfig): StreamConfig {
  const bad = (m: string): never => {
    throw Err.streamInvalidConfig(m);
  };
  if (next.name !== old.name) bad('stream configuration name must match original');
  if (next.max_consumers !== old.max_consumers) bad('stream configuration update can not change MaxConsumers');
  if (next.storage !== old.storage) bad('stream configuration update can not change storage type');
  if (next.retention !== old.retention) bad('stream configuration update can not change retention policy');
  if (next.template_owner !== old.template_owner) bad('stream configuration update can not change template ownership');
  if (JSON.stringify(next.mirror && sourceJson(next.mirror)) !== JSON.stringify(old.mirror && sourceJson(old.mirror))) throw Err.streamMirrorNotUpdatable();
  if (JSON.stringify(next.republish) !== JSON.stringify(old.republish)) bad('stream configuration update can not change RePublish');
  if (old.sealed && !next.sealed) bad('stream configuration update can not unseal a sealed stream');
  if (old.deny_delete && !next.deny_delete) bad('stream configuration update can not cancel deny message deletes');
  if (old.deny_purge && !next.deny_purge) bad('stream configuration update can not cancel deny purge');
  if (next.sealed) {
    next.max_age = 0;
    next.discard = 'new';
    next.deny_delete = true;
    next.deny_purge = true;
    next.allow_rollup_hdrs = false;
  }
  return next;
}

// -------------------------------------------------------------------------------------------
// Consumers

export type DeliverPolicy = 'all' | 'last' | 'new' | 'by_start_sequence' | 'by_start_time' | 'last_per_subject';
export type AckPolicy = 'none' | 'all' | 'explicit';

export interface ConsumerConfig {
  durable_name: string;
  name: string;
  description: string;
  deliver_policy: DeliverPolicy;
  opt_start_seq: number;
  opt_start_time: string;
  ack_policy: AckPolicy;
  ack_wait: number;
  max_deliver: number;
  backoff: number[];
  filter_subject: string;
  replay_policy: 'instant' | 'original';
  rate_limit_bps: number;
  sample_freq: string;
  max_waiting: number;
  max_ack_pending: number;
  idle_heartbeat: number;
  flow_control: boolean;
  headers_only: boolean;
  max_batch: number;
  max_expires: number;
  max_bytes: number;
  deliver_subject: string;
  deliver_group: string;
  inactive_threshold: number;
  num_replicas: number;
  mem_storage: boolean;
  direct: boolean;
}

export function decodeConsumerConfig(raw: unknown): ConsumerConfig {
  const o = dec.obj(raw);
  const dp = enumOf(o, 'deliver_policy', ['all', 'undefined', 'last', 'new', 'by_start_sequence', 'by_start_time', 'last_per_subject'] as const, 'all');
  const st = o.opt_start_time;
  if (st !== undefined && st !== null && (typeof st !== 'string' || timeToNs(st) === undefined)) throw new BadJson('opt_start_time: bad time');
  return {
    durable_name: dec.str(o, 'durable_name'),
    name: dec.str(o, 'name'),
    description: dec.str(o, 'description'),
    deliver_policy: dp === 'undefined' ? 'all' : dp,
    opt_start_seq: dec.uint(o, 'opt_start_seq'),
    opt_start_time: typeof st === 'string' ? st : '',
    ack_policy: enumOf(o, 'ack_policy', ['none', 'all', 'explicit'] as const, 'none'),
    ack_wait: dec.int(o, 'ack_wait'),
    max_deliver: dec.int(o, 'max_deliver'),
    backoff: dec.ints(o, 'backoff') ?? [],
    filter_subject: dec.str(o, 'filter_subject'),
    replay_policy: enumOf(o, 'replay_policy', ['instant', 'original'] as const, 'instant'),
    rate_limit_bps: dec.uint(o, 'rate_limit_bps'),
    sample_freq: dec.str(o, 'sample_freq'),
    max_waiting: dec.int(o, 'max_waiting'),
    max_ack_pending: dec.int(o, 'max_ack_pending'),
    idle_heartbeat: dec.int(o, 'idle_heartbeat'),
    flow_control: dec.bool(o, 'flow_control'),
    headers_only: dec.bool(o, 'headers_only'),
    max_batch: dec.int(o, 'max_batch'),
    max_expires: dec.int(o, 'max_expires'),
    max_bytes: dec.int(o, 'max_bytes'),
    deliver_subject: dec.str(o, 'deliver_subject'),
    deliver_group: dec.str(o, 'deliver_group'),
    inactive_threshold: dec.int(o, 'inactive_threshold'),
    num_replicas: dec.int(o, 'num_replicas'),
    mem_storage: dec.bool(o, 'mem_storage'),
    direct: dec.bool(o, 'direct'),
  };
}

export interface ServerJsLimits {
  maxRequestBatch: number;
  maxAckPending: number;
}

/** setConsumerConfigDefaults (`accMaxAckPending`: the account's `max_ack_pending`, -1 = none). */
export function consumerDefaults(c: ConsumerConfig, lim: ServerJsLimits, accMaxAckPending = -1): void {
  if (c.max_deliver === 0) c.max_deliver = -1;
  if (c.ack_policy !== 'none' && c.ack_wait === 0) c.ack_wait = DEFAULT_ACK_WAIT_NS;
  if (c.backoff.length > 0 && c.ack_policy !== 'none') c.ack_wait = c.backoff[0]!;
  if (c.max_ack_pending === 0 && c.ack_policy !== 'none') {
    c.max_ack_pending = lim.maxAckPending > 0 ? Math.min(DEFAULT_MAX_ACK_PENDING, lim.maxAckPending) : DEFAULT_MAX_ACK_PENDING;
    if (accMaxAckPending > 0 && accMaxAckPending < c.max_ack_pending) c.max_ack_pending = accMaxAckPending;
  }
  if (c.deliver_subject === '' && c.max_waiting === 0) c.max_waiting = DEFAULT_MAX_WAITING;
  if (c.durable_name === '' && c.inactive_threshold === 0) c.inactive_threshold = DEFAULT_INACTIVE_NS;
  if (c.max_batch === 0 && lim.maxRequestBatch > 0 && c.deliver_subject === '') c.max_batch = lim.maxRequestBatch;
}

/** checkConsumerCfg. `stream` gives the stream's subjects and retention. */
export function checkConsumerConfig(c: ConsumerConfig, stream: StreamConfig, lim: ServerJsLimits, accMaxAckPending = -1): void {
  if (c.num_replicas > stream.num_replicas) throw Err.consumerReplicasExceedsStream();
  if (c.num_replicas < 0) throw Err.replicasNegative();
  if (c.backoff.length > 0 && c.max_deliver !== -1 && c.max_deliver <= c.backoff.length) throw Err.maxDeliverBackoff();
  if (c.description.length > MAX_DESCRIPTION) throw Err.consumerDescriptionTooLong(MAX_DESCRIPTION);
  if (c.deliver_subject !== '') {
    if (!isLiteral(c.deliver_subject)) throw Err.consumerWildcardDeliver();
    if (!validSubject(c.deliver_subject, false)) throw Err.invalidDeliverSubject();
    if (stream.subjects.some((s) => subjectsCollide(s, c.deliver_subject))) throw Err.deliverCycle();
    if (c.max_waiting !== 0) throw Err.pushMaxWaiting();
    if (c.max_ack_pending > 0 && c.ack_policy === 'none') throw Err.maxPendingAckPolicyRequired();
    if (c.idle_heartbeat > 0 && c.idle_heartbeat < MS100) throw Err.smallHeartbeat();
  } else {
    if (c.ack_policy === 'none' && stream.retention === 'workqueue') throw Err.pullRequiresAck();
    if (c.rate_limit_bps > 0) throw Err.pullWithRateLimit();
    if (c.max_waiting < 0) throw Err.maxWaitingNegative();
    if (c.idle_heartbeat > 0) throw Err.hbRequiresPush();
    if (c.flow_control) throw Err.fcRequiresPush();
    if (c.max_batch < 0) throw Err.maxRequestBatchNegative();
    if (c.max_expires !== 0 && c.max_expires < 1_000_000) throw Err.maxRequestExpiresTooSmall();
    if (lim.maxRequestBatch > 0 && c.max_batch > lim.maxRequestBatch) throw Err.maxRequestBatchExceeded(lim.maxRequestBatch);
  }
  if (lim.maxAckPending > 0 && c.max_ack_pending > lim.maxAckPending) throw Err.consumerMaxPendingAckExcess(lim.maxAckPending);
  if (accMaxAckPending > 0 && c.max_ack_pending > accMaxAckPending) throw Err.consumerMaxPendingAckExcess(accMaxAckPending);
  if (c.filter_subject !== '') {
    if (!validSubject(c.filter_subject)) throw Err.filterNotSubset();
    const ok = c.filter_subject === '>' || stream.subjects.some((s) => subjectIsSubset(c.filter_subject, s) || subjectIsSubset(s, c.filter_subject));
    if (!ok) throw Err.filterNotSubset();
  }
  const p = c.deliver_policy;
  const pname = p === 'by_start_sequence' ? 'by start sequence' : p === 'by_start_time' ? 'by start time' : p === 'last_per_subject' ? 'last per subject' : p;
  const pol = (m: string): never => {
    throw Err.invalidPolicy(m);
  };
  if (p === 'all' || p === 'last' || p === 'new' || p === 'last_per_subject') {
    if (c.opt_start_seq > 0) pol(`consumer delivery policy is deliver ${pname}, but optional start sequence is also set`);
    if (c.opt_start_time !== '') pol(`consumer delivery policy is deliver ${pname}, but optional start time is also set`);
    if (p === 'last_per_subject' && c.filter_subject === '') pol('consumer delivery policy is deliver last per subject, but optional filter subject is not set');
  } else if (p === 'by_start_sequence') {
    if (c.opt_start_seq === 0) pol('consumer delivery policy is deliver by start sequence, but optional start sequence is not set');
    if (c.opt_start_time !== '') pol('consumer delivery policy is deliver by start sequence, but optional start time is also set');
  } else if (p === 'by_start_time') {
    if (c.opt_start_time === '') pol('consumer delivery policy is deliver by start time, but optional start time is not set');
    if (c.opt_start_seq > 0) pol('consumer delivery policy is deliver by start time, but optional start sequence is also set');
  }
  if (c.sample_freq !== '' && !/^(100|[0-9]{1,2})%?$/.test(c.sample_freq.trim())) throw Err.invalidSampling(`invalid sample frequency: ${c.sample_freq}`);
  if (c.flow_control && c.idle_heartbeat <= 0) throw Err.fcRequiresHeartbeats();
  if (c.durable_name !== '' && c.name !== '' && c.durable_name !== c.name) throw Err.consumerCreateDurableAndNameMismatch();
}

/** checkNewConsumerConfig: refusals of an update (500/10012). */
export function checkConsumerUpdate(old: ConsumerConfig, next: ConsumerConfig): void {
  const no = (m: string): never => {
    throw Err.consumerCreate(m);
  };
  if (old.deliver_policy !== next.deliver_policy) no('deliver policy can not be updated');
  if (old.opt_start_seq !== next.opt_start_seq) no('start sequence can not be updated');
  if (old.opt_start_time !== '' || next.opt_start_time !== '') {
    if (old.opt_start_time !== next.opt_start_time || old.opt_start_time !== '') no('start time can not be updated');
  }
  if (old.ack_policy !== next.ack_policy) no('ack policy can not be updated');
  if (old.replay_policy !== next.replay_policy) no('replay policy can not be updated');
  if (old.idle_heartbeat !== next.idle_heartbeat) no('heart beats can not be updated');
  if (old.flow_control !== next.flow_control) no('flow control can not be updated');
  if (old.max_waiting !== next.max_waiting) no('max waiting can not be updated');
  if (old.deliver_subject === '' && next.deliver_subject !== '') no('can not update pull consumer to push based');
  if (old.deliver_subject !== '' && next.deliver_subject === '') no('can not update push consumer to pull based');
}

/** ConsumerConfig as nats-server marshals it. */
export function consumerConfigJson(c: ConsumerConfig): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (c.durable_name) o.durable_name = c.durable_name;
  if (c.name) o.name = c.name;
  if (c.description) o.description = c.description;
  o.deliver_policy = c.deliver_policy;
  if (c.opt_start_seq) o.opt_start_seq = c.opt_start_seq;
  if (c.opt_start_time) o.opt_start_time = c.opt_start_time;
  o.ack_policy = c.ack_policy;
  if (c.ack_wait) o.ack_wait = c.ack_wait;
  if (c.max_deliver) o.max_deliver = c.max_deliver;
  if (c.backoff.length) o.backoff = c.backoff;
  if (c.filter_subject) o.filter_subject = c.filter_subject;
  o.replay_policy = c.replay_policy;
  if (c.rate_limit_bps) o.rate_limit_bps = c.rate_limit_bps;
  if (c.sample_freq) o.sample_freq = c.sample_freq;
  if (c.max_waiting) o.max_waiting = c.max_waiting;
  if (c.max_ack_pending) o.max_ack_pending = c.max_ack_pending;
  if (c.idle_heartbeat) o.idle_heartbeat = c.idle_heartbeat;
  if (c.flow_control) o.flow_control = true;
  if (c.headers_only) o.headers_only = true;
  if (c.max_batch) o.max_batch = c.max_batch;
  if (c.max_expires) o.max_expires = c.max_expires;
  if (c.max_bytes) o.max_bytes = c.max_bytes;
  if (c.deliver_subject) o.deliver_subject = c.deliver_subject;
  if (c.deliver_group) o.deliver_group = c.deliver_group;
  if (c.inactive_threshold) o.inactive_threshold = c.inactive_threshold;
  o.num_replicas = c.num_replicas;
  if (c.mem_storage) o.mem_storage = true;
  if (c.direct) o.direct = true;
  return o;
}

export { ApiError };
