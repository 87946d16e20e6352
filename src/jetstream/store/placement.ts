// Account-level placement of stores: memory streams in memory, file streams (and their consumers)
// under `<accountDir>/streams/<name>/`. Matches the `Storage` interface of src/jetstream/storage.ts
// structurally, so the engine can use it without this folder importing the engine.

import * as fs from 'node:fs';
import { MemoryConsumerStore, MemoryStore } from './memory.js';
import { type ConsumerMeta, type ConsumerStore, type MsgStore, type StoreLimits, type StreamMeta, StoreError } from './types.js';
import { type FileStoreOptions, openFileStreamStore } from './file.js';
import {
  type FileConsumerStoreOptions,
  type RecoveredStream,
  openFileConsumerStore,
  recoverAccount,
  removeConsumerDir,
  streamDirOf,
  writeConsumerMeta,
  writeStreamMeta,
} from './dir.js';

export interface FileAccountStorageOptions {
  warn?: (msg: string) => void;
  fileStoreOptions?: FileStoreOptions;
  consumerOptions?: FileConsumerStoreOptions;
}

/** a stream or consumer name used as a directory name: refuse anything that could leave the directory */
function safeName(name: string): string {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name) || Buffer.byteLength(name) > 255) {
    throw new StoreError('bad_request', `invalid name for storage: ${JSON.stringify(name)}`);
  }
  return name;
}

export class FileAccountStorage {
  private kinds = new Map<string, 'file' | 'memory'>();
  private warn: (msg: string) => void;
  constructor(
    readonly accountDir: string,
    private opts: FileAccountStorageOptions = {},
  ) {
    this.warn = opts.warn ?? (() => {});
  }

  private dir(stream: string): string {
    return streamDirOf(this.accountDir, safeName(stream));
  }

  async createStream(name: string, kind: 'file' | 'memory', limits: StoreLimits, meta: StreamMeta): Promise<MsgStore> {
    if (kind === 'memory') {
      this.kinds.set(name, 'memory');
      return new MemoryStore(limits);
    }
    const dir = this.dir(name);
    // a leftover directory of a deleted stream must not resurrect messages
    if (fs.existsSync(dir) && !this.kinds.has(name)) fs.rmSync(dir, { recursive: true, force: true });
    writeStreamMeta(dir, meta);
    const store = openFileStreamStore(dir, limits, { warn: this.warn, ...this.opts.fileStoreOptions });
    this.kinds.set(name, 'file');
    return store;
  }

  async writeStreamMeta(name: string, meta: StreamMeta): Promise<void> {
    if (this.kinds.get(name) === 'file') writeStreamMeta(this.dir(name), meta);
  }

  async removeStream(name: string): Promise<void> {
    const k = this.kinds.get(name);
    this.kinds.delete(name);
    if (k === 'file') await fs.promises.rm(this.dir(name), { recursive: true, force: true });
  }

  async createConsumer(stream: string, name: string, meta: ConsumerMeta): Promise<ConsumerStore> {
    if (this.kinds.get(stream) !== 'file' || meta.config.mem_storage === true) return new MemoryConsumerStore();
    const sdir = this.dir(stream);
    safeName(name);
    writeConsumerMeta(sdir, meta);
    return openFileConsumerStore(sdir, name, { warn: this.warn, ...this.opts.consumerOptions });
  }

  async writeConsumerMeta(stream: string, name: string, meta: ConsumerMeta): Promise<void> {
    if (this.kinds.get(stream) !== 'file' || meta.config.mem_storage === true) return;
    safeName(name);
    writeConsumerMeta(this.dir(stream), meta);
  }

  async removeConsumer(stream: string, name: string): Promise<void> {
    if (this.kinds.get(stream) !== 'file') return;
    removeConsumerDir(this.dir(stream), safeName(name));
  }

  /** streams found on disk (file streams only: memory streams do not survive a restart) */
  async recoverStreams(): Promise<RecoveredStream[]> {
    const got = recoverAccount(this.accountDir, {
      warn: this.warn,
      fileStoreOptions: this.opts.fileStoreOptions,
      consumerOptions: this.opts.consumerOptions,
    });
    for (const s of got) this.kinds.set(s.name, 'file');
    return got;
  }
}

export function openFileAccountStorage(accountDir: string, opts?: FileAccountStorageOptions): FileAccountStorage {
  return new FileAccountStorage(accountDir, opts);
}
