// Where streams and consumers live: the engine asks this module for stores by name; it maps them
// onto the store layer (src/jetstream/store/): memory streams in memory, file streams under
// `<store_dir>/jetstream/<account>/streams/<name>/`.

import { rmSync } from 'node:fs';
import {
  MemoryConsumerStore,
  MemoryStore,
  openFileStreamStore,
} from './store/index.js';
import {
  openFileConsumerStore,
  recoverAccount,
  removeConsumerDir,
  streamDirOf,
  writeConsumerMeta,
  writeStreamMeta,
} from './store/dir.js';
import type { ConsumerMeta, ConsumerStore, MsgStore, StoreLimits, StreamMeta } from './store/types.js';

export interface RecoveredStream {
  name: string;
  meta: StreamMeta;
  store: MsgStore;
  consumers: { meta: ConsumerMeta; store: ConsumerStore }[];
}

export interface Storage {
  createStream(name: string, kind: 'file' | 'memory', limits: StoreLimits, meta: StreamMeta): Promise<MsgStore>;
  writeStreamMeta(name: string, meta: StreamMeta): Promise<void>;
  removeStream(name: string): Promise<void>;
  createConsumer(stream: string, name: string, meta: ConsumerMeta): Promise<ConsumerStore>;
  writeConsumerMeta(stream: string, name: string, meta: ConsumerMeta): Promise<void>;
  removeConsumer(stream: string, name: string): Promise<void>;
  recoverStreams(): Promise<RecoveredStream[]>;
}

/** Memory-only placement (used for memory streams, and for file streams until the file layer is wired). */
class MemoryPlacement implements Storage {
  async createStream(_name: string, _kind: 'file' | 'memory', limits: StoreLimits): Promise<MsgStore> {
    return new MemoryStore(limits);
  }
  async writeStreamMeta(): Promise<void> {}
  async removeStream(): Promise<void> {}
  async createConsumer(): Promise<ConsumerStore> {
    return new MemoryConsumerStore();
  }
  async writeConsumerMeta(): Promise<void> {}
  async removeConsumer(): Promise<void> {}
  async recoverStreams(): Promise<RecoveredStream[]> {
    return [];
  }
}

/** File streams under `<account dir>/streams/<name>/` (meta.inf, msgs/, obs/<consumer>/). */
class FilePlacement implements Storage {
  private readonly memory = new MemoryPlacement();
  private readonly fileStreams = new Set<string>();

  constructor(
    private readonly accountDir: string,
    private readonly warn: (m: string) => void,
  ) {}

  async createStream(name: string, kind: 'file' | 'memory', limits: StoreLimits, meta: StreamMeta): Promise<MsgStore> {
    if (kind === 'memory') return this.memory.createStream(name, kind, limits);
    const dir = streamDirOf(this.accountDir, name);
    writeStreamMeta(dir, meta);
    const store = openFileStreamStore(dir, limits, { warn: this.warn });
    this.fileStreams.add(name);
    return store;
  }
  async writeStreamMeta(name: string, meta: StreamMeta): Promise<void> {
    if (this.fileStreams.has(name)) writeStreamMeta(streamDirOf(this.accountDir, name), meta);
  }
  async removeStream(name: string): Promise<void> {
    if (!this.fileStreams.delete(name)) return;
    rmSync(streamDirOf(this.accountDir, name), { recursive: true, force: true });
  }
  async createConsumer(stream: string, name: string, meta: ConsumerMeta): Promise<ConsumerStore> {
    if (!this.fileStreams.has(stream)) return new MemoryConsumerStore();
    const dir = streamDirOf(this.accountDir, stream);
    writeConsumerMeta(dir, meta);
    return openFileConsumerStore(dir, name, { warn: this.warn });
  }
  async writeConsumerMeta(stream: string, _name: string, meta: ConsumerMeta): Promise<void> {
    if (this.fileStreams.has(stream)) writeConsumerMeta(streamDirOf(this.accountDir, stream), meta);
  }
  async removeConsumer(stream: string, name: string): Promise<void> {
    if (this.fileStreams.has(stream)) removeConsumerDir(streamDirOf(this.accountDir, stream), name);
  }
  async recoverStreams(): Promise<RecoveredStream[]> {
    const out: RecoveredStream[] = [];
    for (const r of recoverAccount(this.accountDir, { warn: this.warn, fileStoreOptions: { warn: this.warn } })) {
      this.fileStreams.add(r.name);
      out.push({ name: r.name, meta: r.meta, store: r.store, consumers: r.consumers.map((c) => ({ meta: c.meta, store: c.store })) });
    }
    return out;
  }
}

export async function openStorage(accountDir: string, warn: (m: string) => void = () => {}): Promise<Storage> {
  return new FilePlacement(accountDir, warn);
}
