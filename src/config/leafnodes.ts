// The `leafnodes {}` block (nats-server 2.9.10's parseLeafNodes / parseRemoteLeafNodes, opts.go).
// Types live here (not in types.ts) to keep the shared files small. See docs/leafnodes.md.

import type { Position } from './errors.js';
import type { ConfigNode, MapEntry } from './parser.js';
import type { ClusterBuilder } from './cluster.js';
import type { TlsOptions } from './types.js';
import { decodePublicKey, PREFIX_ACCOUNT } from '../server/nkey.js';

export const DEFAULT_LEAF_HOST = '0.0.0.0';
export const DEFAULT_LEAF_PORT = 7422;
export const DEFAULT_LEAF_RECONNECT_MS = 1000;

export interface LeafUser {
  user: string;
  password: string;
  /** The local account a leaf authenticating as this user is bound to (default `$G`). */
  account?: string;
}

export interface LeafRemoteOptions {
  /** URLs as written (`nats-leaf://`, `nats://`, `tls://`; no port → 7422). */
  urls: string[];
  tls?: TlsOptions;
  hub: boolean;
  denyImports: string[];
  denyExports: string[];
  noRandomize: boolean;
  /** The local account the connection is bound to (`account`/`local`; default `$G`). */
  account?: string;
  /** `credentials`: a .creds file whose JWT and nonce signature go in CONNECT (operator-mode hubs). */
  credentials?: string;
}

export interface LeafnodeOptions {
  host: string;
  /** 0 = no leaf listener (remotes only); -1 = random. */
  port: number;
  user?: string;
  password?: string;
  /** The account of the single `authorization` user (default `$G`). */
  account?: string;
  users?: LeafUser[];
  authTimeoutMs?: number;
  tls?: TlsOptions;
  advertise?: string;
  noAdvertise: boolean;
  reconnectMs: number;
  remotes: LeafRemoteOptions[];
  /** Spokes whose CONNECT `version` is older are refused (nats-server's `min_version`, >= 2.8.0). */
  minVersion?: string;
}

/** `major.minor.patch` of a version string (optional `v` and pre-release/build suffix), or null. */
export function versionParts(v: string): [number, number, number] | null {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

export function versionAtLeast(v: string, min: [number, number, number]): boolean {
  const p = versionParts(v);
  if (!p) return false;
  for (let i = 0; i < 3; i++) if (p[i] !== min[i]) return p[i]! > min[i]!;
  return true;
}

export function emptyLeafnodes(): LeafnodeOptions {
  return { host: DEFAULT_LEAF_HOST, port: 0, noAdvertise: false, reconnectMs: DEFAULT_LEAF_RECONNECT_MS, remotes: [] };
}

/** A leaf remote URL: scheme + host required; no port → 7422. */
export function parseLeafUrl(s: string): URL | string {
  const t = s.trim();
  let u: URL;
  try {
    u = new URL(t.includes('://') ? t : `nats-leaf://${t}`);
  } catch {
    return `error parsing leafnode remote url [${JSON.stringify(t)}]`;
  }
  if (u.hostname === '') return `error parsing leafnode remote url [${JSON.stringify(t)}]: missing host`;
  const scheme = u.protocol.slice(0, -1).toLowerCase();
  if (!['nats-leaf', 'nats', 'tls', 'ws', 'wss'].includes(scheme)) {
    return `error parsing leafnode remote url [${JSON.stringify(t)}]: unsupported scheme "${scheme}"`;
  }
  if (u.port === '') u.port = String(DEFAULT_LEAF_PORT);
  return u;
}

function stringList(b: ClusterBuilder, f: MapEntry, what: string): string[] | undefined {
  const v: ConfigNode = f.value;
  if (v.kind === 'string') return [v.value];
  if (v.kind !== 'array') {
    b.err(f.keyPos, `error parsing ${what}: expected a string or an array of strings, got ${v.kind}`);
    return undefined;
  }
  const out: string[] = [];
  for (const it of v.items) {
    if (it.kind !== 'string') {
      b.err(it.pos, `error parsing ${what}: expected a string, got ${it.kind}`);
      continue;
    }
    out.push(it.value);
  }
  return out;
}

function reconnect(b: ClusterBuilder, f: MapEntry): number | undefined {
  // nats-server: integer seconds (a duration string is also accepted by tsnats).
  if (f.value.kind === 'integer') {
    if (f.value.value < 0) {
      b.err(f.keyPos, 'leafnode reconnect interval must not be negative');
      return undefined;
    }
    return f.value.value * 1000;
  }
  return b.seconds(f);
}

function parseAuthorization(b: ClusterBuilder, f: MapEntry, o: LeafnodeOptions): void {
  if (f.value.kind !== 'map') {
    b.err(f.keyPos, 'expected "authorization" to be a map');
    return;
  }
  let singlePos: Position | undefined;
  let usersPos: Position | undefined;
  for (const g of f.value.entries) {
    switch (g.key.toLowerCase()) {
      case 'user':
      case 'username': {
        const s = b.str(g);
        if (s !== undefined) o.user = s;
        singlePos ??= g.keyPos;
        break;
      }
      case 'pass':
      case 'password': {
        const s = b.str(g);
        if (s !== undefined) o.password = s;
        break;
      }
      case 'timeout': {
        const ms = b.seconds(g);
        if (ms !== undefined) o.authTimeoutMs = ms;
        break;
      }
      case 'users': {
        usersPos = g.keyPos;
        if (g.value.kind !== 'array') {
          b.err(g.keyPos, 'Expected users field to be an array');
          break;
        }
        const users: LeafUser[] = [];
        for (const it of g.value.items) {
          if (it.kind !== 'map') {
            b.err(it.pos, `Expected user entry to be a map, got ${it.kind}`);
            continue;
          }
          let user: string | undefined;
          let password = '';
          let account: string | undefined;
          for (const h of it.entries) {
            switch (h.key.toLowerCase()) {
              case 'user':
              case 'username':
                user = b.str(h);
                break;
              case 'pass':
              case 'password':
                password = b.str(h) ?? '';
                break;
              case 'account':
                account = b.str(h);
                break;
              default:
                if (!h.usedAsVariable) b.err(h.keyPos, `unknown field ${JSON.stringify(h.key)}`);
            }
          }
          if (user === undefined) b.err(it.pos, 'leafnode user entry needs a "user"');
          else users.push(account !== undefined ? { user, password, account } : { user, password });
        }
        o.users = users;
        break;
      }
      case 'account': {
        const s = b.str(g);
        if (s !== undefined) o.account = s;
        break;
      }
      default:
        if (!g.usedAsVariable) b.err(g.keyPos, `unknown field ${JSON.stringify(g.key)}`);
    }
  }
  if (singlePos !== undefined && usersPos !== undefined) {
    b.err(usersPos, 'can not have a single user/pass and a users array');
  }
}

function parseRemote(b: ClusterBuilder, node: ConfigNode): LeafRemoteOptions | undefined {
  if (node.kind !== 'map') {
    b.err(node.pos, `Expected remote leafnode entry to be a map/struct, got ${node.kind}`);
    return undefined;
  }
  const r: LeafRemoteOptions = { urls: [], hub: false, denyImports: [], denyExports: [], noRandomize: false };
  for (const f of node.entries) {
    switch (f.key.toLowerCase()) {
      case 'url':
      case 'urls': {
        const list = stringList(b, f, 'leafnode remote url');
        if (!list) break;
        for (const s of list) {
          const u = parseLeafUrl(s);
          if (typeof u === 'string') b.err(f.keyPos, u);
          else r.urls.push(u.toString());
        }
        break;
      }
      case 'tls': {
        const t = b.tlsBlock(f, 'leafnode_remote');
        if (t) r.tls = t;
        break;
      }
      case 'hub': {
        const v = b.bool(f);
        if (v !== undefined) r.hub = v;
        break;
      }
      case 'deny_imports':
      case 'deny_import': {
        const l = stringList(b, f, 'deny_imports');
        if (l) r.denyImports.push(...l);
        break;
      }
      case 'deny_exports':
      case 'deny_export': {
        const l = stringList(b, f, 'deny_exports');
        if (l) r.denyExports.push(...l);
        break;
      }
      case 'no_randomize':
      case 'dont_randomize': {
        const v = b.bool(f);
        if (v !== undefined) r.noRandomize = v;
        break;
      }
      case 'account':
      case 'local': {
        const s = b.str(f);
        if (s !== undefined && s !== '') r.account = s;
        break;
      }
      case 'credentials':
      case 'creds': {
        // A .creds file (user JWT + seed), read at every connect as nats-server does.
        const v = b.str(f);
        if (v !== undefined) r.credentials = v.startsWith('~/') ? (process.env.HOME ?? '') + v.slice(1) : v;
        break;
      }
      case 'ws_compression':
      case 'websocket_compression':
      case 'ws_no_masking':
      case 'websocket_no_masking':
      case 'jetstream_cluster_migrate':
        b.err(f.keyPos, `leafnode remote "${f.key}" is not supported by tsnats yet`);
        break;
      default:
        if (!f.usedAsVariable) b.err(f.keyPos, `unknown field ${JSON.stringify(f.key)}`);
    }
  }
  if (r.urls.length === 0) {
    b.err(node.pos, 'leafnode remote needs at least one "url"');
    return undefined;
  }
  const ws = r.urls.filter((u) => u.startsWith('ws')).length;
  if (ws > 0) {
    if (ws !== r.urls.length) {
      b.err(node.pos, 'remote leaf node configuration cannot have a mix of websocket and non-websocket urls');
      return undefined;
    }
  }
  return r;
}

/** `leafnodes { ... }` → LeafnodeOptions (errors and warnings go to the builder). */
export function parseLeafnodesBlock(b: ClusterBuilder, e: MapEntry): LeafnodeOptions | undefined {
  if (e.value.kind !== 'map') {
    b.err(e.keyPos, `Expected map to define a leafnode, got ${e.value.kind}`);
    return undefined;
  }
  const o = emptyLeafnodes();
  for (const f of e.value.entries) {
    switch (f.key.toLowerCase()) {
      case 'listen': {
        const hp = b.hostPort(f);
        if (!hp) break;
        if (hp.host !== undefined) o.host = hp.host === '' ? DEFAULT_LEAF_HOST : hp.host;
        const p = b.portValue(f, hp.port);
        if (p !== undefined) o.port = p;
        break;
      }
      case 'port': {
        const n = b.int(f);
        if (n === undefined) break;
        const p = b.portValue(f, n);
        if (p !== undefined) o.port = p;
        break;
      }
      case 'host':
      case 'net': {
        const s = b.str(f);
        if (s !== undefined) o.host = s === '' ? DEFAULT_LEAF_HOST : s;
        break;
      }
      case 'authorization':
        parseAuthorization(b, f, o);
        break;
      case 'remotes': {
        if (f.value.kind !== 'array') {
          b.err(f.keyPos, `Expected remotes field to be an array, got ${f.value.kind}`);
          break;
        }
        for (const it of f.value.items) {
          const r = parseRemote(b, it);
          if (r) o.remotes.push(r);
        }
        break;
      }
      case 'reconnect':
      case 'reconnect_delay':
      case 'reconnect_interval': {
        const ms = reconnect(b, f);
        if (ms !== undefined) o.reconnectMs = ms;
        break;
      }
      case 'tls': {
        const t = b.tlsBlock(f, 'leafnode');
        if (t) o.tls = t;
        break;
      }
      case 'advertise':
      case 'leafnode_advertise': {
        const s = b.str(f);
        if (s !== undefined) o.advertise = s;
        break;
      }
      case 'no_advertise': {
        const v = b.bool(f);
        if (v !== undefined) o.noAdvertise = v;
        break;
      }
      case 'min_version':
      case 'minimum_version': {
        const s = b.str(f);
        if (s === undefined) break;
        if (versionParts(s) === null) b.err(f.keyPos, `invalid leafnode's minimum version: invalid semver`);
        else if (!versionAtLeast(s, [2, 8, 0])) b.err(f.keyPos, 'the minimum version should be at least 2.8.0');
        else o.minVersion = s;
        break;
      }
      default:
        if (!f.usedAsVariable) b.err(f.keyPos, `unknown field ${JSON.stringify(f.key)}`);
    }
  }
  return o;
}

/**
 * nats-server's validateLeafNode (static configuration): every account a leaf remote or a leaf
 * authorization user names must exist (`$G`, the configured ones, `$SYS` unless another system
 * account or no_system_account is set). Errors have no position, as nats-server's.
 */
export function checkLeafnodeAccounts(
  err: (reason: string) => void,
  lo: LeafnodeOptions,
  accounts: readonly string[],
  systemAccount: string | undefined,
  noSystemAccount: boolean | undefined,
  operator = false,
): void {
  if (operator) {
    // Operator mode: accounts are public keys resolved at run time (nats-server's validateLeafNode).
    if ((lo.users ?? []).length !== 0) return err('operator mode does not allow specifying user in leafnode config');
    for (const r of lo.remotes) {
      if (!isAccountKey(r.account)) {
        return err(
          'operator mode requires account nkeys in remotes. ' +
            'Please add an `account` key to each remote in your `leafnodes` section, to assign it to an account. ' +
            "Each account value should be a 56 character public key, starting with the letter 'A'",
        );
      }
    }
    if (lo.port !== 0 && lo.account !== undefined && lo.account !== '' && !isAccountKey(lo.account)) err('operator mode and non account nkeys are incompatible');
    return;
  }
  const known = new Set<string>(accounts);
  known.add('$G');
  known.add('');
  if ((systemAccount === undefined || systemAccount === '') && !noSystemAccount) known.add('$SYS');
  const check = (name: string | undefined, what: string): boolean => {
    if (name === undefined || known.has(name)) return true;
    err(`cannot find local account ${JSON.stringify(name)} specified in leafnode ${what}`);
    return false;
  };
  if (!check(lo.account, 'authorization')) return;
  for (const u of lo.users ?? []) if (!check(u.account, 'authorization')) return;
  for (const r of lo.remotes) if (!check(r.account, 'remote')) return;
}

/** A public account nkey (`A...`, 56 base32 characters with a valid checksum). */
function isAccountKey(k: string | undefined): boolean {
  return k !== undefined && decodePublicKey(k, PREFIX_ACCOUNT) !== undefined;
}
