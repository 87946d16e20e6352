// From a parsed configuration tree to typed ServerOptions, following nats-server
// 2.9.10's `processConfigFileLine` semantics (keys, aliases, types, defaults and
// error texts), with the differences documented in docs/configuration.md.

import { parseJetStream } from './jetstream.js';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { isValidPublicUserKey } from '../server/nkey.js';
import { parseClusterBlock } from './cluster.js';
import { checkAccounts, parseAccountsBlock, parseMappings } from './accounts.js';
import { checkLeafnodeAccounts, parseLeafnodesBlock } from './leafnodes.js';
import { ConfigError, formatPosition, type Position } from './errors.js';
import { goType, parseConfig, type ConfigNode, type MapEntry, type MapNode, type ParseOptions } from './parser.js';
import { ocspPeerPrerequisite, parseOcspCache, parseOcspPeer, type TlsBlockKind } from './ocsp-peer.js';
import { parseWebsocket, validateWebsocket } from './websocket.js';
import { emptyOperatorState, finishOperator, OPERATOR_KEYS, parseOperatorKey } from './operator.js';
import type {
  AuthorizationOptions,
  OcspMode,
  OcspOptions,
  Permissions,
  ServerOptions,
  SubjectPermission,
  TlsCertPair,
  TlsOptions,
  UserEntry,
  NkeyUserEntry,
} from './types.js';

// ---------------------------------------------------------------------------
// Defaults (nats-server const.go)

export const DEFAULT_PORT = 4222;
export const DEFAULT_HOST = '0.0.0.0';
export const MAX_PAYLOAD_SIZE = 1024 * 1024;
export const MAX_PAYLOAD_LIMIT = 2147483647;
export const MAX_CONTROL_LINE_SIZE = 4096;
export const MAX_PENDING_SIZE = 64 * 1024 * 1024;
export const DEFAULT_MAX_CONNECTIONS = 64 * 1024;
export const DEFAULT_PING_INTERVAL_MS = 2 * 60_000;
export const DEFAULT_PING_MAX_OUT = 2;
export const DEFAULT_WRITE_DEADLINE_MS = 10_000;
export const DEFAULT_TLS_TIMEOUT_MS = 2_000;
export const DEFAULT_LAME_DUCK_DURATION_MS = 2 * 60_000;
export const DEFAULT_LAME_DUCK_GRACE_PERIOD_MS = 10_000;
export const MIN_LAME_DUCK_DURATION_MS = 30_000;
export const DEFAULT_MAX_CLOSED_CLIENTS = 10_000;
export const DEFAULT_ALLOW_RESPONSE_MAX_MSGS = 1;
export const DEFAULT_ALLOW_RESPONSE_EXPIRATION_MS = 2 * 60_000;
/** `handshake_first: auto` waits this long for a non-TLS client before falling back. */
export const DEFAULT_TLS_HANDSHAKE_FIRST_FALLBACK_MS = 50;

/** nats-server's defaults. */
export function defaultOptions(): ServerOptions {
  return {
    host: DEFAULT_HOST,
    port: DEFAULT_PORT,
    httpBasePath: '',
    maxPayload: MAX_PAYLOAD_SIZE,
    maxConnections: DEFAULT_MAX_CONNECTIONS,
    maxControlLine: MAX_CONTROL_LINE_SIZE,
    maxPending: MAX_PENDING_SIZE,
    maxSubscriptions: 0,
    pingIntervalMs: DEFAULT_PING_INTERVAL_MS,
    pingMax: DEFAULT_PING_MAX_OUT,
    writeDeadlineMs: DEFAULT_WRITE_DEADLINE_MS,
    allowNonTls: false,
    jetstream: false,
    debug: false,
    trace: false,
    logtime: true,
    logtimeUtc: false,
    noHeaderSupport: false,
    lameDuckDurationMs: DEFAULT_LAME_DUCK_DURATION_MS,
    lameDuckGracePeriodMs: DEFAULT_LAME_DUCK_GRACE_PERIOD_MS,
    maxClosedClients: DEFAULT_MAX_CLOSED_CLIENTS,
  };
}

// ---------------------------------------------------------------------------
// Go durations

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  '\u00b5s': 1e3,
  '\u03bcs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/**
 * Parses a Go duration string ("5s", "1h30m", "500ms", "1.5s", "-1s") into
 * milliseconds. Throws an Error with Go's message (`time: invalid duration "x"`).
 */
export function parseGoDuration(input: string): number {
  const q = JSON.stringify;
  let s = input;
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s.startsWith('-');
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new Error(`time: invalid duration ${q(input)}`);
  let totalNs = 0;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const intPart = m[1] ?? '';
    const fracPart = m[2];
    if (intPart === '' && !fracPart) throw new Error(`time: invalid duration ${q(input)}`);
    s = s.slice(m[0].length);
    const u = /^[^\d.]*/.exec(s)![0];
    if (u === '') throw new Error(`time: missing unit in duration ${q(input)}`);
    const unit = UNIT_NS[u];
    if (unit === undefined) throw new Error(`time: unknown unit ${q(u)} in duration ${q(input)}`);
    s = s.slice(u.length);
    totalNs += Number(`${intPart || '0'}.${fracPart || '0'}`) * unit;
    if (totalNs > 9.223372036854775e18) throw new Error(`time: invalid duration ${q(input)}`);
  }
  const ms = totalNs / 1e6;
  return neg ? -ms : ms;
}

function trimFraction(n: number, digits: number): string {
  return n.toFixed(digits).replace(/\.?0+$/, '');
}

/** Milliseconds as Go's `Duration.String()`: "2m0s", "1h30m0s", "500ms", "1.5s". */
export function formatGoDuration(ms: number): string {
  const ns = Math.round(ms * 1e6);
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  const a = Math.abs(ns);
  if (a < 1e3) return `${sign}${a}ns`;
  if (a < 1e6) return `${sign}${trimFraction(a / 1e3, 3)}\u00b5s`;
  if (a < 1e9) return `${sign}${trimFraction(a / 1e6, 6)}ms`;
  const h = Math.floor(a / 3600e9);
  const m = Math.floor((a % 3600e9) / 60e9);
  let out = `${trimFraction((a % 60e9) / 1e9, 9)}s`;
  if (h > 0 || m > 0) out = `${m}m${out}`;
  if (h > 0) out = `${h}h${out}`;
  return sign + out;
}

// ---------------------------------------------------------------------------
// Option tables

/** The connection types `allowed_connection_types` takes (nats-server's jwt.ConnectionType*). */
const CONNECTION_TYPES: ReadonlySet<string> = new Set(['STANDARD', 'WEBSOCKET', 'LEAFNODE', 'LEAFNODE_WS', 'MQTT', 'MQTT_WS']);

/** Top-level options nats-server knows that tsnats does not implement (yet). */
export const UNSUPPORTED_OPTIONS: ReadonlySet<string> = new Set([
  'gateway',
  'mqtt',
  'client_advertise',
  'trace_verbose',
  'log_size_limit',
  'logfile_size_limit',
  'logfile_max_num',
  'syslog',
  'remote_syslog',
  'prof_port',
  'max_sub_tokens',
  'connect_error_reports',
  'reconnect_error_reports',
  'disable_sublist_cache',
  'no_sublist_cache',
  'max_traced_msg_len',
  'default_js_domain',
  // Known to newer nats-server versions.
  'write_timeout',
  'server_metadata',
  'proxy_protocol',
  'proxies',
  'feature_flags',
  'trace_headers',
  'no_fast_producer_stall',
]);

/** `tls {}` keys nats-server knows that tsnats does not implement (yet). */
const TLS_UNSUPPORTED: ReadonlySet<string> = new Set([
  'insecure',
  'connection_rate_limit',
  'cert_store',
  'cert_match_by',
  'cert_match',
  'ca_certs_match',
  'cert_match_skip_invalid',
  'allow_insecure_cipher_suites',
]);

/** Go cipher suite names (nats-server's `cipher_suites`) → OpenSSL names (node:tls). */
export const CIPHER_SUITES: Readonly<Record<string, string>> = {
  TLS_RSA_WITH_RC4_128_SHA: 'RC4-SHA',
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: 'ECDHE-ECDSA-RC4-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: 'ECDHE-RSA-RC4-SHA',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_AES_128_GCM_SHA256: 'TLS_AES_128_GCM_SHA256',
  TLS_AES_256_GCM_SHA384: 'TLS_AES_256_GCM_SHA384',
  TLS_CHACHA20_POLY1305_SHA256: 'TLS_CHACHA20_POLY1305_SHA256',
};

/** Go curve names (nats-server's `curve_preferences`) → OpenSSL group names (node:tls ecdhCurve). */
export const CURVES: Readonly<Record<string, string>> = {
  CurveP256: 'P-256',
  CurveP384: 'P-384',
  CurveP521: 'P-521',
  X25519: 'X25519',
};

const OCSP_MODES: ReadonlySet<string> = new Set(['auto', 'must', 'always', 'never']);

// ---------------------------------------------------------------------------
// Helpers


function describe(n: ConfigNode): string {
  switch (n.kind) {
    case 'string':
      return `string ${JSON.stringify(n.value)}`;
    case 'integer':
      return `integer ${n.raw}`;
    case 'float':
      return `float ${n.value}`;
    case 'bool':
      return `boolean ${n.value}`;
    case 'datetime':
      return `datetime ${n.value.toISOString()}`;
    case 'array':
      return 'an array';
    case 'map':
      return 'a map';
  }
}

/** Splits "host:port" as Go's net.SplitHostPort ("[::1]:4222", ":4222"). */
function splitHostPort(s: string): { host: string; port: string } | undefined {
  if (s.startsWith('[')) {
    const m = /^\[([^\]]*)\]:([^:]*)$/.exec(s);
    return m ? { host: m[1]!, port: m[2]! } : undefined;
  }
  const i = s.lastIndexOf(':');
  if (i < 0 || s.indexOf(':') !== i) return undefined;
  return { host: s.slice(0, i), port: s.slice(i + 1) };
}

/** nats-server's subject syntax check (tokens non-empty, '>' only last). */
export function isValidSubject(subject: string): boolean {
  if (subject === '' || /\s/.test(subject)) return false;
  const tokens = subject.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === '') return false;
    if (t === '>' && i !== tokens.length - 1) return false;
  }
  return true;
}

/** A permission entry: "subject" or "subject queue". */
function isValidPermissionSubject(s: string): boolean {
  const parts = s.trim().split(/\s+/);
  if (parts.length > 2 || s.trim() === '') return false;
  return isValidSubject(parts[0]!);
}

export interface LoadOptions extends ParseOptions {
  /**
   * Check that TLS certificate, key and CA files exist (relative to the current
   * directory, as nats-server). Default true for loadConfigFile, false for
   * parseConfigText.
   */
  checkFiles?: boolean;
}

export interface LoadedConfig {
  options: ServerOptions;
  /** `file:line:col: message` lines worth logging at startup (nats-server logs these as warnings). */
  warnings: string[];
  /** `sha256:<hex>` of the configuration file's bytes. */
  digest: string;
}

// ---------------------------------------------------------------------------
// The option builder

class Builder {
  readonly errors: ConfigError[] = [];
  readonly warnings: string[] = [];
  readonly o: ServerOptions;
  private storeDirFrom?: 'top' | 'jetstream';
  private readonly seen = new Map<string, Position>();
  /** Operator mode keys (src/config/operator.ts). */
  private readonly operatorState = emptyOperatorState();

  constructor(
    base: ServerOptions,
    private readonly checkFiles: boolean,
  ) {
    this.o = base;
  }

  err(pos: Position | undefined, reason: string): void {
    this.errors.push(new ConfigError(reason, pos));
  }

  warn(pos: Position, msg: string): void {
    this.warnings.push(`${formatPosition(pos)}: ${msg}`);
  }

  typeErr(e: MapEntry | { key: string; keyPos: Position; value: ConfigNode }, expected: string): undefined {
    this.err(e.keyPos, `expected "${e.key}" to be ${expected}, got ${describe(e.value)}`);
    return undefined;
  }

  str(e: MapEntry): string | undefined {
    return e.value.kind === 'string' ? e.value.value : this.typeErr(e, 'a string');
  }

  int(e: MapEntry): number | undefined {
    return e.value.kind === 'integer' ? e.value.value : this.typeErr(e, 'an integer');
  }

  bool(e: MapEntry): boolean | undefined {
    return e.value.kind === 'bool' ? e.value.value : this.typeErr(e, 'a boolean');
  }

  /** A duration: Go duration string, or a number of seconds (deprecated, warns). */
  duration(e: MapEntry, name = e.key): number | undefined {
    const v = e.value;
    if (v.kind === 'string') {
      try {
        return parseGoDuration(v.value);
      } catch (x) {
        this.err(e.keyPos, `error parsing ${name}: ${(x as Error).message}`);
        return undefined;
      }
    }
    if (v.kind === 'integer') {
      this.warn(e.keyPos, `invalid use of field "${name}": ${name} should be converted to a duration`);
      return v.value * 1000;
    }
    return this.typeErr(e, 'a duration (e.g. "2m", "1h30m", "500ms")');
  }

  /** Seconds as a number (int or float) or a duration string → ms (tls/authorization timeout). */
  seconds(e: MapEntry, prefix = ''): number | undefined {
    const v = e.value;
    if (v.kind === 'integer' || v.kind === 'float') return v.value * 1000;
    if (v.kind === 'string') {
      try {
        return parseGoDuration(v.value);
      } catch (x) {
        this.err(e.keyPos, `${prefix}'${e.key}' ${(x as Error).message}`);
        return undefined;
      }
    }
    this.err(e.keyPos, `${prefix}expected '${e.key}' to be a number of seconds or a duration, got ${describe(v)}`);
    return undefined;
  }

  /** `port` or `host:port` (listen, http, https). */
  hostPort(e: MapEntry): { host?: string; port: number } | undefined {
    const v = e.value;
    if (v.kind === 'integer') return { port: v.value };
    if (v.kind !== 'string') {
      this.err(e.keyPos, `expected port or host:port, got ${goType(v)}`);
      return undefined;
    }
    const hp = splitHostPort(v.value);
    if (!hp) {
      this.err(e.keyPos, `could not parse address string ${JSON.stringify(v.value)}`);
      return undefined;
    }
    if (!/^-?\d+$/.test(hp.port)) {
      this.err(e.keyPos, `could not parse port ${JSON.stringify(hp.port)}`);
      return undefined;
    }
    return { host: hp.host, port: Number(hp.port) };
  }

  portValue(e: MapEntry, port: number): number | undefined {
    if (!Number.isInteger(port) || port < -1 || port > 65535) {
      this.err(e.keyPos, `invalid port ${port} for "${e.key}" (expected -1 for random, or 0..65535)`);
      return undefined;
    }
    return port;
  }

  /** Unique-per-(block, option) bookkeeping for cross-option checks. */
  mark(name: string, pos: Position): void {
    this.seen.set(name, pos);
  }
  at(name: string): Position | undefined {
    return this.seen.get(name);
  }

  // ---- top level ---------------------------------------------------------

  top(tree: MapNode): void {
    for (const e of tree.entries) this.topEntry(e);
    this.finish();
  }

  private topEntry(e: MapEntry): void {
    const o = this.o;
    const k = e.key.toLowerCase();
    if (OPERATOR_KEYS.has(k)) return parseOperatorKey(this, this.operatorState, e);
    switch (k) {
      case 'listen': {
        const hp = this.hostPort(e);
        if (!hp) return;
        if (hp.host !== undefined) o.host = hp.host === '' ? DEFAULT_HOST : hp.host;
        const p = this.portValue(e, hp.port);
        if (p !== undefined) o.port = p === 0 ? DEFAULT_PORT : p;
        return;
      }
      case 'host':
      case 'net': {
        const s = this.str(e);
        if (s !== undefined) o.host = s === '' ? DEFAULT_HOST : s;
        return;
      }
      case 'port': {
        const n = this.int(e);
        if (n === undefined) return;
        const p = this.portValue(e, n);
        if (p !== undefined) o.port = p === 0 ? DEFAULT_PORT : p;
        return;
      }
      case 'server_name': {
        const s = this.str(e);
        if (s === undefined) return;
        if (/\s/.test(s)) this.err(e.keyPos, 'server name cannot contain spaces');
        else o.serverName = s;
        return;
      }
      case 'server_tags': {
        // A string or a list of strings (nats-server 2.9.10: informational, /varz `tags`).
        const v = e.value;
        const items = v.kind === 'array' ? v.items : [v];
        const tags = [...(o.serverTags ?? [])];
        for (const n of items) {
          if (n.kind !== 'string') {
            this.err(e.keyPos, `error parsing tags: unsupported type ${goType(n)}${v.kind === 'array' ? ' where string is expected' : ''}`);
            return;
          }
          const t = n.value.trim().toLowerCase();
          if (t !== '' && !tags.includes(t)) tags.push(t);
        }
        o.serverTags = tags;
        return;
      }
      case 'http':
      case 'http_port':
      case 'monitor_port':
      case 'https':
      case 'https_port': {
        const hp = this.hostPort(e);
        if (!hp) return;
        const p = this.portValue(e, hp.port);
        if (p === undefined) return;
        if (hp.host !== undefined) o.httpHost = hp.host === '' ? DEFAULT_HOST : hp.host;
        if (k.startsWith('https')) {
          o.httpsPort = p;
          this.mark('https', e.keyPos);
        } else {
          o.httpPort = p;
          this.mark('http', e.keyPos);
        }
        return;
      }
      case 'http_base_path': {
        const s = this.str(e);
        if (s !== undefined) o.httpBasePath = s;
        return;
      }
      case 'max_payload': {
        const n = this.int(e);
        if (n === undefined) return;
        if (n > MAX_PAYLOAD_LIMIT) this.err(e.keyPos, 'max_payload value is too big');
        else if (n < 0) this.err(e.keyPos, `max_payload can not be negative (${n})`);
        else {
          o.maxPayload = n === 0 ? MAX_PAYLOAD_SIZE : n;
          this.mark('max_payload', e.keyPos);
        }
        return;
      }
      case 'max_connections':
      case 'max_conn': {
        const n = this.int(e);
        if (n !== undefined) o.maxConnections = n === 0 ? -1 : n;
        return;
      }
      case 'max_control_line': {
        const n = this.int(e);
        if (n === undefined) return;
        if (n > MAX_PAYLOAD_LIMIT) this.err(e.keyPos, 'max_control_line value is too big');
        else if (n < 0) this.err(e.keyPos, `max_control_line can not be negative (${n})`);
        else o.maxControlLine = n === 0 ? MAX_CONTROL_LINE_SIZE : n;
        return;
      }
      case 'max_pending': {
        const n = this.int(e);
        if (n === undefined) return;
        if (n < 0) this.err(e.keyPos, `max_pending can not be negative (${n})`);
        else {
          o.maxPending = n === 0 ? MAX_PENDING_SIZE : n;
          this.mark('max_pending', e.keyPos);
        }
        return;
      }
      case 'max_subscriptions':
      case 'max_subs': {
        const n = this.int(e);
        if (n === undefined) return;
        if (n < 0) this.err(e.keyPos, `${e.key} can not be negative (${n})`);
        else o.maxSubscriptions = n;
        return;
      }
      case 'ping_interval': {
        const d = this.duration(e);
        if (d === undefined) return;
        if (d <= 0) this.err(e.keyPos, `invalid ping_interval of ${formatGoDuration(d)}, needs to be positive`);
        else o.pingIntervalMs = d;
        return;
      }
      case 'ping_max': {
        const n = this.int(e);
        if (n !== undefined) o.pingMax = n;
        return;
      }
      case 'write_deadline': {
        const d = this.duration(e);
        if (d === undefined) return;
        if (d <= 0) this.err(e.keyPos, `invalid write_deadline of ${formatGoDuration(d)}, needs to be positive`);
        else o.writeDeadlineMs = d;
        return;
      }
      case 'authorization':
        o.authorization = this.authorization(e);
        if (o.authorization) this.mark('authorization', e.keyPos);
        return;
      case 'mappings':
      case 'maps':
        o.mappings = parseMappings(this, e);
        return;
      case 'accounts':
        this.mark('accounts', e.keyPos);
        o.accounts = parseAccountsBlock(this, e, o);
        return;
      case 'system_account':
      case 'system': {
        if (e.value.kind !== 'string') {
          this.err(e.keyPos, 'system account name must be a string');
          return;
        }
        o.systemAccount = e.value.value;
        this.mark('system_account', e.keyPos);
        return;
      }
      case 'no_system_account':
      case 'no_system':
      case 'no_sys_acc': {
        const b = this.bool(e);
        if (b !== undefined) o.noSystemAccount = b;
        return;
      }
      case 'no_auth_user': {
        const s = this.str(e);
        if (s !== undefined) {
          o.noAuthUser = s;
          this.mark('no_auth_user', e.keyPos);
        }
        return;
      }
      case 'tls':
        o.tls = this.tls(e);
        return;
      case 'cluster':
        o.cluster = parseClusterBlock(this, e);
        return;
      case 'leafnodes':
      case 'leaf':
        o.leafnodes = parseLeafnodesBlock(this, e);
        return;
      case 'allow_non_tls': {
        const b = this.bool(e);
        if (b !== undefined) o.allowNonTls = b;
        return;
      }
      case 'store_dir':
      case 'storedir': {
        const s = this.str(e);
        if (s === undefined || s === '') return;
        if (this.storeDirFrom === 'jetstream') {
          this.err(e.keyPos, `Duplicate 'store_dir' configuration`);
          return;
        }
        o.storeDir = s;
        this.storeDirFrom = 'top';
        return;
      }
      case 'jetstream':
        this.jetstream(e);
        return;
      case 'ocsp':
        this.ocsp(e);
        return;
      case 'ocsp_cache': {
        const c = parseOcspCache(e, (pos, r) => this.err(pos, r));
        if (c) o.ocspCache = c;
        return;
      }
      case 'websocket':
      case 'ws':
        o.websocket = parseWebsocket(this, e);
        this.mark('websocket', e.keyPos);
        return;
      case 'debug':
      case 'trace':
      case 'logtime':
      case 'logtime_utc':
      case 'no_header_support': {
        const b = this.bool(e);
        if (b === undefined) return;
        if (k === 'debug') o.debug = b;
        else if (k === 'trace') o.trace = b;
        else if (k === 'logtime') o.logtime = b;
        else if (k === 'logtime_utc') o.logtimeUtc = b;
        else o.noHeaderSupport = b;
        return;
      }
      case 'log_file':
      case 'logfile': {
        const s = this.str(e);
        if (s !== undefined) o.logFile = s;
        return;
      }
      case 'pid_file':
      case 'pidfile': {
        const s = this.str(e);
        if (s !== undefined) o.pidFile = s;
        return;
      }
      case 'ports_file_dir': {
        const s = this.str(e);
        if (s !== undefined) o.portsFileDir = s;
        return;
      }
      case 'lame_duck_duration': {
        const d = this.duration(e);
        if (d === undefined) return;
        if (d < MIN_LAME_DUCK_DURATION_MS) {
          this.err(e.keyPos, `invalid lame_duck_duration of ${formatGoDuration(d)}, minimum is 30 seconds`);
        } else o.lameDuckDurationMs = d;
        return;
      }
      case 'lame_duck_grace_period': {
        const d = this.duration(e);
        if (d === undefined) return;
        if (d < 0) this.err(e.keyPos, 'invalid lame_duck_grace_period, needs to be positive');
        else o.lameDuckGracePeriodMs = d;
        return;
      }
      case 'max_closed_clients': {
        const n = this.int(e);
        if (n === undefined) return;
        if (n < 0) this.err(e.keyPos, `max_closed_clients can not be negative (${n})`);
        else o.maxClosedClients = n;
        return;
      }
      default:
        if (UNSUPPORTED_OPTIONS.has(k)) {
          this.err(e.keyPos, `${JSON.stringify(e.key)} is not supported by tsnats yet`);
        } else if (!e.usedAsVariable) {
          this.err(e.keyPos, `unknown field ${JSON.stringify(e.key)}`);
        }
    }
  }

  /** Checks that need the whole file. */
  private finish(): void {
    const o = this.o;
    if (this.at('system_account')) this.operatorState.systemAccount = o.systemAccount;
    finishOperator(this, this.operatorState, o, '2.9.10');
    validateWebsocket(this, o, this.at('websocket'));
    const httpAt = this.at('http');
    const httpsAt = this.at('https');
    if (httpAt && httpsAt) {
      const later = httpAt.line > httpsAt.line || (httpAt.line === httpsAt.line && httpAt.column > httpsAt.column) ? httpAt : httpsAt;
      this.err(later, `can't specify both HTTP (${o.httpPort}) and HTTPs (${o.httpsPort}) ports`);
    }
    if (o.maxPayload > o.maxPending) {
      this.err(
        this.at('max_payload') ?? this.at('max_pending'),
        `max_payload (${o.maxPayload}) cannot be higher than max_pending (${o.maxPending})`,
      );
    }
    if (o.accounts || o.systemAccount !== undefined) checkAccounts(this, o, this.at('accounts'), this.at('system_account'));
    if (o.leafnodes) checkLeafnodeAccounts((r) => this.err(undefined, r), o.leafnodes, (o.accounts ?? []).map((a) => a.name), o.systemAccount, o.noSystemAccount, o.operator !== undefined);
    const nau = this.at('no_auth_user');
    if (nau && o.noAuthUser !== undefined && o.noAuthUser !== '') {
      // nats-server 2.9.10 looks only at user/password users: an nkey user cannot be the default.
      const users = [...(o.authorization?.users ?? []), ...(o.accounts ?? []).flatMap((a) => a.users)];
      if (users.length === 0) {
        this.err(nau, `no_auth_user: ${JSON.stringify(o.noAuthUser)} present, but users are not defined`);
      } else if (!users.some((u) => u.user === o.noAuthUser)) {
        this.err(
          nau,
          `no_auth_user: ${JSON.stringify(o.noAuthUser)} not present as user in authorization block or account configuration`,
        );
      }
    }
  }

  // ---- authorization -------------------------------------------------------

  private authorization(e: MapEntry): AuthorizationOptions | undefined {
    if (e.value.kind !== 'map') return this.typeErr(e, 'a map');
    const a: AuthorizationOptions = { users: [] };
    let usersAt: Position | undefined;
    for (const f of e.value.entries) {
      switch (f.key.toLowerCase()) {
        case 'user':
        case 'username': {
          const s = this.str(f);
          if (s !== undefined) a.user = s;
          break;
        }
        case 'pass':
        case 'password': {
          const s = this.str(f);
          if (s !== undefined) a.password = s;
          break;
        }
        case 'token': {
          const s = this.str(f);
          if (s !== undefined) a.token = s;
          break;
        }
        case 'timeout': {
          const ms = this.seconds(f);
          if (ms !== undefined) a.timeoutMs = ms;
          break;
        }
        case 'users': {
          usersAt = f.keyPos;
          const nkeys: NkeyUserEntry[] = [];
          a.users = this.users(f, nkeys);
          if (nkeys.length > 0) a.nkeys = nkeys;
          break;
        }
        case 'default_permissions':
        case 'permissions': {
          const p = this.permissions(f);
          if (p) a.defaultPermissions = p;
          break;
        }
        case 'auth_callout':
        case 'auth_hook':
        case 'proxy_required':
          this.err(f.keyPos, `${JSON.stringify(f.key)} is not supported by tsnats yet`);
          break;
        default:
          if (!f.usedAsVariable) this.err(f.keyPos, `unknown field ${JSON.stringify(f.key)}`);
      }
    }
    const single = a.user !== undefined || a.password !== undefined;
    if (single && a.token !== undefined) this.err(e.keyPos, 'Cannot have a user/pass and token');
    if (usersAt && a.token !== undefined) this.err(e.keyPos, 'Can not have a token and a users array');
    if (usersAt && single) this.err(e.keyPos, 'Can not have a single user/pass and a users array');
    // nats-server checks nkeys against the user names and each other, at the block's key.
    const names = new Set(a.users.map((u) => u.user));
    for (const n of a.nkeys ?? []) {
      if (names.has(n.nkey)) this.err(e.keyPos, `Duplicate nkey ${JSON.stringify(n.nkey)} detected`);
      names.add(n.nkey);
    }
    return a;
  }

  /** The `users` array: user/password entries returned, nkey entries pushed to `nkeys`. */
  private users(f: MapEntry, nkeys: NkeyUserEntry[]): UserEntry[] {
    if (f.value.kind !== 'array') {
      this.err(f.keyPos, `Expected users field to be an array, got ${describe(f.value)}`);
      return [];
    }
    const out: UserEntry[] = [];
    const names = new Set<string>();
    for (const item of f.value.items) {
      if (item.kind !== 'map') {
        const shown = item.kind === 'string' ? item.value : item.kind === 'integer' ? item.raw : describe(item);
        this.err(item.pos, `Expected user entry to be a map/struct, got ${shown}`);
        continue;
      }
      const u: Partial<UserEntry> = {};
      let nkey: string | undefined;
      let lastKeyPos: Position = item.pos;
      for (const g of item.entries) {
        lastKeyPos = g.keyPos;
        switch (g.key.toLowerCase()) {
          case 'nkey': {
            const s = this.str(g);
            if (s !== undefined) nkey = s;
            break;
          }
          case 'user':
          case 'username': {
            const s = this.str(g);
            if (s !== undefined) u.user = s;
            break;
          }
          case 'pass':
          case 'password': {
            const s = this.str(g);
            if (s !== undefined) u.password = s;
            break;
          }
          case 'permission':
          case 'permissions':
          case 'authorization': {
            const p = this.permissions(g);
            if (p) u.permissions = p;
            break;
          }
          case 'allowed_connection_types':
          case 'connection_types':
          case 'clients': {
            const t = this.connectionTypes(g);
            if (t) u.allowedConnectionTypes = t;
            break;
          }
          case 'proxy_required':
            this.err(g.keyPos, `${JSON.stringify(g.key)} in a user entry is not supported by tsnats yet`);
            break;
          default:
            if (!g.usedAsVariable) this.err(g.keyPos, `unknown field ${JSON.stringify(g.key)}`);
        }
      }
      if (nkey !== undefined && nkey !== '') {
        // nats-server reports these at the entry's last key (Go map order: not deterministic).
        if (!isValidPublicUserKey(nkey)) this.err(lastKeyPos, 'Not a valid public nkey for a user');
        else if ((u.user !== undefined && u.user !== '') || (u.password !== undefined && u.password !== '')) {
          this.err(lastKeyPos, 'Nkey users do not take usernames or passwords');
        } else {
          const n: NkeyUserEntry = { nkey };
          if (u.permissions) n.permissions = u.permissions;
          if (u.allowedConnectionTypes) n.allowedConnectionTypes = u.allowedConnectionTypes;
          nkeys.push(n);
        }
        continue;
      }
      if (u.user === undefined || u.user === '') {
        this.err(item.pos, 'User entry requires a user');
        continue;
      }
      if (names.has(u.user)) {
        this.err(item.pos, `Duplicate user ${JSON.stringify(u.user)} detected`);
        continue;
      }
      names.add(u.user);
      const entry: UserEntry = { user: u.user };
      if (u.password !== undefined) entry.password = u.password;
      if (u.permissions) entry.permissions = u.permissions;
      if (u.allowedConnectionTypes) entry.allowedConnectionTypes = u.allowedConnectionTypes;
      out.push(entry);
    }
    return out;
  }

  /** `allowed_connection_types`: a list of STANDARD, WEBSOCKET, LEAFNODE, LEAFNODE_WS, MQTT, MQTT_WS (any case). */
  private connectionTypes(g: MapEntry): string[] | undefined {
    const items = g.value.kind === 'array' ? g.value.items : [g.value];
    const out: string[] = [];
    for (const it of items) {
      if (it.kind !== 'string') {
        this.err(g.keyPos, `error parsing allowed connection types: expected a string, got ${describe(it)}`);
        return undefined;
      }
      const t = it.value.toUpperCase();
      if (!CONNECTION_TYPES.has(t)) {
        this.err(g.keyPos, `unknown connection type ${JSON.stringify(it.value)}`);
        return undefined;
      }
      if (!out.includes(t)) out.push(t);
    }
    return out;
  }

  private permissions(f: MapEntry): Permissions | undefined {
    if (f.value.kind !== 'map') {
      this.err(f.keyPos, `Expected permissions to be a map, got ${describe(f.value)}`);
      return undefined;
    }
    const p: Permissions = {};
    for (const g of f.value.entries) {
      switch (g.key.toLowerCase()) {
        case 'publish':
        case 'pub':
        case 'import': {
          const sp = this.subjectPermission(g);
          if (sp) p.publish = sp;
          break;
        }
        case 'subscribe':
        case 'sub':
        case 'export': {
          const sp = this.subjectPermission(g);
          if (sp) p.subscribe = sp;
          break;
        }
        case 'allow_responses':
        case 'publish_allow_responses': {
          const r = this.responsePermission(g);
          if (r) p.allowResponses = r;
          break;
        }
        default:
          if (!g.usedAsVariable) this.err(g.keyPos, `Unknown field ${JSON.stringify(g.key)} parsing permissions`);
      }
    }
    return p;
  }

  private subjects(node: ConfigNode, at: Position): string[] | undefined {
    const list: ConfigNode[] = node.kind === 'array' ? node.items : [node];
    const out: string[] = [];
    for (const n of list) {
      if (n.kind !== 'string') {
        this.err(n.kind === 'array' || node.kind === 'array' ? n.pos : at, `Subject in permissions array cannot be cast to string, got ${describe(n)}`);
        return undefined;
      }
      if (!isValidPermissionSubject(n.value)) {
        this.err(n.pos, `subject ${JSON.stringify(n.value)} is not a valid subject`);
        return undefined;
      }
      out.push(n.value);
    }
    return out;
  }

  private subjectPermission(g: MapEntry): SubjectPermission | undefined {
    const v = g.value;
    if (v.kind === 'string' || v.kind === 'array') {
      const allow = this.subjects(v, g.keyPos);
      return allow ? { allow, deny: [] } : undefined;
    }
    if (v.kind !== 'map') {
      this.err(g.keyPos, `Expected subject permissions to be a subject, or array of subjects, got ${goType(v)}`);
      return undefined;
    }
    const sp: SubjectPermission = { allow: [], deny: [] };
    for (const h of v.entries) {
      const k = h.key.toLowerCase();
      if (k === 'allow' || k === 'deny') {
        const list = this.subjects(h.value, h.keyPos);
        if (list) sp[k] = list;
      } else if (!h.usedAsVariable) {
        this.err(
          h.keyPos,
          `Unknown field name ${JSON.stringify(h.key)} parsing subject permissions, only 'allow' or 'deny' are permitted`,
        );
      }
    }
    return sp;
  }

  private responsePermission(g: MapEntry): Permissions['allowResponses'] | undefined {
    const v = g.value;
    if (v.kind === 'bool') {
      return v.value ? { max: DEFAULT_ALLOW_RESPONSE_MAX_MSGS, expiresMs: DEFAULT_ALLOW_RESPONSE_EXPIRATION_MS } : undefined;
    }
    if (v.kind !== 'map') {
      this.err(g.keyPos, 'error parsing response permissions, expected a boolean or a map');
      return undefined;
    }
    const r = { max: DEFAULT_ALLOW_RESPONSE_MAX_MSGS, expiresMs: DEFAULT_ALLOW_RESPONSE_EXPIRATION_MS };
    for (const h of v.entries) {
      switch (h.key.toLowerCase()) {
        case 'max':
        case 'max_msgs':
        case 'max_messages':
        case 'max_responses': {
          const n = this.int(h);
          if (n !== undefined) r.max = n;
          break;
        }
        case 'expires':
        case 'expiration':
        case 'ttl': {
          if (h.value.kind !== 'string') {
            this.err(h.keyPos, 'error parsing expires, not a duration string');
            break;
          }
          try {
            r.expiresMs = parseGoDuration(h.value.value);
          } catch (x) {
            this.err(h.keyPos, `error parsing expires: ${(x as Error).message}`);
          }
          break;
        }
        default:
          if (!h.usedAsVariable) this.err(h.keyPos, `Unknown field ${JSON.stringify(h.key)} parsing permissions`);
      }
    }
    return r;
  }

  // ---- tls -----------------------------------------------------------------

  /** A block of another listener or of a remote (`kind`: see src/config/ocsp-peer.ts; default a route's). */
  tlsBlock(e: MapEntry, kind: TlsBlockKind = 'route'): TlsOptions | undefined {
    return this.tls(e, kind);
  }

  permissionsBlock(e: MapEntry): Permissions | undefined {
    return this.permissions(e);
  }

  usersBlock(e: MapEntry, nkeys: NkeyUserEntry[]): UserEntry[] {
    return this.users(e, nkeys);
  }

  /**
   * `kind`: the connections the block serves (what `ocsp_peer` requires, see
   * src/config/ocsp-peer.ts); a leaf remote's block is the dialling side, where a certificate is
   * optional.
   */
  tls(e: MapEntry, kind: TlsBlockKind = 'client'): TlsOptions | undefined {
    const clientSide = kind === 'leafnode_remote';
    if (e.value.kind !== 'map') return this.typeErr(e, 'a map');
    const P = 'error parsing tls config, ';
    const t: TlsOptions = {
      certs: [],
      verify: false,
      verifyAndMap: false,
      timeoutMs: DEFAULT_TLS_TIMEOUT_MS,
      handshakeFirst: false,
    };
    const files: { path: string; pos: Position; kind: 'pair' | 'ca' }[] = [];
    let ocspPeerAt: Position | undefined;
    const tbool = (f: MapEntry): boolean | undefined => {
      if (f.value.kind === 'bool') return f.value.value;
      this.err(f.keyPos, `${P}expected '${f.key}' to be a boolean`);
      return undefined;
    };
    const tstr = (f: MapEntry): string | undefined => {
      if (f.value.kind === 'string') return f.value.value;
      this.err(f.keyPos, `${P}expected '${f.key}' to be a string, got ${describe(f.value)}`);
      return undefined;
    };
    const tlist = (f: MapEntry): { value: string; pos: Position }[] | undefined => {
      if (f.value.kind !== 'array') {
        this.err(f.keyPos, `${P}expected '${f.key}' to be an array of strings, got ${describe(f.value)}`);
        return undefined;
      }
      const out: { value: string; pos: Position }[] = [];
      for (const n of f.value.items) {
        if (n.kind !== 'string') {
          this.err(n.pos, `${P}expected '${f.key}' to be an array of strings, got ${describe(n)}`);
          return undefined;
        }
        out.push({ value: n.value, pos: n.pos });
      }
      return out;
    };
    for (const f of e.value.entries) {
      const k = f.key.toLowerCase();
      switch (k) {
        case 'cert_file': {
          const s = tstr(f);
          if (s !== undefined) {
            t.certFile = s;
            files.push({ path: s, pos: f.keyPos, kind: 'pair' });
          }
          break;
        }
        case 'key_file': {
          const s = tstr(f);
          if (s !== undefined) {
            t.keyFile = s;
            files.push({ path: s, pos: f.keyPos, kind: 'pair' });
          }
          break;
        }
        case 'ca_file': {
          const s = tstr(f);
          if (s !== undefined) {
            t.caFile = s;
            files.push({ path: s, pos: f.keyPos, kind: 'ca' });
          }
          break;
        }
        case 'verify': {
          const b = tbool(f);
          if (b !== undefined) t.verify = b;
          break;
        }
        case 'verify_and_map': {
          const b = tbool(f);
          if (b !== undefined) t.verifyAndMap = b;
          break;
        }
        case 'timeout': {
          const ms = this.seconds(f, P);
          if (ms === undefined) break;
          if (ms <= 0) this.err(f.keyPos, `${P}'timeout' must be positive`);
          else t.timeoutMs = ms;
          break;
        }
        case 'handshake_first':
        case 'first':
        case 'immediate': {
          const v = f.value;
          if (v.kind === 'bool') t.handshakeFirst = v.value;
          else if (v.kind === 'string') {
            const s = v.value.toLowerCase();
            if (s === 'true' || s === 'on') t.handshakeFirst = true;
            else if (s === 'false' || s === 'off') t.handshakeFirst = false;
            else if (s === 'auto' || s === 'auto_fallback') t.handshakeFirst = { fallbackMs: DEFAULT_TLS_HANDSHAKE_FIRST_FALLBACK_MS };
            else {
              try {
                const ms = parseGoDuration(v.value);
                if (ms <= 0) this.err(f.keyPos, `${P}'${f.key}' fallback delay must be positive`);
                else t.handshakeFirst = { fallbackMs: ms };
              } catch (x) {
                this.err(f.keyPos, `${P}'${f.key}' should be a boolean, "auto" or a duration: ${(x as Error).message}`);
              }
            }
          } else this.err(f.keyPos, `${P}'${f.key}' should be a boolean, "auto" or a duration, got ${describe(v)}`);
          break;
        }
        case 'min_version': {
          const v = f.value;
          const s = v.kind === 'string' ? v.value.trim().toLowerCase() : v.kind === 'float' ? String(v.value) : undefined;
          const norm = s?.replace(/^tls\s*v?/, '');
          if (norm === '1.2') t.minVersion = 'TLSv1.2';
          else if (norm === '1.3') t.minVersion = 'TLSv1.3';
          else this.err(f.keyPos, `${P}unsupported TLS min_version ${v.kind === 'string' ? JSON.stringify(v.value) : describe(v)} (use "1.2" or "1.3")`);
          break;
        }
        case 'certs':
        case 'certificates': {
          if (f.value.kind !== 'array') {
            this.err(f.keyPos, `${P}expected '${f.key}' to be an array of {cert_file, key_file} maps`);
            break;
          }
          for (const item of f.value.items) {
            if (item.kind !== 'map') {
              this.err(item.pos, `${P}expected '${f.key}' entries to be maps, got ${describe(item)}`);
              continue;
            }
            const pair: Partial<TlsCertPair> = {};
            for (const g of item.entries) {
              const gk = g.key.toLowerCase();
              if (gk === 'cert_file' || gk === 'key_file') {
                const s = tstr(g);
                if (s === undefined) continue;
                if (gk === 'cert_file') pair.certFile = s;
                else pair.keyFile = s;
                files.push({ path: s, pos: g.keyPos, kind: 'pair' });
              } else if (!g.usedAsVariable) {
                this.err(g.keyPos, `${P}unknown field [${JSON.stringify(g.key)}]`);
              }
            }
            if (pair.certFile === undefined) this.err(item.pos, `missing 'cert_file' in TLS configuration`);
            else if (pair.keyFile === undefined) this.err(item.pos, `missing 'key_file' in TLS configuration`);
            else t.certs.push({ certFile: pair.certFile, keyFile: pair.keyFile });
          }
          break;
        }
        case 'cipher_suites': {
          const list = tlist(f);
          if (!list) break;
          const out: string[] = [];
          for (const c of list) {
            const mapped = CIPHER_SUITES[c.value];
            if (mapped === undefined) this.err(c.pos, `unrecognized cipher ${c.value}`);
            else if (!out.includes(mapped)) out.push(mapped);
          }
          t.cipherSuites = out;
          break;
        }
        case 'curve_preferences': {
          const list = tlist(f);
          if (!list) break;
          const out: string[] = [];
          for (const c of list) {
            const mapped = CURVES[c.value];
            if (mapped === undefined) this.err(c.pos, `unrecognized curve preference ${c.value}`);
            else out.push(mapped);
          }
          t.curvePreferences = out;
          break;
        }
        case 'pinned_certs': {
          if (f.value.kind !== 'array') {
            this.err(f.keyPos, `${P}expected 'pinned_certs' to be a list of hex-encoded sha256 of DER encoded SubjectPublicKeyInfo`);
            break;
          }
          const out: string[] = [];
          for (const n of f.value.items) {
            const s = n.kind === 'string' ? n.value : n.kind === 'integer' ? n.raw : describe(n);
            if (n.kind !== 'string' || !/^[0-9a-fA-F]{64}$/.test(n.value)) {
              this.err(n.pos, `${P}'pinned_certs' key ${s} does not look like hex-encoded sha256 of DER encoded SubjectPublicKeyInfo`);
            } else out.push(n.value.toLowerCase());
          }
          t.pinnedCerts = out;
          break;
        }
        case 'verify_cert_and_check_known_urls':
          this.err(f.keyPos, 'verify_cert_and_check_known_urls not supported in this context');
          break;
        case 'ocsp_peer': {
          const p = parseOcspPeer(f, (pos, r) => this.err(pos, r));
          if (p) {
            t.ocspPeer = p;
            ocspPeerAt = f.keyPos;
          }
          break;
        }
        default:
          if (TLS_UNSUPPORTED.has(k)) this.err(f.keyPos, `${P}'${f.key}' is not supported by tsnats yet`);
          else if (!f.usedAsVariable) this.err(f.keyPos, `${P}unknown field [${JSON.stringify(f.key)}]`);
      }
    }
    if (t.verifyAndMap) t.verify = true;
    if (ocspPeerAt) {
      const w = ocspPeerPrerequisite(t, kind, ocspPeerAt, (pos, r) => this.err(pos, r));
      if (w) this.warn(ocspPeerAt, w);
    }
    if (t.certFile !== undefined && t.keyFile === undefined) {
      this.err(e.keyPos, `missing 'key_file' in TLS configuration`);
    } else if (t.keyFile !== undefined && t.certFile === undefined) {
      this.err(e.keyPos, `missing 'cert_file' in TLS configuration`);
    } else if (t.certFile === undefined && t.certs.length === 0 && !clientSide) {
      this.err(e.keyPos, `missing 'cert_file' in TLS configuration`);
    }
    if (this.checkFiles) {
      for (const f of files) {
        let ok = false;
        try {
          ok = statSync(f.path).isFile();
        } catch {
          ok = false;
        }
        if (ok) continue;
        const why = `open ${f.path}: no such file or directory`;
        this.err(f.pos, f.kind === 'pair' ? `error parsing X509 certificate/key pair: ${why}` : why);
      }
    }
    return t;
  }

  // ---- jetstream / ocsp ----------------------------------------------------

  private jetstream(e: MapEntry): void {
    const r = parseJetStream(
      {
        err: (p, m) => this.err(p, m),
        warn: (p, m) => this.warn(p, m),
        str: (f) => this.str(f),
        int: (f) => this.int(f),
        bool: (f) => this.bool(f),
        duration: (f, n) => this.duration(f, n),
        goType,
        storeDirInBlock: (f, dir) => {
          if (this.storeDirFrom === 'top') return this.err(f.keyPos, `Duplicate 'store_dir' configuration`);
          this.o.storeDir = dir;
          this.storeDirFrom = 'jetstream';
        },
      },
      e,
    );
    if (!r) return;
    this.o.jetstream = r.enabled;
    this.o.jetstreamConfig = r.config;
  }

  private ocsp(e: MapEntry): void {
    const P = 'error parsing ocsp config: ';
    const v = e.value;
    if (v.kind === 'bool') {
      this.o.ocsp = { mode: v.value ? 'auto' : 'never', overrideUrls: [] };
      return;
    }
    if (v.kind !== 'map') {
      this.err(e.keyPos, `${P}unsupported type ${goType(v)}`);
      return;
    }
    const oc: OcspOptions = { mode: 'auto', overrideUrls: [] };
    const addUrl = (n: ConfigNode, pos: Position): void => {
      if (n.kind !== 'string') {
        this.err(pos, `${P}expected a responder URL string, got ${describe(n)}`);
        return;
      }
      let ok = false;
      try {
        const u = new URL(n.value);
        ok = u.protocol === 'http:' || u.protocol === 'https:';
      } catch {
        ok = false;
      }
      if (!ok) this.err(pos, `${P}invalid responder URL ${JSON.stringify(n.value)} (expected http:// or https://)`);
      else oc.overrideUrls.push(n.value);
    };
    let bad = false;
    // Keys inside `ocsp {}` are case-sensitive in nats-server.
    for (const f of v.entries) {
      switch (f.key) {
        case 'mode': {
          if (f.value.kind !== 'string') {
            this.err(f.keyPos, `${P}expected 'mode' to be a string, got ${describe(f.value)}`);
            bad = true;
            break;
          }
          const m = f.value.value.toLowerCase();
          if (!OCSP_MODES.has(m)) {
            this.err(f.keyPos, `${P}unsupported ocsp mode ${JSON.stringify(f.value.value)} (expected auto, must, always or never)`);
            bad = true;
          } else oc.mode = m as OcspMode;
          break;
        }
        case 'url':
          addUrl(f.value, f.keyPos);
          break;
        case 'urls':
          if (f.value.kind !== 'array') {
            this.err(f.keyPos, `${P}expected 'urls' to be an array of responder URLs, got ${describe(f.value)}`);
            bad = true;
            break;
          }
          for (const n of f.value.items) addUrl(n, n.pos);
          break;
        default:
          if (!f.usedAsVariable) {
            this.err(f.keyPos, `${P}unsupported field ${JSON.stringify(f.key)}`);
            bad = true;
          }
      }
    }
    if (!bad) this.o.ocsp = oc;
  }
}

// ---------------------------------------------------------------------------
// Public entry points

/**
 * Turns a parsed tree into ServerOptions (on top of `base`, default
 * {@link defaultOptions}). Throws a {@link ConfigError} listing every problem.
 */
export function optionsFromConfig(
  tree: MapNode,
  opts: { checkFiles?: boolean; base?: ServerOptions } = {},
): { options: ServerOptions; warnings: string[] } {
  const b = new Builder(opts.base ? structuredClone(opts.base) : defaultOptions(), opts.checkFiles ?? false);
  b.top(tree);
  if (b.errors.length > 0) throw ConfigError.combine(b.errors);
  return { options: b.o, warnings: b.warnings };
}

/** `sha256:<hex>` of a configuration file's bytes. */
export function configDigest(data: string | Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * Parses configuration text (`file` names it in error positions and anchors
 * relative includes) into options. Throws {@link ConfigError}.
 */
export function parseConfigText(text: string, file = '<config>', opts: LoadOptions = {}): LoadedConfig {
  const tree = parseConfig(text, file, opts);
  const { options, warnings } = optionsFromConfig(tree, { checkFiles: opts.checkFiles ?? false });
  return { options, warnings, digest: configDigest(text) };
}

/**
 * Reads, parses and validates a configuration file. `options.configFile` is its
 * absolute path. Throws {@link ConfigError} (for an unreadable file too).
 */
export function loadConfigFile(path: string, opts: LoadOptions = {}): LoadedConfig {
  let data: Buffer;
  try {
    data = opts.readFile ? Buffer.from(opts.readFile(path), 'utf8') : readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT'
        ? `open ${path}: no such file or directory`
        : err.code === 'EISDIR'
          ? `read ${path}: is a directory`
          : `open ${path}: ${err.message}`;
    throw new ConfigError(`error opening config file: ${why}`);
  }
  const text = data.toString('utf8');
  const tree = parseConfig(text, path, opts);
  const { options, warnings } = optionsFromConfig(tree, { checkFiles: opts.checkFiles ?? true });
  options.configFile = resolve(path);
  return { options, warnings, digest: configDigest(data) };
}
