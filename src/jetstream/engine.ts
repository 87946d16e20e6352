// The JetStream engine of one server: streams keyed by account (only `$G` today), limits,
// accounting, advisories, recovery and shutdown.

import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Api } from './api.js';
import {
  checkConsumerConfig,
  checkConsumerUpdate,
  consumerConfigJson,
  consumerDefaults,
  decodeConsumerConfig,
  decodeStreamConfig,
  MAX_NAME,
  sameStreamConfig,
  streamConfigJson,
  type ConsumerConfig,
  type ServerJsLimits,
  type StreamConfig,
} from './config.js';
import { Consumer } from './consumer.js';
import { ApiError, Err } from './errors.js';
import { goJson, nsToTime, clockNs, timeToNs } from './json.js';
import type { JsPort } from './port.js';
import { Stream } from './stream.js';
import { openStorage, type Storage } from './storage.js';
import { subjectIsSubset, subjectsCollide } from './subject.js';
import { limitsFromConfig } from './store/types.js';

export const ACCOUNT = '$G';

/**
 * One account's JetStream: its streams, its place on disk and its API counters. Only the global
 * account `$G` exists today; everything account-specific hangs off this object so that accounts
 * can be added without a rewrite (the port would then say which account a request comes from).
 */
export class JsAccount {
  readonly streams = new Map<string, Stream>();
  apiTotal = 0;
  apiErrors = 0;
  constructor(
    readonly name: string,
    readonly storage: Storage,
  ) {}
}

export interface JetStreamOptions {
  storeDir?: string;
  maxMemory?: number;
  maxStore?: number;
  domain?: string;
  maxRequestBatch?: number;
  maxAckPending?: number;
  duplicateWindowMs?: number;
}

export class JetStream {
  readonly accounts = new Map<string, JsAccount>();
  readonly api: Api;
  readonly domain: string | undefined;
  readonly storeDir: string;
  readonly maxMemory: number;
  readonly maxStore: number;
  readonly limits: ServerJsLimits;
  readonly dupWindowNs: number;
  /** Server-wide API counters (all accounts). */
  apiTotal = 0;
  apiErrors = 0;
  private stopped = false;

  constructor(
    readonly port: JsPort,
    opts: JetStreamOptions,
  ) {
    this.domain = opts.domain || undefined;
    const bothLimits = opts.maxMemory !== undefined && opts.maxStore !== undefined;
    const base = opts.storeDir ? resolve(opts.storeDir) : bothLimits ? '/tmp' : '/tmp/nats';
    this.storeDir = join(base, 'jetstream');
    this.maxMemory = opts.maxMemory ?? defaultMaxMemory();
    this.maxStore = opts.maxStore ?? defaultMaxStore(base);
    this.limits = { maxRequestBatch: opts.maxRequestBatch ?? 0, maxAckPending: opts.maxAckPending ?? 0 };
    this.dupWindowNs = opts.duplicateWindowMs ? opts.duplicateWindowMs * 1e6 : 120_000_000_000;
    this.api = new Api(this);
  }

  async start(): Promise<void> {
    const log = this.port.log;
    log.notice('Starting JetStream');
    log.notice('    _ ___ _____ ___ _____ ___ ___   _   __  __');
    log.notice(' _ | | __|_   _/ __|_   _| _ \\ __| /_\\ |  \\/  |');
    log.notice("| || | _|  | | \\__ \\ | | |   / _| / _ \\| |\\/| |");
    log.notice(' \\__/|___| |_| |___/ |_| |_|_\\___/_/ \\_\\_|  |_|');
    log.notice('');
    log.notice('         https://docs.nats.io/jetstream');
    log.notice('');
    log.notice('---------------- JETSTREAM ----------------');
    log.notice(`  Max Memory:      ${friendlyBytes(this.maxMemory)}`);
    log.notice(`  Max Storage:     ${friendlyBytes(this.maxStore)}`);
    log.notice(`  Store Directory: "${this.storeDir}"`);
    if (this.domain) log.notice(`  Domain:          ${this.domain}`);
    log.notice('-------------------------------------------');
    try {
      mkdirSync(join(this.storeDir, ACCOUNT, 'streams'), { recursive: true, mode: 0o750 });
    } catch (e) {
      throw new Error(`Could not create storage directory - ${(e as Error).message}`);
    }
    const acc = new JsAccount(ACCOUNT, await openStorage(join(this.storeDir, ACCOUNT), (m) => log.warn(m)));
    this.accounts.set(ACCOUNT, acc);
    await this.recover(acc);
    this.api.start();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.api.stop();
    for (const acc of this.accounts.values()) {
      for (const s of acc.streams.values()) await s.close(false);
      acc.streams.clear();
    }
  }

  /** An account's JetStream (only `$G` exists today). */
  account(name: string = ACCOUNT): JsAccount {
    const a = this.accounts.get(name);
    if (!a) throw Err.notEnabledForAccount();
    return a;
  }

  /** Every stream of every account. */
  *allStreams(): IterableIterator<Stream> {
    for (const a of this.accounts.values()) yield* a.streams.values();
  }

  // -----------------------------------------------------------------------------------------
  // Messaging helpers

  /** Publishes a reply (JSON) from JetStream. */
  reply(to: string, json: string, _internal = false): void {
    this.port.publish(to, undefined, null, Buffer.from(json));
  }

  advisory(subject: string, type: string, fields: Record<string, unknown>): void {
    if (!this.port.hasInterest(subject)) return;
    const body: Record<string, unknown> = { type, id: randomBytes(11).toString('base64url').slice(0, 22), timestamp: nsToTime(clockNs()), ...fields };
    if (this.domain) body.domain = this.domain;
    this.port.publish(subject, undefined, null, Buffer.from(goJson(body)));
  }

  // -----------------------------------------------------------------------------------------
  // Accounting

  usage(): { memory: number; storage: number; reservedMemory: number; reservedStorage: number; consumers: number } {
    let memory = 0;
    let storage = 0;
    let reservedMemory = 0;
    let reservedStorage = 0;
    let consumers = 0;
    for (const s of this.allStreams()) {
      const b = s.store.state().bytes;
      consumers += s.consumers.size;
      if (s.cfg.storage === 'memory') {
        memory += b;
        if (s.cfg.max_bytes > 0) reservedMemory += s.cfg.max_bytes;
      } else {
        storage += b;
        if (s.cfg.max_bytes > 0) reservedStorage += s.cfg.max_bytes;
      }
    }
    return { memory, storage, reservedMemory, reservedStorage, consumers };
  }

  /** Server storage already over its maximum (publish → 10023). */
  overLimit(kind: 'file' | 'memory'): boolean {
    const u = this.usage();
    return kind === 'memory' ? u.memory >= this.maxMemory : u.storage >= this.maxStore;
  }

  accountInfo(acc: JsAccount): Record<string, unknown> {
    let memory = 0;
    let storage = 0;
    let consumers = 0;
    for (const s of acc.streams.values()) {
      if (s.cfg.storage === 'memory') memory += s.store.state().bytes;
      else storage += s.store.state().bytes;
      consumers += s.consumers.size;
    }
    const o: Record<string, unknown> = {
      memory,
      storage,
      streams: acc.streams.size,
      consumers,
      limits: {
        max_memory: -1,
        max_storage: -1,
        max_streams: -1,
        max_consumers: -1,
        max_ack_pending: -1,
        memory_max_stream_bytes: -1,
        storage_max_stream_bytes: -1,
        max_bytes_required: false,
      },
    };
    if (this.domain) o.domain = this.domain;
    o.api = { total: acc.apiTotal, errors: acc.apiErrors };
    return o;
  }

  // -----------------------------------------------------------------------------------------
  // Streams

  /** Creates (or returns the identical existing) stream. */
  async addStream(acc: JsAccount, cfg: StreamConfig): Promise<Stream> {
    const existing = acc.streams.get(cfg.name);
    if (existing) {
      if (sameStreamConfig(existing.cfg, cfg)) return existing;
      throw Err.streamNameExist();
    }
    if (cfg.num_replicas > 1) throw Err.replicasNotSupported();
    for (const s of acc.streams.values()) {
      for (const a of s.cfg.subjects) for (const b of cfg.subjects) if (subjectsCollide(a, b)) throw Err.streamSubjectOverlap();
    }
    this.checkReservation(cfg, 0);
    const created = clockNs();
    const store = await acc.storage.createStream(cfg.name, cfg.storage, limitsFromConfig(cfg), { config: streamConfigJson(cfg), created: nsToTime(created) });
    const s = new Stream(this, acc, cfg, store, created);
    acc.streams.set(cfg.name, s);
    s.subscribe();
    // as nats-server, mirrors and sources start after the create reply (their state fills in later)
    if (cfg.mirror || cfg.sources) setImmediate(() => acc.streams.get(cfg.name) === s && s.startLinks());
    for (const o of acc.streams.values()) if (o !== s) o.originAppeared(s);
    this.advisory(`$JS.EVENT.ADVISORY.STREAM.CREATED.${cfg.name}`, 'io.nats.jetstream.advisory.v1.stream_action', { stream: cfg.name, action: 'create' });
    return s;
  }

  private checkReservation(cfg: StreamConfig, current: number): void {
    if (cfg.max_bytes <= 0) return;
    const u = this.usage();
    if (cfg.storage === 'memory') {
      if (u.reservedMemory - current + cfg.max_bytes > this.maxMemory) throw Err.memoryResources();
    } else if (u.reservedStorage - current + cfg.max_bytes > this.maxStore) throw Err.storageResources();
  }

  async updateStream(s: Stream, cfg: StreamConfig): Promise<void> {
    for (const o of s.acc.streams.values()) {
      if (o === s) continue;
      for (const a of o.cfg.subjects) for (const b of cfg.subjects) if (subjectsCollide(a, b)) throw Err.streamSubjectOverlap();
    }
    this.checkReservation(cfg, s.cfg.max_bytes > 0 ? s.cfg.max_bytes : 0);
    const linksChanged = JSON.stringify(cfg.sources) !== JSON.stringify(s.cfg.sources);
    s.update(cfg);
    if (linksChanged) s.startLinks();
    await s.acc.storage.writeStreamMeta(s.name, { config: streamConfigJson(cfg), created: nsToTime(s.created) });
    this.advisory(`$JS.EVENT.ADVISORY.STREAM.UPDATED.${cfg.name}`, 'io.nats.jetstream.advisory.v1.stream_action', { stream: cfg.name, action: 'modify' });
  }

  async deleteStream(s: Stream): Promise<void> {
    s.acc.streams.delete(s.name);
    for (const o of s.acc.streams.values()) o.originGone(s);
    await s.close(true);
    await s.acc.storage.removeStream(s.name);
    this.advisory(`$JS.EVENT.ADVISORY.STREAM.DELETED.${s.name}`, 'io.nats.jetstream.advisory.v1.stream_action', { stream: s.name, action: 'delete' });
  }

  // -----------------------------------------------------------------------------------------
  // Consumers

  /** stream.addConsumer: defaults, validation, create-or-update. */
  async addConsumer(s: Stream, cfg: ConsumerConfig): Promise<Consumer> {
    consumerDefaults(cfg, this.limits);
    checkConsumerConfig(cfg, s.cfg, this.limits);
    const name = cfg.durable_name || cfg.name;
    if (name !== '') {
      if (/[\s.*>]/.test(name)) throw Err.consumerBadDurableName();
      if (/[\\/]/.test(name)) throw Err.consumerNameContainsPathSeparators();
      if (name.length > MAX_NAME) throw Err.consumerNameTooLong(MAX_NAME);
    }
    const existing = name !== '' ? s.consumers.get(name) : undefined;
    if (existing) {
      if (JSON.stringify(consumerConfigJson(existing.cfg)) === JSON.stringify(consumerConfigJson(cfg))) return existing;
      checkConsumerUpdate(existing.cfg, cfg);
      if (existing.cfg.deliver_subject !== cfg.deliver_subject && existing.pushBound) throw Err.consumerNameExists();
      existing.update(cfg);
      if (existing.isDurable || existing.cstore) await s.acc.storage.writeConsumerMeta(s.name, name, { name, config: consumerConfigJson(cfg), created: nsToTime(existing.created) });
      return existing;
    }
    if (s.cfg.max_consumers > 0 && s.consumers.size >= s.cfg.max_consumers) throw Err.maxConsumers();
    if (s.cfg.retention === 'workqueue') {
      if (cfg.ack_policy !== 'explicit') throw Err.wqRequiresExplicitAck();
      if (s.consumers.size > 0) {
        const f = cfg.filter_subject;
        if (f === '') throw Err.wqMultipleUnfiltered();
        for (const o of s.consumers.values()) {
          const of = o.cfg.filter_subject;
          if (of === '' || subjectIsSubset(of, f) || subjectIsSubset(f, of)) throw Err.wqConsumerNotUnique();
        }
      }
      if (cfg.deliver_policy !== 'all') throw Err.wqConsumerNotDeliverAll();
    }
    const cname = name !== '' ? name : randomName();
    const created = clockNs();
    const persist = s.cfg.storage === 'file' && !cfg.mem_storage;
    const cstore = persist ? await s.acc.storage.createConsumer(s.name, cname, { name: cname, config: consumerConfigJson(cfg), created: nsToTime(created) }) : undefined;
    const c = new Consumer(s, cname, cfg, created, cstore);
    s.consumers.set(cname, c);
    c.start();
    this.advisory(`$JS.EVENT.ADVISORY.CONSUMER.CREATED.${s.name}.${cname}`, 'io.nats.jetstream.advisory.v1.consumer_action', { stream: s.name, consumer: cname, action: 'create' });
    return c;
  }

  async deleteConsumer(s: Stream, name: string, _why: 'api' | 'inactive'): Promise<boolean> {
    const c = s.consumers.get(name);
    if (!c) return false;
    s.consumers.delete(name);
    await c.close('delete');
    await s.acc.storage.removeConsumer(s.name, name);
    this.advisory(`$JS.EVENT.ADVISORY.CONSUMER.DELETED.${s.name}.${name}`, 'io.nats.jetstream.advisory.v1.consumer_action', { stream: s.name, consumer: name, action: 'delete' });
    // interest retention: messages only this consumer held go
    if (s.cfg.retention === 'interest') {
      const st = s.store.state();
      for (let seq = Math.max(st.firstSeq, c.ackFloor.streamSeq + 1); seq <= st.lastSeq; seq++) s.checkInterestRemoval(seq);
    }
    return true;
  }

  // -----------------------------------------------------------------------------------------
  // Recovery

  private async recover(acc: JsAccount): Promise<void> {
    const log = this.port.log;
    for (const r of await acc.storage.recoverStreams()) {
      let cfg: StreamConfig;
      try {
        cfg = decodeStreamConfig(r.meta.config);
      } catch (e) {
        log.warn(`  Error recovering stream '${acc.name} > ${r.name}': ${(e as Error).message}`);
        continue;
      }
      log.notice(`  Starting restore for stream '${acc.name} > ${cfg.name}'`);
      const created = timeToNs(r.meta.created) ?? clockNs();
      const s = new Stream(this, acc, cfg, r.store, created);
      acc.streams.set(cfg.name, s);
      s.recoverDedupe();
      log.notice(`  Restored ${r.store.state().msgs} messages for stream '${acc.name} > ${cfg.name}'`);
      if (r.consumers.length > 0) log.notice(`  Recovering ${r.consumers.length} consumers for stream - '${acc.name} > ${cfg.name}'`);
      for (const rc of r.consumers) {
        try {
          const ccfg = decodeConsumerConfig(rc.meta.config);
          const c = new Consumer(s, rc.meta.name, ccfg, timeToNs(rc.meta.created) ?? clockNs(), rc.store, rc.store.state());
          s.consumers.set(c.name, c);
        } catch (e) {
          log.warn(`    Error recovering consumer '${rc.meta.name}': ${(e as Error).message}`);
        }
      }
      s.subscribe();
      for (const c of s.consumers.values()) c.start();
    }
    // mirrors and sources resume once every stream is back
    for (const s of acc.streams.values()) {
      s.recoverSourcePositions();
      if (s.cfg.mirror || s.cfg.sources) s.startLinks();
    }
  }

  // -----------------------------------------------------------------------------------------
  // Monitoring

  varz(): Record<string, unknown> {
    const u = this.usage();
    return {
      config: { max_memory: this.maxMemory, max_storage: this.maxStore, store_dir: this.storeDir, ...(this.domain ? { domain: this.domain } : {}) },
      stats: {
        memory: u.memory,
        storage: u.storage,
        reserved_memory: u.reservedMemory,
        reserved_storage: u.reservedStorage,
        accounts: 1,
        ha_assets: 0,
        api: { total: this.apiTotal, errors: this.apiErrors },
      },
    };
  }

  /** For /metrics (the server's JetStreamMetricsView shape). */
  metrics(): {
    memory: number;
    storage: number;
    apiTotal: number;
    apiErrors: number;
    streams: { name: string; messages: number; bytes: number; consumers: { name: string; numPending: number; numAckPending: number; numRedelivered: number; numWaiting: number }[] }[];
  } {
    const u = this.usage();
    return {
      memory: u.memory,
      storage: u.storage,
      apiTotal: this.apiTotal,
      apiErrors: this.apiErrors,
      streams: [...this.allStreams()].map((s) => {
        const st = s.store.state();
        return {
          name: s.name,
          messages: st.msgs,
          bytes: st.bytes,
          consumers: [...s.consumers.values()].map((c) => {
            const i = c.info() as { num_pending: number; num_ack_pending: number; num_redelivered: number; num_waiting: number };
            return { name: c.name, numPending: i.num_pending, numAckPending: i.num_ack_pending, numRedelivered: i.num_redelivered, numWaiting: i.num_waiting };
          }),
        };
      }),
    };
  }

  jsz(params: URLSearchParams): Record<string, unknown> {
    const u = this.usage();
    let messages = 0;
    let bytes = 0;
    let streams = 0;
    for (const s of this.allStreams()) {
      streams++;
      const st = s.store.state();
      messages += st.msgs;
      bytes += st.bytes;
    }
    const o: Record<string, unknown> = {
      server_id: this.port.serverId,
      now: nsToTime(clockNs()),
      config: (this.varz() as { config: unknown }).config,
      memory: u.memory,
      storage: u.storage,
      reserved_memory: u.reservedMemory,
      reserved_storage: u.reservedStorage,
      accounts: 1,
      ha_assets: 0,
      api: { total: this.apiTotal, errors: this.apiErrors },
      streams,
      consumers: u.consumers,
      messages,
      bytes,
    };
    const wantStreams = truthy(params.get('streams')) || truthy(params.get('consumers'));
    if (truthy(params.get('accounts')) || wantStreams) {
      o.account_details = [...this.accounts.values()].map((a) => this.accountDetail(a, params, wantStreams));
    }
    return o;
  }

  private accountDetail(a: JsAccount, params: URLSearchParams, wantStreams: boolean): Record<string, unknown> {
    const info = this.accountInfo(a);
    let rm = 0;
    let rs = 0;
    for (const s of a.streams.values()) if (s.cfg.max_bytes > 0) s.cfg.storage === 'memory' ? (rm += s.cfg.max_bytes) : (rs += s.cfg.max_bytes);
    const acc: Record<string, unknown> = { name: a.name, id: a.name, memory: info.memory, storage: info.storage, reserved_memory: rm, reserved_storage: rs, accounts: 1, ha_assets: 0, api: info.api };
    {
      if (wantStreams) {
        acc.stream_detail = [...a.streams.values()].map((s) => {
          const d: Record<string, unknown> = { name: s.name, created: nsToTime(s.created) };
          if (truthy(params.get('config'))) d.config = streamConfigJson(s.cfg);
          d.state = s.stateJson().state;
          if (truthy(params.get('consumers'))) d.consumer_detail = [...s.consumers.values()].map((c) => c.info());
          return d;
        });
      }
    }
    return acc;
  }
}

function truthy(v: string | null): boolean {
  return v !== null && v !== '0' && v !== 'false';
}

const NAME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export function randomName(): string {
  const b = randomBytes(8);
  let s = '';
  for (let i = 0; i < 8; i++) s += NAME_CHARS[b[i]! % 62];
  return s;
}

function defaultMaxMemory(): number {
  const t = totalmem();
  return t > 0 ? Math.floor(t * 0.75) : 256 * 1024 * 1024;
}

function defaultMaxStore(dir: string): number {
  try {
    mkdirSync(dir, { recursive: true });
    const st = statfsSync(dir);
    return Math.floor(Number(st.bavail) * Number(st.bsize) * 0.75);
  } catch {
    return 1024 ** 4;
  }
}

/** nats-server's friendlyBytes: 17.66 GB, 512.00 MB, 100 B. */
export function friendlyBytes(n: number): string {
  const base = 1024;
  if (n < base) return `${n} B`;
  const exp = Math.floor(Math.log(n) / Math.log(base));
  const pre = 'KMGTPE'[exp - 1];
  return `${(n / Math.pow(base, exp)).toFixed(2)} ${pre}B`;
}

void freemem;
void readdirSync;
void readFileSync;
void rmSync;
void writeFileSync;
void existsSync;
void renameSync;
export { ApiError };
