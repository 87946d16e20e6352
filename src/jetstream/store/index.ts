// JetStream storage engine: public surface for src/jetstream/.
export * from './types.js';
export { MemoryStore, MemoryConsumerStore } from './memory.js';
export { subjectMatches, nowNs } from './subject.js';
