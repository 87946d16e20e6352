// The `websocket {}` block (alias `ws`), as nats-server 2.9.10 parses and validates it
// (opts.go parseWebsocket, websocket.go validateWebsocketOptions). Errors carry file:line:col.

import { goType, type MapEntry } from './parser.js';
import type { Position } from './errors.js';
import type { TlsBlockKind } from './ocsp-peer.js';
import type { ServerOptions, TlsOptions } from './types.js';

export interface WebsocketAuth {
  user?: string;
  password?: string;
  token?: string;
  /** `timeout` in the block (seconds in the file). */
  timeoutMs?: number;
}

export interface WebsocketOptions {
  host: string; // default 0.0.0.0
  port: number; // -1 = random
  advertise?: string;
  noTls: boolean;
  tls?: TlsOptions;
  sameOrigin: boolean;
  allowedOrigins: string[];
  compression: boolean;
  /** 0 = none (nats-server's default). */
  handshakeTimeoutMs: number;
  authorization?: WebsocketAuth;
  noAuthUser?: string;
  jwtCookie?: string;
}

/** What the parser needs from the option builder (src/config/options.ts). */
export interface WsBuilder {
  err(pos: Position | undefined, reason: string): void;
  str(e: MapEntry): string | undefined;
  bool(e: MapEntry): boolean | undefined;
  hostPort(e: MapEntry): { host?: string; port: number } | undefined;
  portValue(e: MapEntry, port: number): number | undefined;
  /** `kind` 'websocket': `ocsp_peer` there needs `verify: true` in the same block (nats-server 2.10). */
  tls(e: MapEntry, kind: TlsBlockKind): TlsOptions | undefined;
}


/** A Go duration string ("2s", "500ms", "1m30s") → ms, or undefined. */
function goDurationMs(s: string): number | undefined {
  const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let i = 0;
  const neg = s.startsWith('-');
  if (neg || s.startsWith('+')) i = 1;
  if (i >= s.length) return undefined;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * UNITS[m[2]!]!;
    i = re.lastIndex;
  }
  return neg ? -total : total;
}

/** Parses `websocket { ... }`; cross-option checks run in `validateWebsocket`. */
export function parseWebsocket(b: WsBuilder, e: MapEntry): WebsocketOptions | undefined {
  if (e.value.kind !== 'map') {
    b.err(e.keyPos, `Expected websocket to be a map, got ${goType(e.value)}`);
    return undefined;
  }
  const w: WebsocketOptions = {
    host: '',
    port: 0,
    noTls: false,
    sameOrigin: false,
    allowedOrigins: [],
    compression: false,
    handshakeTimeoutMs: 0,
  };
  for (const f of e.value.entries) {
    switch (f.key.toLowerCase()) {
      case 'listen': {
        const hp = b.hostPort(f);
        if (!hp) break;
        if (hp.host !== undefined) w.host = hp.host;
        const p = b.portValue(f, hp.port);
        if (p !== undefined) w.port = p;
        break;
      }
      case 'port': {
        if (f.value.kind !== 'integer') {
          b.err(f.keyPos, `interface conversion: interface {} is ${goType(f.value)}, not int64`);
          break;
        }
        const p = b.portValue(f, f.value.value);
        if (p !== undefined) w.port = p;
        break;
      }
      case 'host':
      case 'net': {
        const s = b.str(f);
        if (s !== undefined) w.host = s;
        break;
      }
      case 'advertise': {
        const s = b.str(f);
        if (s !== undefined) w.advertise = s;
        break;
      }
      case 'no_tls': {
        const v = b.bool(f);
        if (v !== undefined) w.noTls = v;
        break;
      }
      case 'tls':
        w.tls = b.tls(f, 'websocket');
        break;
      case 'same_origin': {
        const v = b.bool(f);
        if (v !== undefined) w.sameOrigin = v;
        break;
      }
      case 'allowed_origins':
      case 'allowed_origin':
      case 'allow_origins':
      case 'allow_origin':
      case 'origins':
      case 'origin': {
        const v = f.value;
        if (v.kind === 'string') w.allowedOrigins = [v.value];
        else if (v.kind === 'array') {
          const out: string[] = [];
          for (const n of v.items) {
            if (n.kind !== 'string') {
              b.err(n.pos, `error parsing allowed origins: unsupported type in array ${goType(n)}`);
              continue;
            }
            out.push(n.value);
          }
          w.allowedOrigins = out;
        } else b.err(f.keyPos, `error parsing allowed origins: unsupported type ${goType(v)}`);
        break;
      }
      case 'handshake_timeout': {
        const v = f.value;
        if (v.kind === 'integer') w.handshakeTimeoutMs = v.value * 1000;
        else if (v.kind === 'string') {
          const ms = goDurationMs(v.value);
          if (ms === undefined) b.err(f.keyPos, `time: invalid duration ${JSON.stringify(v.value)}`);
          else w.handshakeTimeoutMs = ms;
        } else b.err(f.keyPos, `error parsing handshake timeout: unsupported type ${goType(v)}`);
        break;
      }
      case 'compress':
      case 'compression': {
        const v = b.bool(f);
        if (v !== undefined) w.compression = v;
        break;
      }
      case 'authorization':
      case 'authentication':
        w.authorization = simpleAuth(b, f);
        break;
      case 'jwt_cookie': {
        const s = b.str(f);
        if (s !== undefined) w.jwtCookie = s;
        break;
      }
      case 'no_auth_user': {
        const s = b.str(f);
        if (s !== undefined) w.noAuthUser = s;
        break;
      }
      default:
        if (!f.usedAsVariable) b.err(f.keyPos, `unknown field ${JSON.stringify(f.key)}`);
    }
  }
  if (w.port !== 0 && w.host === '') w.host = '0.0.0.0';
  return w;
}

/** nats-server's parseSimpleAuth: user, password, token, timeout; nothing else (no `users`). */
function simpleAuth(b: WsBuilder, e: MapEntry): WebsocketAuth | undefined {
  if (e.value.kind !== 'map') {
    b.err(e.keyPos, `interface conversion: interface {} is ${goType(e.value)}, not map[string]interface {}`);
    return undefined;
  }
  const a: WebsocketAuth = {};
  for (const f of e.value.entries) {
    switch (f.key.toLowerCase()) {
      case 'user':
      case 'username': {
        const s = b.str(f);
        if (s !== undefined) a.user = s;
        break;
      }
      case 'pass':
      case 'password': {
        const s = b.str(f);
        if (s !== undefined) a.password = s;
        break;
      }
      case 'token': {
        const s = b.str(f);
        if (s !== undefined) a.token = s;
        break;
      }
      case 'timeout': {
        // nats-server: an integer or float number of seconds; any other type means 1 s.
        const v = f.value;
        a.timeoutMs = v.kind === 'integer' || v.kind === 'float' ? v.value * 1000 : 1000;
        break;
      }
      default:
        if (!f.usedAsVariable) b.err(f.keyPos, `unknown field ${JSON.stringify(f.key)}`);
    }
  }
  return a;
}

/** validateWebsocketOptions: checks that need the whole file (run when the block has a port). */
export function validateWebsocket(b: WsBuilder, o: ServerOptions, at: Position | undefined): void {
  const w = o.websocket;
  if (!w || w.port === 0) return;
  if (!w.tls && !w.noTls) {
    b.err(at, 'websocket requires TLS configuration');
    return;
  }
  for (const ao of w.allowedOrigins) {
    try {
      new URL(ao);
    } catch {
      // Go's url.Parse accepts almost anything (relative references too); only reject what it would.
      if (/[\x00-\x1f\x7f ]/.test(ao) || /^[a-z][a-z0-9+.-]*:\/\/\[/i.test(ao)) b.err(at, `unable to parse allowed origin: parse ${JSON.stringify(ao)}: invalid URL`);
    }
  }
  const users = o.authorization?.users ?? [];
  if (w.noAuthUser !== undefined && w.noAuthUser !== '') {
    if (users.length === 0) b.err(at, `no_auth_user: ${JSON.stringify(w.noAuthUser)} present, but users are not defined`);
    else if (!users.some((u) => u.user === w.noAuthUser)) {
      b.err(at, `no_auth_user: ${JSON.stringify(w.noAuthUser)} not present as user in authorization block or account configuration`);
    }
  }
  if (users.length > 0) {
    if (w.authorization?.user) b.err(at, 'websocket authentication username not compatible with presence of users/nkeys');
    if (w.authorization?.token) b.err(at, 'websocket authentication token not compatible with presence of users/nkeys');
  }
  if (w.jwtCookie && !((o.operator?.operatorJwts.length ?? 0) > 0 || (o.operator?.trustedKeys.length ?? 0) > 0)) {
    b.err(at, `trusted operators or trusted keys configuration is required for JWT authentication via cookie ${JSON.stringify(w.jwtCookie)}`);
  }
}
