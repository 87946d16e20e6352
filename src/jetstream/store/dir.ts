// Directory-level storage: stream and consumer definitions (meta.inf + meta.sum), consumer state
// (o.dat), and recovery of everything an account has on disk.
//
//   <store_dir>/jetstream/<account>/streams/<stream>/meta.inf   {"Created":"…", <StreamConfig>}
//   <store_dir>/jetstream/<account>/streams/<stream>/meta.sum   first 16 hex chars of SHA-256(meta.inf)
//   <store_dir>/jetstream/<account>/streams/<stream>/msgs/      FileStore blocks
//   <store_dir>/jetstream/<account>/streams/<stream>/obs/<consumer>/{meta.inf,meta.sum,o.dat}
// Every file is written to a temporary name, fsynced and renamed over the old one, so a crash
// leaves either the old or the new version, never a torn one.

import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import {
  type ConsumerMeta,
  type ConsumerState,
  type ConsumerStore,
  type StoreLimits,
  type StreamMeta,
  StoreError,
  cloneConsumerState,
  limitsFromConfig,
} from './types.js';
import { FileStore, type FileStoreOptions } from './file.js';

// ---- JSON with bigint support (durations in ns can exceed 2^53) ----
const BIG = '@@tsnats-bigint@@';
/** JSON.stringify that writes bigint values as plain JSON numbers */
export function jsonStringifyBig(v: unknown): string {
  const s = JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? BIG + x.toString() : x));
  return s.replace(/"@@tsnats-bigint@@(-?\d+)"/g, '$1');
}
/** JSON.parse that returns integers beyond 2^53 as bigint */
export function jsonParseBig(text: string): unknown {
  const marked = text.replace(/([:,[]\s*)(-?\d{16,})(?=\s*[,}\]])/g, (m, pre: string, num: string) => {
    const n = Number(num);
    return Number.isSafeInteger(n) ? m : `${pre}"${BIG}${num}"`;
  });
  return JSON.parse(marked, (_k, x) => (typeof x === 'string' && x.startsWith(BIG) ? BigInt(x.slice(BIG.length)) : x));
}

function sum(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex').slice(0, 16);
}

/** crash-safe file replace: tmp + fsync + rename */
export function writeFileAtomic(path: string, data: Buffer | string): void {
  const tmp = `${path}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o640);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path);
}

function wrapIo<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof StoreError) throw e;
    throw new StoreError('io', `${what}: ${(e as Error).message}`, { cause: e });
  }
}

function writeMeta(dir: string, obj: Record<string, unknown>): void {
  wrapIo(`write ${dir}/meta.inf`, () => {
    fs.mkdirSync(dir, { recursive: true, mode: 0o750 });
    const buf = Buffer.from(jsonStringifyBig(obj));
    writeFileAtomic(join(dir, 'meta.inf'), buf);
    writeFileAtomic(join(dir, 'meta.sum'), sum(buf));
  });
}

/** reads meta.inf; throws StoreError('corrupt') when unreadable. `repaired` when meta.sum was stale and rewritten. */
function readMeta(dir: string, warn: (m: string) => void): Record<string, unknown> {
  const p = join(dir, 'meta.inf');
  let buf: Buffer;
  try {
    buf = fs.readFileSync(p);
  } catch (e) {
    throw new StoreError('corrupt', `${p}: ${(e as Error).message}`);
  }
  let obj: unknown;
  try {
    obj = jsonParseBig(buf.toString('utf8'));
  } catch (e) {
    throw new StoreError('corrupt', `${p}: not valid JSON (${(e as Error).message})`);
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new StoreError('corrupt', `${p}: not a JSON object`);
  let stored = '';
  try {
    stored = fs.readFileSync(join(dir, 'meta.sum'), 'utf8').trim();
  } catch {
    /* missing */
  }
  if (stored !== sum(buf)) {
    // meta.inf is replaced atomically, so a complete JSON object with a stale sum means a crash
    // between the two renames: keep the definition and repair the checksum.
    warn(`jetstream: ${p}: checksum ${stored ? 'mismatch' : 'missing'}, definition is complete: repaired`);
    try {
      writeFileAtomic(join(dir, 'meta.sum'), sum(buf));
    } catch {
      /* read-only: still usable */
    }
  }
  return obj as Record<string, unknown>;
}

export function streamDirOf(accountDir: string, stream: string): string {
  return join(accountDir, 'streams', stream);
}

/** writes `<streamDir>/meta.inf` (+ meta.sum) crash-safely */
export function writeStreamMeta(streamDir: string, meta: StreamMeta): void {
  writeMeta(streamDir, { Created: meta.created, ...meta.config });
}

export function readStreamMeta(streamDir: string, warn: (m: string) => void = () => {}): StreamMeta {
  const o = readMeta(streamDir, warn);
  const { Created, ...config } = o;
  return { config, created: typeof Created === 'string' ? Created : new Date(0).toISOString() };
}

export function consumerDirOf(streamDir: string, consumer: string): string {
  return join(streamDir, 'obs', consumer);
}

/** writes `<streamDir>/obs/<name>/meta.inf` (+ meta.sum) crash-safely */
export function writeConsumerMeta(streamDir: string, meta: ConsumerMeta): void {
  writeMeta(consumerDirOf(streamDir, meta.name), { Created: meta.created, Name: meta.name, ...meta.config });
}

export function readConsumerMeta(consumerDir: string, warn: (m: string) => void = () => {}): ConsumerMeta {
  const o = readMeta(consumerDir, warn);
  const { Created, Name, ...config } = o;
  if (typeof Name !== 'string' || Name === '') throw new StoreError('corrupt', `${consumerDir}/meta.inf: no Name`);
  return { name: Name, config, created: typeof Created === 'string' ? Created : new Date(0).toISOString() };
}

/** removes a consumer's directory (consumer delete) */
export function removeConsumerDir(streamDir: string, consumer: string): void {
  fs.rmSync(consumerDirOf(streamDir, consumer), { recursive: true, force: true });
}

// ---- consumer state ----
interface StateJson {
  v: 1;
  delivered: [number, number];
  ack_floor: [number, number];
  pending: Array<[number, number, string]>;
  redelivered: Array<[number, number]>;
}

function encodeState(s: ConsumerState): string {
  const j: StateJson = {
    v: 1,
    delivered: [s.delivered.consumerSeq, s.delivered.streamSeq],
    ack_floor: [s.ackFloor.consumerSeq, s.ackFloor.streamSeq],
    pending: [...s.pending].map(([sseq, p]) => [sseq, p.consumerSeq, p.ts.toString()]),
    redelivered: [...s.redelivered],
  };
  return JSON.stringify(j);
}

function decodeState(text: string): ConsumerState {
  const j = JSON.parse(text) as StateJson;
  if (j.v !== 1 || !Array.isArray(j.delivered) || !Array.isArray(j.ack_floor)) throw new Error('bad consumer state');
  return {
    delivered: { consumerSeq: j.delivered[0], streamSeq: j.delivered[1] },
    ackFloor: { consumerSeq: j.ack_floor[0], streamSeq: j.ack_floor[1] },
    pending: new Map(j.pending.map(([sseq, cseq, ts]) => [sseq, { consumerSeq: cseq, ts: BigInt(ts) }])),
    redelivered: new Map(j.redelivered),
  };
}

export interface FileConsumerStoreOptions {
  /** coalescing delay for state writes (default 100 ms: at most 10 writes/s, as nats-server) */
  coalesceMs?: number;
  warn?: (msg: string) => void;
}

/**
 * Consumer state in `obs/<name>/o.dat`, replaced atomically (tmp + rename). update() keeps a reference
 * and writes it within `coalesceMs`; flush()/close() write immediately. A crash may lose the last
 * ≤100 ms of acks: those messages are redelivered, never lost (as nats-server).
 */
export class FileConsumerStore implements ConsumerStore {
  readonly dir: string;
  private cur: ConsumerState | undefined;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private coalesceMs: number;
  private warn: (m: string) => void;

  constructor(dir: string, opts: FileConsumerStoreOptions = {}) {
    this.dir = dir;
    this.coalesceMs = opts.coalesceMs ?? 100;
    this.warn = opts.warn ?? (() => {});
    fs.mkdirSync(dir, { recursive: true, mode: 0o750 });
    const p = join(dir, 'o.dat');
    try {
      this.cur = decodeState(fs.readFileSync(p, 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.warn(`jetstream: ${p}: unreadable consumer state, starting empty (${(e as Error).message})`);
    }
    fs.rmSync(`${p}.tmp`, { force: true });
  }

  update(s: ConsumerState): void {
    if (this.closed) return; // a late update (consumer being deleted) is dropped, never thrown
    this.cur = s;
    this.dirty = true;
    if (this.coalesceMs <= 0) {
      this.writeNow();
      return;
    }
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        try {
          this.writeNow();
        } catch (e) {
          this.warn(`jetstream: ${this.dir}: consumer state write failed: ${(e as Error).message}`);
        }
      }, this.coalesceMs);
      this.timer.unref();
    }
  }

  private writeNow(): void {
    if (!this.dirty || !this.cur) return;
    const text = encodeState(this.cur);
    wrapIo(`write ${this.dir}/o.dat`, () => {
      const tmp = join(this.dir, 'o.dat.tmp');
      fs.writeFileSync(tmp, text, { mode: 0o640 });
      fs.renameSync(tmp, join(this.dir, 'o.dat'));
    });
    this.dirty = false;
  }

  state(): ConsumerState | undefined {
    return this.cur ? cloneConsumerState(this.cur) : undefined;
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.writeNow();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
  }

  /** removes the consumer's directory (meta.inf and state) */
  async destroy(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.closed = true;
    await fs.promises.rm(this.dir, { recursive: true, force: true });
  }
}

export function openFileConsumerStore(streamDir: string, consumer: string, opts?: FileConsumerStoreOptions): FileConsumerStore {
  return wrapIo(`open consumer ${consumer}`, () => new FileConsumerStore(consumerDirOf(streamDir, consumer), opts));
}

// ---- recovery ----
export interface RecoveredConsumer {
  name: string;
  dir: string;
  meta: ConsumerMeta;
  store: FileConsumerStore;
  state: ConsumerState | undefined;
}
export interface RecoveredStream {
  name: string;
  dir: string;
  meta: StreamMeta;
  store: FileStore;
  consumers: RecoveredConsumer[];
}
export interface RecoverOptions {
  warn?: (msg: string) => void;
  /** limits for a recovered stream's store (default: limitsFromConfig(meta.config)) */
  limitsOf?: (meta: StreamMeta) => StoreLimits;
  fileStoreOptions?: FileStoreOptions;
  consumerOptions?: FileConsumerStoreOptions;
}

/**
 * Lists the streams of an account directory (`<store_dir>/jetstream/<account>`) with their opened
 * stores and their consumers (definition + state). A stream or consumer whose meta.inf is missing or
 * unreadable, or whose store cannot be opened, is skipped with a warning; a corrupt tail inside a
 * store is truncated (warning) and the stream kept.
 */
export function recoverAccount(accountDir: string, opts: RecoverOptions = {}): RecoveredStream[] {
  const warn = opts.warn ?? (() => {});
  const out: RecoveredStream[] = [];
  const root = join(accountDir, 'streams');
  let names: string[];
  try {
    names = fs.readdirSync(root).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw new StoreError('io', `${root}: ${(e as Error).message}`, { cause: e });
  }
  for (const name of names) {
    const dir = join(root, name);
    try {
      if (!fs.statSync(dir).isDirectory()) continue;
    } catch {
      continue;
    }
    let meta: StreamMeta;
    try {
      meta = readStreamMeta(dir, warn);
    } catch (e) {
      warn(`jetstream: skipping stream "${name}": ${(e as Error).message}`);
      continue;
    }
    if (meta.config.name !== undefined && meta.config.name !== name) {
      warn(`jetstream: skipping stream directory "${name}": meta.inf names stream "${String(meta.config.name)}"`);
      continue;
    }
    if (meta.config.storage === 'memory') {
      warn(`jetstream: skipping stream "${name}": memory stream found on disk`);
      continue;
    }
    let store: FileStore;
    try {
      const limits = opts.limitsOf ? opts.limitsOf(meta) : limitsFromConfig(meta.config as Parameters<typeof limitsFromConfig>[0]);
      store = new FileStore(dir, limits, { ...opts.fileStoreOptions, warn });
    } catch (e) {
      warn(`jetstream: skipping stream "${name}": ${(e as Error).message}`);
      continue;
    }
    const consumers: RecoveredConsumer[] = [];
    let cnames: string[] = [];
    try {
      cnames = fs.readdirSync(join(dir, 'obs')).sort();
    } catch {
      /* none */
    }
    for (const cname of cnames) {
      const cdir = join(dir, 'obs', cname);
      try {
        if (!fs.statSync(cdir).isDirectory()) continue;
        const cmeta = readConsumerMeta(cdir, warn);
        const cstore = new FileConsumerStore(cdir, { ...opts.consumerOptions, warn });
        consumers.push({ name: cmeta.name, dir: cdir, meta: cmeta, store: cstore, state: cstore.state() });
      } catch (e) {
        warn(`jetstream: stream "${name}": skipping consumer "${cname}": ${(e as Error).message}`);
      }
    }
    out.push({ name, dir, meta, store, consumers });
  }
  return out;
}
