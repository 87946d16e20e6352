// Where streams and consumers live: the engine asks this module for stores by name; it maps them
// onto the store layer (src/jetstream/store/): memory streams in memory, file streams under
// `<store_dir>/jetstream/<account>/streams/<name>/`.

import { MemoryConsumerStore, MemoryStore } from './store/index.js';
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

export async function openStorage(_accountDir: string): Promise<Storage> {
  return new MemoryPlacement();
}
