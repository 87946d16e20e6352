// The JetStream storage interface: what streams and consumers (src/jetstream/) code against.
// Two implementations: MemoryStore (memory.ts) and FileStore (file.ts). Nothing here imports
// from src/server/. Semantics follow nats-server 2.9.10 (store.go, memstore.go, filestore.go).

/** One stored message. `hdr` is the raw `NATS/1.0\r\n...\r\n\r\n` block or null. */
export interface StoredMsg {
  seq: number;
  subject: string;
  hdr: Buffer | null;
  data: Buffer;
  /** nanoseconds since the Unix epoch */
  ts: bigint;
}

/** Limits enforced by the store. -1 (or 0n for maxAgeNs) = unlimited, as in StreamConfig. 0 is also unlimited for the numeric ones. */
export interface StoreLimits {
  maxMsgs: number;
  maxBytes: number;
  maxAgeNs: bigint;
  maxMsgsPerSubject: number;
  maxMsgSize: number;
  discard: 'old' | 'new';
  discardNewPerSubject: boolean;
}

export const UNLIMITED: StoreLimits = Object.freeze({
  maxMsgs: -1,
  maxBytes: -1,
  maxAgeNs: 0n,
  maxMsgsPerSubject: -1,
  maxMsgSize: -1,
  discard: 'old',
  discardNewPerSubject: false,
}) as StoreLimits;

/** Builds StoreLimits from a StreamConfig as it appears in the JSON API (snake_case, max_age in ns). */
export function limitsFromConfig(cfg: {
  max_msgs?: number;
  max_bytes?: number;
  max_age?: number | bigint;
  max_msgs_per_subject?: number;
  max_msg_size?: number;
  discard?: string;
  discard_new_per_subject?: boolean;
}): StoreLimits {
  return {
    maxMsgs: cfg.max_msgs ?? -1,
    maxBytes: cfg.max_bytes ?? -1,
    maxAgeNs: BigInt(cfg.max_age ?? 0),
    maxMsgsPerSubject: cfg.max_msgs_per_subject ?? -1,
    maxMsgSize: cfg.max_msg_size ?? -1,
    discard: cfg.discard === 'new' ? 'new' : 'old',
    discardNewPerSubject: cfg.discard_new_per_subject === true,
  };
}

/**
 * Store state, as StreamInfo.state reports it. Empty new store: firstSeq 0, lastSeq 0.
 * Emptied store (purge, expiry, removes): firstSeq = lastSeq + 1, firstTs 0n, lastTs kept.
 * `bytes` is nats-server's accounting size (see msgSize()).
 */
export interface StoreState {
  msgs: number;
  bytes: number;
  firstSeq: number;
  firstTs: bigint;
  lastSeq: number;
  lastTs: bigint;
  /** interior gaps: sequences in (firstSeq, lastSeq) that are not stored */
  numDeleted: number;
  numSubjects: number;
}

export type StoreErrorCode =
  | 'max_msgs'
  | 'max_bytes'
  | 'max_msg_size'
  | 'max_msgs_per_subject'
  | 'store_closed'
  | 'io'
  | 'not_found'
  | 'corrupt'
  | 'bad_request';

/** Error texts match nats-server's (ErrMaxMsgs, ErrMaxBytes, ...): the stream layer may put `message` in API errors / PubAck errors. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? STORE_ERROR_TEXT[code], options);
    this.name = 'StoreError';
    this.code = code;
  }
}

export const STORE_ERROR_TEXT: Record<StoreErrorCode, string> = {
  max_msgs: 'maximum messages exceeded',
  max_bytes: 'maximum bytes exceeded',
  max_msg_size: 'message size exceeds maximum allowed',
  max_msgs_per_subject: 'maximum messages per subject exceeded',
  store_closed: 'store is closed',
  io: 'i/o error',
  not_found: 'no message found',
  corrupt: 'corrupt state',
  bad_request: 'bad request',
};

/** Accounting size of one message (StreamInfo.state.bytes), as nats-server computes it. */
export function fileMsgSize(subject: string, hdr: Buffer | null, data: Buffer): number {
  const slen = Buffer.byteLength(subject);
  if (!hdr || hdr.length === 0) return 22 + slen + data.length + 8;
  return 22 + slen + 4 + hdr.length + data.length + 8;
}
export function memMsgSize(subject: string, hdr: Buffer | null, data: Buffer): number {
  return Buffer.byteLength(subject) + (hdr ? hdr.length : 0) + data.length + 16;
}

export interface PurgeOptions {
  /** only messages whose subject matches this filter (wildcards allowed) */
  subject?: string;
  /** purge messages with seq < this (exclusive), as the API's `seq` */
  seq?: number;
  /** keep the newest n (matching the filter) */
  keep?: number;
}

export interface MsgStore {
  readonly kind: 'file' | 'memory';
  /**
   * Appends; the message is written to the OS (survives kill -9 of the process) before this returns.
   * Throws StoreError when discard:new limits (or max_msg_size) reject it, or 'io' when the write fails
   * (nothing is then stored; the sequence is not consumed).
   */
  store(subject: string, hdr: Buffer | null, data: Buffer, ts?: bigint): { seq: number; ts: bigint };
  /** Moves the sequence forward without a message (mirrors/sources): next store() gets seq+1. Returns seq. */
  skipTo(seq: number): void;
  load(seq: number): StoredMsg | undefined;
  /** first message with seq >= fromSeq whose subject matches filter (NATS wildcards; '' or '>' = all) */
  loadNext(filter: string, fromSeq: number): StoredMsg | undefined;
  /** newest message whose subject matches filter */
  loadLast(filter: string): StoredMsg | undefined;
  /**
   * removes one message; false when not stored. Durable before returning (FileStore).
   * erase: also overwrite its bytes on disk with random data (STREAM.MSG.DELETE without no_erase).
   */
  remove(seq: number, erase?: boolean): boolean;
  /** nats-server purge semantics: returns the number of messages removed. */
  purge(opts?: PurgeOptions): number;
  /** removes every message with seq < seq; if seq > lastSeq+1 the stream moves its sequence to seq-1 (empty). */
  compact(seq: number): number;
  state(): StoreState;
  /** subject → count for subjects matching filter ('' or '>' = all) */
  subjectsState(filter: string): Map<string, number>;
  /** messages with seq >= fromSeq matching filter; with lastPerSubject only the newest per subject counts */
  numPending(filter: string, fromSeq: number, lastPerSubject: boolean): number;
  /** first seq whose ts >= ts (deliver policy by_start_time); lastSeq+1 when none */
  seqFromTime(ts: bigint): number;
  /** interior deleted sequences, sorted (StreamInfo `deleted` / `num_deleted`) */
  deleted(): number[];
  /** applies new limits (stream update); enforces them immediately (discard old evictions, age timer) */
  updateLimits(l: StoreLimits): void;
  /** called for each message removed by limits or age expiry (not for remove()/purge()/compact()) */
  onRemove?: (seq: number, subject: string) => void;
  /** fsync (FileStore); resolves immediately for MemoryStore */
  flush(): Promise<void>;
  /** flush + release resources; later calls throw 'store_closed' */
  close(): Promise<void>;
  /** close + delete all files (stream delete) */
  destroy(): Promise<void>;
}

export interface SeqPair {
  consumerSeq: number;
  streamSeq: number;
}

export interface ConsumerState {
  delivered: SeqPair;
  ackFloor: SeqPair;
  /** streamSeq → delivery info of messages delivered and not yet acked */
  pending: Map<number, { consumerSeq: number; ts: bigint }>;
  /** streamSeq → delivery count (only entries with count > 1) */
  redelivered: Map<number, number>;
}

export interface ConsumerStore {
  /** Records the state. FileConsumerStore coalesces writes (≤ 10/s, like nats-server) and writes on close. Ignored after close(). */
  update(s: ConsumerState): void;
  state(): ConsumerState | undefined;
  /** writes any coalesced state now */
  flush(): Promise<void>;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

/** Stream definition as persisted in meta.inf: the StreamConfig JSON plus creation time (RFC 3339). */
export interface StreamMeta {
  config: Record<string, unknown>;
  created: string;
}
export interface ConsumerMeta {
  name: string;
  config: Record<string, unknown>;
  created: string;
}

export function cloneConsumerState(s: ConsumerState): ConsumerState {
  return {
    delivered: { ...s.delivered },
    ackFloor: { ...s.ackFloor },
    pending: new Map([...s.pending].map(([k, v]) => [k, { ...v }])),
    redelivered: new Map(s.redelivered),
  };
}
