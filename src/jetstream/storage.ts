// Where streams and consumers live: the engine asks this module for stores by name; it maps them
// onto the store layer (src/jetstream/store/): memory streams in memory, file streams under
// `<store_dir>/jetstream/<account>/streams/<name>/`.

import { FileAccountStorage } from './store/placement.js';
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

/** Streams and consumers of one account on disk (file) or in memory (src/jetstream/store/placement.ts). */
export async function openStorage(accountDir: string, warn: (m: string) => void = () => {}): Promise<Storage> {
  return new FileAccountStorage(accountDir, { warn });
}
