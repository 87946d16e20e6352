// The typed, validated server options that a config file and command-line flags produce.
// Durations are milliseconds, sizes are bytes. Defaults come from nats-server's const.go.

import type { WebsocketOptions } from './websocket.js';
import type { LeafnodeOptions } from './leafnodes.js';

export type OcspMode = 'auto' | 'must' | 'always' | 'never';

/** The top-level `ocsp` option. Absent, `true` and `{}` all mean mode `auto`. */
export interface OcspOptions {
  mode: OcspMode;
  /** `url` / `urls`: responders to use instead of the certificate's AIA, tried in order. */
  overrideUrls: string[];
}

export interface TlsCertPair {
  certFile: string;
  keyFile: string;
}

export interface TlsOptions {
  certFile?: string;
  keyFile?: string;
  caFile?: string;
  /** `certs: [{cert_file, key_file}, ...]`: several certificates, chosen by SNI. */
  certs: TlsCertPair[];
  verify: boolean;
  verifyAndMap: boolean;
  /** Handshake timeout (`timeout`, float seconds in the file). Default 2000. */
  timeoutMs: number;
  /** `handshake_first`: false, true, or a fallback delay in ms ("auto" = 50 ms). */
  handshakeFirst: false | true | { fallbackMs: number };
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher names (node:tls `ciphers`), mapped from the Go names written in the file. */
  cipherSuites?: string[];
  /** OpenSSL group names (node:tls `ecdhCurve`, e.g. 'P-256', 'X25519'), mapped from the Go names in the file. */
  curvePreferences?: string[];
  /** Hex SHA-256 of the client certificates' SPKI that are allowed. */
  pinnedCerts?: string[];
  /** `ocsp_peer`: OCSP checking of the peer's certificate chain (src/config/ocsp-peer.ts). */
  ocspPeer?: OcspPeerOptions;
}

/** `ocsp_peer` in a `tls {}` block (nats-server 2.10+ spelling and defaults). */
export interface OcspPeerOptions {
  verify: boolean;
  /** `ca_timeout`: per responder HTTP request. Default 2000. */
  caTimeoutMs: number;
  /** `allowed_clockskew`. Default 30000. */
  allowedClockSkewMs: number;
  /** `cache_ttl_when_next_update_unset`. Default 3 600 000. */
  cacheTtlWhenNextUpdateUnsetMs: number;
  warnOnly: boolean;
  unknownIsGood: boolean;
  allowWhenCaUnreachable: boolean;
}

/** Top-level `ocsp_cache` (used only when some `ocsp_peer` is on). */
export interface OcspCacheOptions {
  type: 'local' | 'none';
  /** `local_store`: directory of `cache.json`. Undefined: `<store_dir>/_rc_`, else `_rc_`. */
  localStore?: string;
  preserveRevoked: boolean;
  /** `save_interval` in ms, whole seconds, at least 1 s. Default 300 000. */
  saveIntervalMs: number;
}

export interface SubjectPermission {
  allow: string[];
  deny: string[];
}

export interface Permissions {
  publish?: SubjectPermission;
  subscribe?: SubjectPermission;
  /** `allow_responses`: dynamic publish permission to reply subjects. */
  allowResponses?: { max: number; expiresMs: number };
}

export interface UserEntry {
  user: string;
  /** The account the user belongs to (set for users of an `accounts {}` entry; absent = global). */
  account?: string;
  /** `allowed_connection_types` (upper-case: STANDARD, WEBSOCKET, LEAFNODE, MQTT, IN_PROCESS). */
  allowedConnectionTypes?: string[];
  /** Plain text or a bcrypt hash (`$2a$...`). Absent for users mapped from certificates. */
  password?: string;
  permissions?: Permissions;
}

/** An `authorization { users: [ { nkey: U... } ] }` entry (nats-server's NkeyUser). */
export interface NkeyUserEntry {
  /** The public user nkey (`U...`, 56 characters). */
  nkey: string;
  /** The account the user belongs to (absent = global). */
  account?: string;
  allowedConnectionTypes?: string[];
  permissions?: Permissions;
}

export interface AuthorizationOptions {
  token?: string;
  user?: string;
  password?: string;
  users: UserEntry[];
  /** The `users` entries that are nkey users (absent when there are none). */
  nkeys?: NkeyUserEntry[];
  /** `timeout` (float seconds in the file). */
  timeoutMs?: number;
  defaultPermissions?: Permissions;
}

/** A stream or service export of an account (`exports: [...]`, or an account JWT's exports). */
export interface ExportEntry {
  kind: 'stream' | 'service';
  /** The exported subject (may hold wildcards). */
  subject: string;
  /** Private export: only these accounts (names or account public keys) may import it. Absent: public. */
  accounts?: string[];
  /** Service exports: `response` / `response_type` (default Singleton). */
  responseType?: 'Singleton' | 'Stream' | 'Chunked';
  /** Service exports: `response_threshold` (default 2 min, as nats-server). */
  responseThresholdMs?: number;
  /** Service exports: `latency` sampling (1..100 %, or 0 = headers) and the subject results go to. */
  latency?: { sampling: number; subject: string };
  /** `account_token_position` (1-based token of the subject that must equal the importer's name). */
  accountTokenPosition?: number;
}

/** A stream or service import (`imports: [...]`, or an account JWT's imports). */
export interface ImportEntry {
  kind: 'stream' | 'service';
  /** The exporting account (name, or public key in operator mode). */
  account: string;
  /** The subject in the exporting account. */
  subject: string;
  /** Service: the local subject clients publish to (`to`, default `subject`). Stream: the local subject (`to`). */
  to?: string;
  /** Stream imports: `prefix` prepended to the exporter's subject. */
  prefix?: string;
  /** Service imports: `share` (latency tracking shares the requester's identity). */
  share?: boolean;
  /** An activation token (JWT), operator mode only. */
  token?: string;
}

/** Per-account limits (`limits {}` in the configuration, or an account JWT's limits). -1 = unlimited. */
export interface AccountLimits {
  maxConnections?: number;
  maxLeafnodes?: number;
  maxSubscriptions?: number;
  maxPayload?: number;
}

/** JetStream limits of an account (`jetstream: enabled | { max_mem, max_file, max_streams, max_consumers }`). */
export interface AccountJetStreamOptions {
  maxMemory: number;
  maxStore: number;
  maxStreams: number;
  maxConsumers: number;
  /** `max_bytes_required`: every stream must set max_bytes. */
  maxBytesRequired?: boolean;
  /** `memory_max_stream_bytes` / `store_max_stream_bytes`: largest max_bytes of one stream. */
  memoryMaxStreamBytes?: number;
  storeMaxStreamBytes?: number;
  /** `max_ack_pending` of the account's consumers. */
  maxAckPending?: number;
}

/** One destination of a subject mapping (`weight` 1..100 in weighted lists; absent: the only one, 100). */
export interface MappingEntry {
  source: string;
  destination: string;
  weight?: number;
  /** Cluster-scoped destination: used only on servers of that cluster. */
  cluster?: string;
}

/** One `accounts { NAME { ... } }` entry. */
export interface AccountConfig {
  name: string;
  /** The account's public nkey (`nkey: A...`), if configured. */
  nkey?: string;
  users: UserEntry[];
  nkeys?: NkeyUserEntry[];
  exports: ExportEntry[];
  imports: ImportEntry[];
  /** `jetstream: enabled` = all -1 limits; absent = JetStream not enabled for this account. */
  jetstream?: AccountJetStreamOptions;
  defaultPermissions?: Permissions;
  /** `mappings { src: dest }`; weighted lists give one entry per destination (same `source`). */
  mappings?: MappingEntry[];
  limits?: AccountLimits;
}

/** `cluster {}` (see src/config/cluster.ts, docs/clustering.md). */
export interface ClusterOptions {
  /** Undefined: a dynamic name is generated at start (as nats-server). */
  name?: string;
  host: string; // default 0.0.0.0
  port: number; // -1 = random; 0 = not listening (no cluster port)
  /** Route URLs to solicit, as written (`nats-route://[user:pass@]host:port`). */
  routes: string[];
  user?: string;
  password?: string;
  authTimeoutMs?: number;
  tls?: TlsOptions;
  advertise?: string;
  noAdvertise: boolean;
  connectRetries: number;
  /** Accepted (nats-server 2.10+ key) and ignored. */
  poolSize?: number;
  /** `permissions { import, export }`: interest we send (import) and accept (export). */
  permissions?: { import?: SubjectPermission; export?: SubjectPermission };
}

export interface ServerOptions {
  /** Absolute path of the config file, if one was loaded (for reload and -t). */
  configFile?: string;
  host: string; // default 0.0.0.0
  port: number; // default 4222; -1 = random (0 also accepted for embedding)
  serverName?: string;
  /** `server_tags` (lower-cased, trimmed, deduplicated, as nats-server's TagList); shown in /varz `tags`. */
  serverTags?: string[];
  httpHost?: string;
  httpPort?: number; // monitoring over http; -1 = random
  httpsPort?: number; // monitoring over https (uses the tls block)
  httpBasePath: string;
  maxPayload: number; // 1 MiB
  maxConnections: number; // 65536; a config value 0 means -1 (reject all), as nats-server
  maxControlLine: number; // 4096
  maxPending: number; // 64 MiB
  maxSubscriptions: number; // 0 = unlimited
  pingIntervalMs: number; // 2 min
  pingMax: number; // 2
  writeDeadlineMs: number; // 10 s
  authorization?: AuthorizationOptions;
  noAuthUser?: string;
  /** `accounts {}` (src/config/accounts.ts, docs/accounts.md). */
  accounts?: AccountConfig[];
  /** Top-level `mappings {}`: subject mappings of the global account `$G`. */
  mappings?: MappingEntry[];
  /** `system_account` (default `$SYS`, created automatically as nats-server does). */
  systemAccount?: string;
  /** `no_system_account: true`. */
  noSystemAccount?: boolean;
  /** Operator mode (src/config/operator.ts): `operator` JWTs, `resolver`, `resolver_preload`. */
  operator?: import('./operator.js').OperatorOptions;
  tls?: TlsOptions;
  allowNonTls: boolean;
  /** Top-level `store_dir`, or `jetstream { store_dir }`. */
  storeDir?: string;
  jetstream: boolean;
  /** `jetstream { max_memory_store, max_file_store, domain, limits }` (see src/config/jetstream.ts). */
  jetstreamConfig?: import('./jetstream.js').JetStreamConfig;
  /** Undefined when the file has no `ocsp` key (behaves as auto). */
  ocsp?: OcspOptions;
  /** Undefined when the file has no `ocsp_cache` key (local cache with defaults when needed). */
  ocspCache?: OcspCacheOptions;
  debug: boolean;
  trace: boolean;
  logtime: boolean; // default true
  logtimeUtc: boolean;
  logFile?: string;
  pidFile?: string;
  portsFileDir?: string;
  noHeaderSupport: boolean;
  lameDuckDurationMs: number; // 2 min
  lameDuckGracePeriodMs: number; // 10 s
  maxClosedClients: number; // 10000
  /** `websocket {}` (src/config/websocket.ts); absent without the block. */
  websocket?: WebsocketOptions;
  cluster?: ClusterOptions;
  /** `leafnodes {}` (src/config/leafnodes.ts). */
  leafnodes?: LeafnodeOptions;
}
