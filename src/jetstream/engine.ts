// The JetStream engine of one server: one JsAccount per JetStream-enabled account (its streams,
// limits, subject index through its port, directory `<store_dir>/jetstream/<account>/`),
// accounting, advisories, recovery and shutdown.

import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statfsSync, writeFileSync, existsSync, renameSync } from 'node:fs';
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
import type { InternalSub, JsAccountLimits, JsAccountPort, JsPort } from './port.js';
import { Stream } from './stream.js';
import { openStorage, type Storage } from './storage.js';
import { subjectIsSubset, subjectsCollide } from './subject.js';
import { limitsFromConfig } from './store/types.js';

/** The global account: the only one with JetStream when no other account is configured. */
export const ACCOUNT = '$G';

/** /jsz renders this as Go's uint64(-1) (an unlimited reservation); see src/server/internal.ts. */
export const U64_MAX = '$u64max';

/**
 * One account's JetStream: its streams, limits, place on disk, API counters and its port (the
 * account's subject index: stream subjects, API, consumers' deliveries, advisories live there).
 */
export class JsAccount {
  readonly streams = new Map<string, Stream>();
  apiTotal = 0;
  apiErrors = 0;
  constructor(
    readonly name: string,
    readonly storage: Storage,
    readonly port: JsAccountPort,
    public limits: JsAccountLimits,
  ) {}

  /** Bytes stored by the account's streams of one storage kind. */
  bytes(kind: 'file' | 'memory'): number {
    let n = 0;
    for (const s of this.streams.values()) if (s.cfg.storage === kind) n += s.store.state().bytes;
    return n;
  }

  /**
   * nats-server jsAccount.limitsExceeded: usage already above the account's limit of that kind
   * (or above its max stream bytes, which 2.9.10 compares with the account's total too).
   */
  overLimit(kind: 'file' | 'memory'): boolean {
    const l = this.limits;
    const max = kind === 'memory' ? l.maxMemory : l.maxStore;
    const streamMax = (kind === 'memory' ? l.memoryMaxStreamBytes : l.storeMaxStreamBytes) ?? -1;
    if (max < 0 && streamMax <= 0) return false;
    const n = this.bytes(kind);
    return (streamMax > 0 && n > streamMax) || (max >= 0 && n > max);
  }

  /** checkStreamCfg's account part: max_bytes required, and at most the account's max stream bytes. */
  checkMaxBytes(cfg: StreamConfig): void {
    const l = this.limits;
    const limit = (cfg.storage === 'memory' ? l.memoryMaxStreamBytes : l.storeMaxStreamBytes) ?? -1;
    if (l.maxBytesRequired && cfg.max_bytes <= 0) throw Err.streamMaxBytesRequired();
    if (limit > 0 && cfg.max_bytes > limit) throw Err.streamMaxStreamBytesExceeded();
  }

  /** Sum of replicas × max_bytes of the other streams of this storage kind (tieredReservation). */
  reservation(cfg: StreamConfig): number {
    let n = 0;
    for (const s of this.streams.values()) {
      if (s.cfg.max_bytes > 0 && s.cfg.storage === cfg.storage && s.cfg.name !== cfg.name) n += Math.max(1, s.cfg.num_replicas) * s.cfg.max_bytes;
    }
    return n;
  }
}

/** An account without JetStream: its `$JS.API.>` subscriptions answer "not enabled" (10039). */
interface DisabledAccount {
  port: JsAccountPort;
  subs: InternalSub[];
}

const ACCOUNT_DIR_OK = (name: string) => name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name) && Buffer.byteLength(name) <= 255;

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
  /** Accounts of the server without JetStream (answered with 10039). */
  private readonly disabled = new Map<string, DisabledAccount>();
  /** The running syncAccounts pass. */
  private syncing: Promise<void> = Promise.resolve();
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
      mkdirSync(this.storeDir, { recursive: true, mode: 0o750 });
    } catch (e) {
      throw new Error(`Could not create storage directory - ${(e as Error).message}`);
    }
    this.api.start();
    // as nats-server at start: empty account directories (no streams) are removed
    for (const name of readdirSync(this.storeDir)) {
      try {
        rmdirSync(join(this.storeDir, name, 'streams'));
      } catch {
        /* not empty, or not there */
      }
      try {
        rmdirSync(join(this.storeDir, name));
      } catch {
        /* not empty */
      }
    }
    await this.syncAccounts(true);
  }

  /**
   * Brings the accounts in line with the server's (nats-server configAllJetStreamAccounts): each
   * account with JetStream limits gets a JsAccount (its streams recovered from
   * `<store_dir>/jetstream/<account>/`), limits of enabled ones are updated, accounts without
   * JetStream answer the API with 10039, and accounts that lost JetStream or are gone are closed
   * (their files stay). At start-up an account the server cannot hold is fatal, as nats-server.
   */
  syncAccounts(starting = false): Promise<void> {
    // one pass at a time: accounts registered while a pass recovers streams wait for it
    const run = (): Promise<void> => this.syncPass(starting);
    const p = this.syncing.then(run, run);
    this.syncing = p.catch(() => {});
    return p;
  }

  private async syncPass(starting: boolean): Promise<void> {
    if (this.stopped) return;
    const log = this.port.log;
    const specs = this.port.accounts();
    const seen = new Set<string>();
    for (const spec of specs) {
      seen.add(spec.name);
      const cur = this.accounts.get(spec.name);
      if (spec.limits === undefined) {
        if (cur) await this.disableAccount(cur);
        if (!this.disabled.has(spec.name)) {
          const port = this.port.forAccount(spec.name);
          if (port) this.disabled.set(spec.name, { port, subs: this.api.subscribeDisabled(port) });
        }
        continue;
      }
      if (cur) {
        cur.limits = { ...spec.limits };
        continue;
      }
      const port = this.port.forAccount(spec.name);
      if (!port) continue;
      try {
        this.sufficientResources(spec.limits);
        if (!ACCOUNT_DIR_OK(spec.name)) throw new Error(`account name ${JSON.stringify(spec.name)} can not be used as a storage directory`);
      } catch (e) {
        const msg = e instanceof ApiError ? `${e.description} (${e.errCode})` : (e as Error).message;
        if (starting) throw new Error(`Can't start JetStream: Error enabling jetstream on configured accounts: ${msg}`);
        log.error(`Error enabling JetStream for account "${spec.name}": ${msg}`);
        continue;
      }
      const d = this.disabled.get(spec.name);
      if (d) {
        for (const sub of d.subs) sub.unsubscribe();
        this.disabled.delete(spec.name);
      }
      const dir = join(this.storeDir, spec.name);
      try {
        // nats-server: the directory must be creatable, but it is made for real with the first stream
        const sdir = join(dir, 'streams');
        if (!existsSync(sdir)) {
          const made = !existsSync(dir);
          mkdirSync(sdir, { recursive: true, mode: 0o750 });
          rmdirSync(sdir);
          if (made) rmdirSync(dir);
        }
      } catch (e) {
        const msg = `could not create storage streams directory - ${(e as Error).message}`;
        if (starting) throw new Error(`Can't start JetStream: Error enabling jetstream on configured accounts: ${msg}`);
        log.error(`Error enabling JetStream for account "${spec.name}": ${msg}`);
        continue;
      }
      log.debug(`Enabled JetStream for account "${spec.name}"`);
      log.debug(`  Max Memory:      ${friendlyBytes(spec.limits.maxMemory)}`);
      log.debug(`  Max Storage:     ${friendlyBytes(spec.limits.maxStore)}`);
      const acc = new JsAccount(spec.name, await openStorage(dir, (m) => log.warn(m)), port, { ...spec.limits });
      this.accounts.set(spec.name, acc);
      this.api.attach(acc);
      await this.recover(acc);
    }
    for (const acc of [...this.accounts.values()]) if (!seen.has(acc.name)) await this.disableAccount(acc, true);
    for (const [name, d] of [...this.disabled]) {
      if (seen.has(name)) continue;
      for (const sub of d.subs) sub.unsubscribe();
      this.disabled.delete(name);
    }
  }

  /** Stops an account's JetStream (streams closed, files kept). */
  private async disableAccount(acc: JsAccount, gone = false): Promise<void> {
    if (this.accounts.get(acc.name) !== acc) return;
    this.accounts.delete(acc.name);
    this.api.detach(acc);
    for (const s of acc.streams.values()) await s.close(false);
    acc.streams.clear();
    this.port.log.notice(`JetStream ${gone ? 'removed' : 'disabled'} for account "${acc.name}"`);
  }

  /**
   * nats-server sufficientResources (single server): the account's limits must fit in what the
   * server has left after the stream reservations and the other accounts' limits.
   */
  private sufficientResources(l: JsAccountLimits): void {
    const mem = Math.max(0, l.maxMemory);
    const store = Math.max(0, l.maxStore);
    const u = this.usage();
    if (u.reservedMemory + mem > this.maxMemory) throw Err.memoryResources();
    if (u.reservedStorage + store > this.maxStore) throw Err.storageResources();
    let rm = 0;
    let rs = 0;
    for (const a of this.accounts.values()) {
      rm += Math.max(0, a.limits.maxMemory);
      rs += Math.max(0, a.limits.maxStore);
    }
    if (rm + mem > this.maxMemory) throw Err.memoryResources();
    if (rs + store > this.maxStore) throw Err.storageResources();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.api.stop();
    for (const d of this.disabled.values()) for (const sub of d.subs) sub.unsubscribe();
    this.disabled.clear();
    for (const acc of this.accounts.values()) {
      for (const s of acc.streams.values()) await s.close(false);
      acc.streams.clear();
    }
  }

  /** Whether the account has JetStream (events, INFO-like summaries). */
  accountEnabled(name: string): boolean {
    return this.accounts.has(name);
  }

  /** An account's JetStream (10039 when the account has none). */
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

  /** Publishes a reply (JSON) from JetStream in an account. */
  reply(port: JsAccountPort, to: string, json: string): void {
    port.publish(to, undefined, null, Buffer.from(json));
  }

  /** An advisory, published in the account it is about (only built when someone listens there). */
  advisory(port: JsAccountPort, subject: string, type: string, fields: Record<string, unknown>): void {
    if (!port.hasInterest(subject)) return;
    const body: Record<string, unknown> = { type, id: randomBytes(11).toString('base64url').slice(0, 22), timestamp: nsToTime(clockNs()), ...fields };
    if (this.domain) body.domain = this.domain;
    port.publish(subject, undefined, null, Buffer.from(goJson(body)));
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
    let n = 0;
    for (const a of this.accounts.values()) n += a.bytes(kind);
    return n >= (kind === 'memory' ? this.maxMemory : this.maxStore);
  }

  /** Stream reservations (max_bytes) of the whole server, of one storage kind. */
  private reserved(kind: 'file' | 'memory'): number {
    let n = 0;
    for (const s of this.allStreams()) if (s.cfg.max_bytes > 0 && s.cfg.storage === kind) n += s.cfg.max_bytes;
    return n;
  }

  /**
   * nats-server checkLimits (single server): the stream's max_consumers against the account's,
   * then its max_bytes (or 1 when unlimited) against the account's limit given what the account
   * already reserves (`currentRes`) and against what the server has left.
   */
  checkLimits(acc: JsAccount, cfg: Pick<StreamConfig, 'max_consumers' | 'max_bytes' | 'storage' | 'num_replicas'>, currentRes: number, offset = 0): void {
    const l = acc.limits;
    if (cfg.max_consumers > 0 && l.maxConsumers > 0 && cfg.max_consumers > l.maxConsumers) throw Err.maxConsumers();
    const add = cfg.max_bytes < 0 ? 1 : cfg.max_bytes;
    const total = add * Math.max(1, cfg.num_replicas) + offset;
    if (cfg.storage === 'memory') {
      if (l.maxMemory >= 0 && currentRes + total > l.maxMemory) throw Err.memoryResources();
      if (this.reserved('memory') + add > this.maxMemory) throw Err.memoryResources();
    } else {
      if (l.maxStore >= 0 && currentRes + total > l.maxStore) throw Err.storageResources();
      if (this.reserved('file') + add > this.maxStore) throw Err.storageResources();
    }
  }

  /** nats-server jsNonClusteredStreamLimitsCheck (on the request as sent, before defaults). */
  streamLimitsCheck(acc: JsAccount, cfg: StreamConfig): void {
    if (acc.limits.maxStreams > 0 && acc.streams.size >= acc.limits.maxStreams) throw Err.maxStreams();
    this.checkLimits(acc, cfg, acc.reservation(cfg));
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
        max_memory: acc.limits.maxMemory,
        max_storage: acc.limits.maxStore,
        max_streams: acc.limits.maxStreams,
        max_consumers: acc.limits.maxConsumers,
        max_ack_pending: acc.limits.maxAckPending ?? -1,
        memory_max_stream_bytes: acc.limits.memoryMaxStreamBytes ?? -1,
        storage_max_stream_bytes: acc.limits.storeMaxStreamBytes ?? -1,
        max_bytes_required: acc.limits.maxBytesRequired ?? false,
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
    this.checkLimits(acc, cfg, acc.reservation(cfg));
    for (const s of acc.streams.values()) {
      for (const a of s.cfg.subjects) for (const b of cfg.subjects) if (subjectsCollide(a, b)) throw Err.streamSubjectOverlap();
    }
    const created = clockNs();
    const store = await acc.storage.createStream(cfg.name, cfg.storage, limitsFromConfig(cfg), { config: streamConfigJson(cfg), created: nsToTime(created) });
    const s = new Stream(this, acc, cfg, store, created);
    acc.streams.set(cfg.name, s);
    s.subscribe();
    // as nats-server, mirrors and sources start after the create reply (their state fills in later)
    if (cfg.mirror || cfg.sources) setImmediate(() => acc.streams.get(cfg.name) === s && s.startLinks());
    for (const o of acc.streams.values()) if (o !== s) o.originAppeared(s);
    this.advisory(acc.port, `$JS.EVENT.ADVISORY.STREAM.CREATED.${cfg.name}`, 'io.nats.jetstream.advisory.v1.stream_action', { stream: cfg.name, action: 'create' });
    return s;
  }

  async updateStream(s: Stream, cfg: StreamConfig): Promise<void> {
    for (const o of s.acc.streams.values()) {
      if (o === s) continue;
      for (const a of o.cfg.subjects) for (const b of cfg.subjects) if (subjectsCollide(a, b)) throw Err.streamSubjectOverlap();
    }
    // nats-server configUpdateCheck: only the growth of max_bytes is reserved anew
    const old = s.cfg;
    const diff = Math.max(0, cfg.max_bytes - old.max_bytes);
    const excess = cfg.num_replicas - old.num_replicas;
    const offset = old.max_bytes > 0 && excess > 0 ? old.max_bytes * excess : 0;
    this.checkLimits(s.acc, { ...cfg, max_bytes: diff }, s.acc.reservation(cfg) + Math.max(1, old.num_replicas) * old.max_bytes, offset);
    const linksChanged = JSON.stringify(cfg.sources) !== JSON.stringify(s.cfg.sources);
    s.update(cfg);
    if (linksChanged) s.startLinks();
    await s.acc.storage.writeStreamMeta(s.name, { config: streamConfigJson(cfg), created: nsToTime(s.created) });
    this.advisory(s.acc.port, `$JS.EVENT.ADVISORY.STREAM.UPDATED.${cfg.name}`, 'io.nats.jetstream.advisory.v1.stream_action', { stream: cfg.name, action: 'modify' });
  }

  async deleteStream(s: Stream): Promise<void> {
    s.acc.streams.delete(s.name);
    for (const o of s.acc.streams.values()) o.originGone(s);
    await s.close(true);
    await s.acc.storage.removeStream(s.name);
    this.advisory(s.acc.port, `$JS.EVENT.ADVISORY.STREAM.DELETED.${s.name}`, 'io.nats.jetstream.advisory.v1.stream_action', { stream: s.name, action: 'delete' });
  }

  // -----------------------------------------------------------------------------------------
  // Consumers

  /** stream.addConsumer: defaults, validation, create-or-update. */
  async addConsumer(s: Stream, cfg: ConsumerConfig): Promise<Consumer> {
    const accMaxAckPending = s.acc.limits.maxAckPending ?? -1;
    consumerDefaults(cfg, this.limits, accMaxAckPending);
    checkConsumerConfig(cfg, s.cfg, this.limits, accMaxAckPending);
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
    // the stream's limit, or the account's when that is stricter (nats-server addConsumer)
    let maxc = s.cfg.max_consumers;
    const accMax = s.acc.limits.maxConsumers;
    if (maxc <= 0 || (accMax > 0 && accMax < maxc)) maxc = accMax;
    if (maxc > 0 && s.consumers.size >= maxc) throw Err.maxConsumers();
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
    this.advisory(s.acc.port, `$JS.EVENT.ADVISORY.CONSUMER.CREATED.${s.name}.${cname}`, 'io.nats.jetstream.advisory.v1.consumer_action', { stream: s.name, consumer: cname, action: 'create' });
    return c;
  }

  async deleteConsumer(s: Stream, name: string, _why: 'api' | 'inactive'): Promise<boolean> {
    const c = s.consumers.get(name);
    if (!c) return false;
    s.consumers.delete(name);
    await c.close('delete');
    await s.acc.storage.removeConsumer(s.name, name);
    this.advisory(s.acc.port, `$JS.EVENT.ADVISORY.CONSUMER.DELETED.${s.name}.${name}`, 'io.nats.jetstream.advisory.v1.consumer_action', { stream: s.name, consumer: name, action: 'delete' });
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
        accounts: this.accounts.size,
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
          // streams of other accounts than $G are labelled "<account> > <stream>" (names repeat across accounts)
          name: s.acc.name === ACCOUNT ? s.name : `${s.acc.name} > ${s.name}`,
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
      accounts: this.accounts.size,
      ha_assets: 0,
      api: { total: this.apiTotal, errors: this.apiErrors },
      streams,
      consumers: u.consumers,
      messages,
      bytes,
    };
    // nats-server Jsz: `acc=<enabled account>` picks that one; else `accounts` (implied by
    // `streams`/`consumers`) lists them, `offset`/`limit` (default 1024) paging by name
    const wantStreams = truthy(params.get('streams')) || truthy(params.get('consumers'));
    const one = this.accounts.get(params.get('acc') ?? '');
    let list: JsAccount[] = [];
    if (one) list = [one];
    else if (truthy(params.get('accounts')) || wantStreams) {
      list = [...this.accounts.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const offset = Math.max(0, Number(params.get('offset')) || 0);
      const limit = Number(params.get('limit')) || 1024;
      list = list.slice(offset);
      if (limit > 0 && limit < list.length) list = list.slice(0, limit);
    }
    if (list.length > 0) o.account_details = list.map((a) => this.accountDetail(a, params, wantStreams));
    return o;
  }

  private accountDetail(a: JsAccount, params: URLSearchParams, wantStreams: boolean): Record<string, unknown> {
    const info = this.accountInfo(a);
    // as nats-server: the account's limits, as uint64 (-1 = unlimited shows as 2^64-1)
    const u64 = (n: number): number | string => (n < 0 ? U64_MAX : n);
    const acc: Record<string, unknown> = {
      name: a.name,
      id: a.name,
      memory: info.memory,
      storage: info.storage,
      reserved_memory: u64(a.limits.maxMemory),
      reserved_storage: u64(a.limits.maxStore),
      accounts: 0,
      ha_assets: 0,
      api: info.api,
    };
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
