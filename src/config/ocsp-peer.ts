// `ocsp_peer` (inside any `tls {}` block) and the top-level `ocsp_cache`, spelled as nats-server
// 2.10+ spells them (docs/ocsp-peer.md). Parsing only: the check lives in src/ocsp/peer.ts and the
// server wiring in src/server/ocsp-peer.ts.
//
// Any tls block parser can use `parseOcspPeer` and then `ocspPeerPrerequisite` with the kind of
// connections the block serves: client kinds (client `tls`, `websocket.tls`) and a leaf node hub
// (`leafnodes.tls`) need `verify: true`; a leaf remote checks the hub's server chain and needs no
// mTLS; routes and gateways use stapling (`ocsp`) and ignore `ocsp_peer`, as nats-server does.

import type { Position } from './errors.js';
import type { ConfigNode, MapEntry } from './parser.js';
import type { OcspCacheOptions, OcspPeerOptions, TlsOptions } from './types.js';

export const DEFAULT_OCSP_PEER_CA_TIMEOUT_MS = 2_000;
export const DEFAULT_OCSP_PEER_CLOCK_SKEW_MS = 30_000;
export const DEFAULT_OCSP_PEER_TTL_UNSET_NEXT_UPDATE_MS = 3_600_000;
export const DEFAULT_OCSP_CACHE_SAVE_INTERVAL_MS = 300_000;
export const DEFAULT_OCSP_CACHE_LOCAL_STORE = '_rc_';

/** Which connections a `tls {}` block serves (decides what `ocsp_peer` requires and means). */
export type TlsBlockKind = 'client' | 'websocket' | 'leafnode' | 'leafnode_remote' | 'route' | 'gateway';

/** Reports a problem at a position (the option builder's `err`). */
export type ErrorSink = (pos: Position, reason: string) => void;

const P = 'error parsing tls peer config, ';
const C = 'error parsing OCSP peer cache config, ';

export function defaultOcspPeer(verify: boolean): OcspPeerOptions {
  return {
    verify,
    caTimeoutMs: DEFAULT_OCSP_PEER_CA_TIMEOUT_MS,
    allowedClockSkewMs: DEFAULT_OCSP_PEER_CLOCK_SKEW_MS,
    cacheTtlWhenNextUpdateUnsetMs: DEFAULT_OCSP_PEER_TTL_UNSET_NEXT_UPDATE_MS,
    warnOnly: false,
    unknownIsGood: false,
    allowWhenCaUnreachable: false,
  };
}

export function defaultOcspCache(): OcspCacheOptions {
  return { type: 'local', preserveRevoked: false, saveIntervalMs: DEFAULT_OCSP_CACHE_SAVE_INTERVAL_MS };
}

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
      return 'a datetime';
    case 'array':
      return 'an array';
    case 'map':
      return 'a map';
  }
}

/** Go duration string ("1m30s", "500ms", "2h") → ms; throws with a reason. */
function goDurationMs(s: string): number {
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
  let t = s.trim();
  let sign = 1;
  if (t.startsWith('-') || t.startsWith('+')) {
    if (t[0] === '-') sign = -1;
    t = t.slice(1);
  }
  if (t === '0') return 0;
  if (t === '') throw new Error(`time: invalid duration ${JSON.stringify(s)}`);
  let total = 0;
  let pos = 0;
  re.lastIndex = 0;
  for (let m: RegExpExecArray | null; pos < t.length && (m = re.exec(t)) !== null; pos = re.lastIndex) {
    total += Number(m[1]) * unit[m[2]!]!;
  }
  if (pos !== t.length) throw new Error(`time: invalid duration ${JSON.stringify(s)}`);
  return sign * total;
}

/** Seconds (int or float) or a Go duration string → ms, or undefined after reporting. */
function durationMs(f: MapEntry, err: ErrorSink, prefix: string): number | undefined {
  const v = f.value;
  let ms: number;
  if (v.kind === 'integer' || v.kind === 'float') ms = v.value * 1000;
  else if (v.kind === 'string') {
    try {
      ms = goDurationMs(v.value);
    } catch (x) {
      err(f.keyPos, `${prefix}conversion error: ${(x as Error).message}`);
      return undefined;
    }
  } else {
    err(f.keyPos, `${prefix}conversion error: expected '${f.key}' to be a number of seconds or a duration, got ${describe(v)}`);
    return undefined;
  }
  if (!Number.isFinite(ms) || ms < 0) {
    err(f.keyPos, `${prefix}conversion error: '${f.key}' must not be negative`);
    return undefined;
  }
  return ms;
}

function boolOf(f: MapEntry, err: ErrorSink, prefix: string): boolean | undefined {
  if (f.value.kind === 'bool') return f.value.value;
  err(f.keyPos, `${prefix}expected '${f.key}' to be a boolean, got ${describe(f.value)}`);
  return undefined;
}

/**
 * `ocsp_peer: true|false` or `ocsp_peer { ... }` (keys case-insensitive, as nats-server).
 * Returns undefined after reporting an error.
 */
export function parseOcspPeer(e: MapEntry, err: ErrorSink): OcspPeerOptions | undefined {
  const v = e.value;
  if (v.kind === 'bool') return defaultOcspPeer(v.value);
  if (v.kind !== 'map') {
    err(e.keyPos, `error parsing ocsp peer config: unsupported type ${describe(v)} (expected a boolean or a map)`);
    return undefined;
  }
  const o = defaultOcspPeer(false);
  let bad = false;
  for (const f of v.entries) {
    const k = f.key.toLowerCase();
    switch (k) {
      case 'verify':
      case 'warn_only':
      case 'unknown_is_good':
      case 'allow_when_ca_unreachable': {
        const b = boolOf(f, err, P);
        if (b === undefined) {
          bad = true;
          break;
        }
        if (k === 'verify') o.verify = b;
        else if (k === 'warn_only') o.warnOnly = b;
        else if (k === 'unknown_is_good') o.unknownIsGood = b;
        else o.allowWhenCaUnreachable = b;
        break;
      }
      case 'ca_timeout':
      case 'allowed_clockskew':
      case 'cache_ttl_when_next_update_unset': {
        const ms = durationMs(f, err, P);
        if (ms === undefined) {
          bad = true;
          break;
        }
        if (k === 'ca_timeout') o.caTimeoutMs = ms > 0 ? ms : DEFAULT_OCSP_PEER_CA_TIMEOUT_MS;
        else if (k === 'allowed_clockskew') o.allowedClockSkewMs = ms;
        else o.cacheTtlWhenNextUpdateUnsetMs = ms;
        break;
      }
      default:
        if (!f.usedAsVariable) {
          err(f.keyPos, `${P}unknown field [${JSON.stringify(f.key)}]`);
          bad = true;
        }
    }
  }
  return bad ? undefined : o;
}

/**
 * The prerequisite nats-server checks when it plugs the peer check into a listener, reported here
 * at configuration time (with the position of `ocsp_peer`). Returns the warning to log when the
 * block's kind ignores `ocsp_peer` (routes and gateways), else undefined.
 */
export function ocspPeerPrerequisite(t: TlsOptions, kind: TlsBlockKind, pos: Position, err: ErrorSink): string | undefined {
  if (!t.ocspPeer?.verify) return undefined;
  if (kind === 'route' || kind === 'gateway') {
    return `'ocsp_peer' is ignored in a ${kind === 'route' ? 'cluster' : 'gateway'} tls block (routes and gateways use 'ocsp' stapling)`;
  }
  if (kind !== 'leafnode_remote' && !t.verify && !t.verifyAndMap) {
    err(pos, 'OCSP peer verification for client connections requires TLS verify (mTLS) to be enabled');
  }
  return undefined;
}

/** Top-level `ocsp_cache: true|false|{ type, local_store, preserve_revoked, save_interval }`. */
export function parseOcspCache(e: MapEntry, err: ErrorSink): OcspCacheOptions | undefined {
  const v = e.value;
  if (v.kind === 'bool') return v.value ? defaultOcspCache() : { ...defaultOcspCache(), type: 'none' };
  if (v.kind !== 'map') {
    err(e.keyPos, `${C}unsupported type ${describe(v)} (expected a boolean or a map)`);
    return undefined;
  }
  const o = defaultOcspCache();
  let bad = false;
  for (const f of v.entries) {
    const k = f.key.toLowerCase();
    switch (k) {
      case 'type': {
        if (f.value.kind !== 'string') {
          err(f.keyPos, `${C}expected 'type' to be a string, got ${describe(f.value)}`);
          bad = true;
          break;
        }
        const t = f.value.value.toLowerCase();
        if (t === 'local' || t === 'none') o.type = t;
        else {
          err(f.keyPos, `${C}unknown type [${f.value.value}]`);
          bad = true;
        }
        break;
      }
      case 'local_store': {
        if (f.value.kind !== 'string') {
          err(f.keyPos, `${C}expected 'local_store' to be a string, got ${describe(f.value)}`);
          bad = true;
        } else if (f.value.value !== '') o.localStore = f.value.value;
        break;
      }
      case 'preserve_revoked': {
        const b = boolOf(f, err, C);
        if (b === undefined) bad = true;
        else o.preserveRevoked = b;
        break;
      }
      case 'save_interval': {
        const ms = durationMs(f, err, C);
        if (ms === undefined) {
          bad = true;
          break;
        }
        // Whole seconds, at least one (nats-server truncates and clamps the same way).
        o.saveIntervalMs = Math.max(1, Math.trunc(ms / 1000)) * 1000;
        break;
      }
      default:
        if (!f.usedAsVariable) {
          err(f.keyPos, `${C}unknown field [${JSON.stringify(f.key)}]`);
          bad = true;
        }
    }
  }
  return bad ? undefined : o;
}
