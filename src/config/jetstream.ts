// The `jetstream` configuration block (nats-server 2.9.10 opts.go parseJetStream): a bool, the
// strings enabled/enable/disabled/disable, or a map of limits. Sizes are bytes.

import type { MapEntry } from './parser.js';
import type { Position } from './errors.js';

/** `jetstream { ... }` settings besides store_dir (which lives in ServerOptions.storeDir). */
export interface JetStreamConfig {
  /** `max_memory_store`: bytes; undefined = 75% of RAM. */
  maxMemory?: number;
  /** `max_file_store`: bytes; undefined = 75% of the free disk at the store directory. */
  maxStore?: number;
  domain?: string;
  /** `limits { max_request_batch }` (0 = none). */
  maxRequestBatch?: number;
  /** `limits { max_ack_pending }` (0 = none). */
  maxAckPending?: number;
  /** `limits { duplicate_window }` in ms (0 = 2 min). */
  duplicateWindowMs?: number;
}

/** What the option builder lends the block parser. */
export interface JetStreamBuilder {
  err(pos: Position | undefined, reason: string): void;
  warn(pos: Position, msg: string): void;
  str(e: MapEntry): string | undefined;
  int(e: MapEntry): number | undefined;
  bool(e: MapEntry): boolean | undefined;
  duration(e: MapEntry, name?: string): number | undefined;
  /** Go's name of a value's type (int64, string, ...), for error texts. */
  goType(v: MapEntry['value']): string;
  /** Sets the store directory from inside the block (reports a duplicate top-level one). */
  storeDirInBlock(e: MapEntry, dir: string): void;
}

/** Keys nats-server accepts that tsnats takes and ignores (encryption, clustering). */
const IGNORED = new Set([
  'key', 'ek', 'encryption_key', 'prev_key', 'prev_ek', 'prev_encryption_key', 'cipher',
  'extension_hint', 'unique_tag', 'max_outstanding_catchup',
]);

/** Parses `jetstream: ...`; returns whether it is enabled and the block's settings. */
export function parseJetStream(b: JetStreamBuilder, e: MapEntry): { enabled: boolean; config: JetStreamConfig } | undefined {
  const v = e.value;
  const config: JetStreamConfig = {};
  if (v.kind === 'bool') return { enabled: v.value, config };
  if (v.kind === 'string') {
    const s = v.value.toLowerCase();
    if (s === 'enabled' || s === 'enable') return { enabled: true, config };
    if (s === 'disabled' || s === 'disable') return { enabled: false, config };
    b.err(e.keyPos, `Expected 'enabled' or 'disabled' for string value, got '${v.value}'`);
    return undefined;
  }
  if (v.kind !== 'map') {
    b.err(e.keyPos, `Expected map, bool or string to define JetStream, got ${b.goType(v)}`);
    return undefined;
  }
  let enabled = true;
  for (const f of v.entries) {
    const k = f.key.toLowerCase();
    switch (k) {
      case 'store':
      case 'store_dir':
      case 'storedir': {
        const s = b.str(f);
        if (s !== undefined && s !== '') b.storeDirInBlock(f, s);
        break;
      }
      case 'enable':
      case 'enabled': {
        const x = b.bool(f);
        if (x !== undefined) enabled = x;
        break;
      }
      case 'max_memory_store':
      case 'max_mem_store':
      case 'max_mem': {
        const n = storageSize(b, f);
        if (n !== undefined) config.maxMemory = n;
        break;
      }
      case 'max_file_store':
      case 'max_file': {
        const n = storageSize(b, f);
        if (n !== undefined) config.maxStore = n;
        break;
      }
      case 'domain': {
        const s = b.str(f);
        if (s !== undefined) config.domain = s;
        break;
      }
      case 'limits': {
        if (f.value.kind !== 'map') {
          b.err(f.keyPos, `Expected a map to define JetStreamLimits, got ${b.goType(f.value)}`);
          break;
        }
        for (const l of f.value.entries) {
          const lk = l.key.toLowerCase();
          if (lk === 'max_request_batch') config.maxRequestBatch = b.int(l);
          else if (lk === 'max_ack_pending') config.maxAckPending = b.int(l);
          else if (lk === 'duplicate_window') config.duplicateWindowMs = b.duration(l);
          else if (lk === 'max_ha_assets') b.int(l);
          else if (!l.usedAsVariable) b.err(l.keyPos, `error parsing jetstream limits: unknown field ${JSON.stringify(l.key)}`);
        }
        break;
      }
      default:
        if (IGNORED.has(k)) {
          if (k === 'key' || k === 'ek' || k === 'encryption_key') b.warn(f.keyPos, 'JetStream encryption is not supported by tsnats: stored data is not encrypted');
        } else if (!f.usedAsVariable) {
          b.err(f.keyPos, `unknown field ${JSON.stringify(f.key)}`);
        }
    }
  }
  if (config.domain !== undefined && config.domain !== '' && !/^[^.*>\s]+$/.test(config.domain)) {
    b.err(e.keyPos, `invalid domain name: ${JSON.stringify(config.domain)}`);
  }
  return { enabled, config };
}

/** nats-server getStorageSize: an integer, or a string `<n>[K|M|G|T][B]` (powers of 1024). */
function storageSize(b: JetStreamBuilder, f: MapEntry): number | undefined {
  const v = f.value;
  if (v.kind === 'integer') return v.value;
  if (v.kind !== 'string') {
    b.err(f.keyPos, `error parsing ${f.key}: must be int64 or string`);
    return undefined;
  }
  if (v.value === '') return 0;
  const m = /^(-?\d+)([KMGT])B?$/.exec(v.value);
  if (!m) {
    b.err(f.keyPos, `error parsing ${f.key}: sizes defined as strings must end in K, M, G, T`);
    return undefined;
  }
  const mult = { K: 10, M: 20, G: 30, T: 40 }[m[2] as 'K' | 'M' | 'G' | 'T'];
  return Number(m[1]) * 2 ** mult;
}
