// The `cluster {}` block and the cluster flags (nats-server 2.9.10's parseCluster and
// --cluster/--routes/... semantics). See docs/clustering.md.

import { ConfigError, type Position } from './errors.js';
import type { TlsBlockKind } from './ocsp-peer.js';
import type { MapEntry } from './parser.js';
import type { ClusterOptions, Permissions, ServerOptions, TlsOptions } from './types.js';

/** nats-server's defaults for the cluster port. */
export const DEFAULT_CLUSTER_HOST = '0.0.0.0';
export const DEFAULT_ROUTE_AUTH_TIMEOUT_MS = 2_000;

/** What the cluster parser needs from the option builder (src/config/options.ts). */
export interface ClusterBuilder {
  err(pos: Position | undefined, reason: string): void;
  warn(pos: Position, msg: string): void;
  str(e: MapEntry): string | undefined;
  int(e: MapEntry): number | undefined;
  bool(e: MapEntry): boolean | undefined;
  seconds(e: MapEntry, prefix?: string): number | undefined;
  hostPort(e: MapEntry): { host?: string; port: number } | undefined;
  portValue(e: MapEntry, port: number): number | undefined;
  tlsBlock(e: MapEntry, kind?: TlsBlockKind): TlsOptions | undefined;
  permissionsBlock(e: MapEntry): Permissions | undefined;
}

export function emptyCluster(): ClusterOptions {
  return { host: DEFAULT_CLUSTER_HOST, port: 0, routes: [], noAdvertise: false, connectRetries: 0 };
}

/** A route URL as nats-server accepts it (`nats-route://[user:pass@]host:port`, also `nats://`). */
export function parseRouteUrl(s: string): URL | string {
  const t = s.trim();
  let u: URL;
  try {
    u = new URL(t);
  } catch {
    return `error parsing route url [${JSON.stringify(t)}]`;
  }
  if (u.hostname === '') return `error parsing route url [${JSON.stringify(t)}]: missing host`;
  if (u.port === '') return `error parsing route url [${JSON.stringify(t)}]: missing port`;
  return u;
}

/** `cluster { ... }` → ClusterOptions (errors and warnings go to the builder). */
export function parseClusterBlock(b: ClusterBuilder, e: MapEntry): ClusterOptions | undefined {
  if (e.value.kind !== 'map') {
    b.err(e.keyPos, `Expected map to define cluster, got ${e.value.kind}`);
    return undefined;
  }
  const c = emptyCluster();
  for (const f of e.value.entries) {
    const k = f.key.toLowerCase();
    switch (k) {
      case 'name': {
        const s = b.str(f);
        if (s === undefined) break;
        if (/\s/.test(s)) b.err(f.keyPos, 'cluster name cannot contain spaces or new lines');
        else c.name = s;
        break;
      }
      case 'listen': {
        const hp = b.hostPort(f);
        if (!hp) break;
        if (hp.host !== undefined) c.host = hp.host === '' ? DEFAULT_CLUSTER_HOST : hp.host;
        const p = b.portValue(f, hp.port);
        if (p !== undefined) c.port = p;
        break;
      }
      case 'port': {
        const n = b.int(f);
        if (n === undefined) break;
        const p = b.portValue(f, n);
        if (p !== undefined) c.port = p;
        break;
      }
      case 'host':
      case 'net': {
        const s = b.str(f);
        if (s !== undefined) c.host = s === '' ? DEFAULT_CLUSTER_HOST : s;
        break;
      }
      case 'authorization': {
        if (f.value.kind !== 'map') {
          b.err(f.keyPos, `expected "authorization" to be a map`);
          break;
        }
        for (const g of f.value.entries) {
          switch (g.key.toLowerCase()) {
            case 'user':
            case 'username': {
              const s = b.str(g);
              if (s !== undefined) c.user = s;
              break;
            }
            case 'pass':
            case 'password': {
              const s = b.str(g);
              if (s !== undefined) c.password = s;
              break;
            }
            case 'timeout': {
              const ms = b.seconds(g);
              if (ms !== undefined) c.authTimeoutMs = ms;
              break;
            }
            case 'users':
              b.err(f.keyPos, 'Cluster authorization does not allow multiple users');
              break;
            case 'token':
              b.err(f.keyPos, 'Cluster authorization does not support tokens');
              break;
            case 'permissions':
            case 'default_permissions':
              b.err(g.keyPos, `"${g.key}" in cluster authorization is not supported by tsnats yet`);
              break;
            default:
              if (!g.usedAsVariable) b.err(g.keyPos, `unknown field ${JSON.stringify(g.key)}`);
          }
        }
        break;
      }
      case 'routes': {
        if (f.value.kind !== 'array') {
          b.err(f.keyPos, `expected "routes" to be an array of URLs`);
          break;
        }
        const seen = new Set<string>();
        for (const item of f.value.items) {
          if (item.kind !== 'string') {
            b.err(item.pos, `expected a route URL string, got ${item.kind}`);
            continue;
          }
          if (seen.has(item.value)) {
            b.warn(item.pos, 'Duplicate route entry detected');
            continue;
          }
          seen.add(item.value);
          const u = parseRouteUrl(item.value);
          if (typeof u === 'string') b.err(item.pos, u);
          else c.routes.push(item.value.trim());
        }
        break;
      }
      case 'tls': {
        const t = b.tlsBlock(f);
        if (t?.verifyAndMap) b.err(f.keyPos, 'cluster tls "verify_and_map" is not supported by tsnats yet');
        else if (t) c.tls = t;
        break;
      }
      case 'cluster_advertise':
      case 'advertise': {
        const s = b.str(f);
        if (s !== undefined) c.advertise = s;
        break;
      }
      case 'no_advertise': {
        const v = b.bool(f);
        if (v !== undefined) c.noAdvertise = v;
        break;
      }
      case 'connect_retries': {
        const n = b.int(f);
        if (n !== undefined) c.connectRetries = n;
        break;
      }
      case 'pool_size': {
        // nats-server 2.10+ (route pooling). 2.9.10 refuses the key; tsnats accepts it and keeps
        // one route per peer, as 2.9.10 does.
        const n = b.int(f);
        if (n !== undefined) {
          c.poolSize = n;
          b.warn(f.keyPos, 'cluster "pool_size" is accepted but ignored: tsnats keeps one route per peer (as nats-server 2.9.10)');
        }
        break;
      }
      case 'permissions': {
        // import maps to publish, export to subscribe (as nats-server's setRoutePermissions).
        const p = b.permissionsBlock(f);
        if (!p) break;
        if (p.allowResponses) b.err(f.keyPos, 'Cluster permissions do not support dynamic responses');
        else c.permissions = { import: p.publish, export: p.subscribe };
        break;
      }
      default:
        if (!f.usedAsVariable) b.err(f.keyPos, `unknown field ${JSON.stringify(f.key)}`);
    }
  }
  return c;
}

/** Cluster settings from the command line. */
export interface ClusterFlagOverrides {
  /** --cluster / --cluster_listen `nats://[user:pass@]host:port` */
  listen?: string;
  /** --cluster_name */
  name?: string;
  /** --routes (comma separated) */
  routes?: string;
  /** --no_advertise */
  noAdvertise?: boolean;
  /** --cluster_advertise */
  advertise?: string;
  /** --connect_retries */
  connectRetries?: number;
}

/** Applies the cluster flags on `o` (in place). Throws ConfigError. */
export function applyClusterFlags(o: ServerOptions, f: ClusterFlagOverrides): void {
  if (Object.values(f).every((v) => v === undefined)) return;
  const c: ClusterOptions = o.cluster ? { ...o.cluster, routes: [...o.cluster.routes] } : emptyCluster();
  if (f.listen !== undefined) {
    // URL refuses ":-1"; nats-server accepts it as a random port.
    const random = /:-1\/?$/.test(f.listen);
    const text = random ? f.listen.replace(/:-1(\/?)$/, ':0$1') : f.listen;
    let u: URL;
    try {
      u = new URL(text.includes('://') ? text : `nats://${text}`);
    } catch {
      throw new ConfigError(`error parsing cluster url [${JSON.stringify(f.listen)}]`);
    }
    const port = u.port === '' ? (/:0\/?$/.test(text) ? 0 : NaN) : Number(u.port);
    if (!random && !Number.isInteger(port)) throw new ConfigError(`error parsing cluster url [${JSON.stringify(f.listen)}]: missing port`);
    c.host = u.hostname === '' ? DEFAULT_CLUSTER_HOST : u.hostname.replace(/^\[|\]$/g, '');
    c.port = random ? -1 : port;
    if (u.username) c.user = decodeURIComponent(u.username);
    if (u.password) c.password = decodeURIComponent(u.password);
  }
  if (f.name !== undefined) c.name = f.name;
  if (f.routes !== undefined) {
    c.routes = [];
    for (const r of f.routes.split(',')) {
      const s = r.trim();
      if (s === '') continue;
      const u = parseRouteUrl(s);
      if (typeof u === 'string') throw new ConfigError(u);
      c.routes.push(s);
    }
  }
  if (f.noAdvertise !== undefined) c.noAdvertise = f.noAdvertise;
  if (f.advertise !== undefined) c.advertise = f.advertise;
  if (f.connectRetries !== undefined) c.connectRetries = f.connectRetries;
  o.cluster = c;
}
