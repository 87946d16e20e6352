// JetStream storage engine: public surface for src/jetstream/.
export * from './types.js';
export { MemoryStore, MemoryConsumerStore } from './memory.js';
export { subjectMatches, nowNs } from './subject.js';
export { FileStore, openFileStreamStore, type FileStoreOptions } from './file.js';
export {
  FileConsumerStore,
  openFileConsumerStore,
  writeStreamMeta,
  readStreamMeta,
  writeConsumerMeta,
  readConsumerMeta,
  removeConsumerDir,
  recoverAccount,
  streamDirOf,
  consumerDirOf,
  writeFileAtomic,
  jsonStringifyBig,
  jsonParseBig,
  type RecoveredStream,
  type RecoveredConsumer,
  type RecoverOptions,
  type FileConsumerStoreOptions,
} from './dir.js';
export { FileAccountStorage, openFileAccountStorage, type FileAccountStorageOptions } from './placement.js';
