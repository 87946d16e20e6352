// What a configuration reload (SIGHUP) may change, in nats-server's terms. Options are compared in
// the order of nats-server's Options struct; the first one that cannot be reloaded refuses the
// whole reload with `config reload not supported for <Field>: old=<v>, new=<v>`.

import { isDeepStrictEqual } from 'node:util';
import type { ServerOptions } from '../config/types.js';
import { goDuration } from './monitor/format.js';

export class ReloadError extends Error {
  readonly code = 'TSNATS_RELOAD';
}

export interface Change {
  /** Text after `Reloaded: `. */
  text: string;
  /** Authentication/permissions changed: connected clients are re-checked. */
  auth?: boolean;
}

const dur = (ms: number): string => goDuration(ms * 1e6);

type Rule =
  | { key: keyof ServerOptions; field: string; refuse: true; show?: (v: unknown) => string }
  | { key: keyof ServerOptions; field: string; refuse?: false; text: (v: unknown) => string; auth?: boolean };

/** In nats-server's Options declaration order. */
const RULES: Rule[] = [
  { key: 'serverName', field: 'ServerName', refuse: true },
  { key: 'host', field: 'Host', refuse: true },
  { key: 'port', field: 'Port', refuse: true },
  { key: 'trace', field: 'Trace', text: (v) => `trace = ${v}` },
  { key: 'debug', field: 'Debug', text: (v) => `debug = ${v}` },
  { key: 'noHeaderSupport', field: 'NoHeaderSupport', refuse: true },
  { key: 'logtime', field: 'Logtime', text: (v) => `logtime = ${v}` },
  { key: 'logtimeUtc', field: 'LogtimeUTC', text: (v) => `logtime_utc = ${v}` },
  { key: 'maxConnections', field: 'MaxConn', text: (v) => `max_connections = ${v}` },
  { key: 'maxSubscriptions', field: 'MaxSubs', text: (v) => `max_subscriptions = ${v}` },
  { key: 'authorization', field: 'Authorization', text: () => '' }, // expanded by authChanges()
  { key: 'noAuthUser', field: 'NoAuthUser', text: (v) => `no_auth_user = ${v ?? ''}`, auth: true },
  { key: 'systemAccount', field: 'SystemAccount', refuse: true },
  { key: 'noSystemAccount', field: 'NoSystemAccount', refuse: true },
  { key: 'pingIntervalMs', field: 'PingInterval', text: (v) => `ping_interval = ${dur(v as number)}` },
  { key: 'pingMax', field: 'MaxPingsOut', text: (v) => `ping_max = ${v}` },
  { key: 'httpHost', field: 'HTTPHost', refuse: true },
  { key: 'httpPort', field: 'HTTPPort', refuse: true },
  { key: 'httpBasePath', field: 'HTTPBasePath', refuse: true },
  { key: 'httpsPort', field: 'HTTPSPort', refuse: true },
  { key: 'maxControlLine', field: 'MaxControlLine', text: (v) => `max_control_line = ${v}` },
  { key: 'maxPayload', field: 'MaxPayload', text: (v) => `max_payload = ${v}` },
  { key: 'maxPending', field: 'MaxPending', text: (v) => `max_pending = ${v}` },
  { key: 'jetstream', field: 'JetStream', refuse: true },
  { key: 'jetstreamConfig', field: 'JetStream', refuse: true, show: (v) => JSON.stringify(v ?? {}) },
  { key: 'storeDir', field: 'StoreDir', refuse: true },
  { key: 'pidFile', field: 'PidFile', text: (v) => `pid_file = ${v ?? ''}` },
  { key: 'portsFileDir', field: 'PortsFileDir', text: (v) => `ports_file_dir = ${v ?? ''}` },
  { key: 'logFile', field: 'LogFile', text: (v) => `log_file = ${v ?? ''}` },
  { key: 'allowNonTls', field: 'AllowNonTLS', text: (v) => `allow_non_tls = ${v}` },
  { key: 'writeDeadlineMs', field: 'WriteDeadline', text: (v) => `write_deadline = ${dur(v as number)}` },
  { key: 'maxClosedClients', field: 'MaxClosedClients', refuse: true },
  { key: 'lameDuckDurationMs', field: 'LameDuckDuration', refuse: true, show: (v) => dur(v as number) },
  { key: 'lameDuckGracePeriodMs', field: 'LameDuckGracePeriod', refuse: true, show: (v) => dur(v as number) },
  { key: 'serverTags', field: 'Tags', text: () => 'tags' },
];

function show(v: unknown): string {
  if (v === undefined || v === null) return '';
  return String(v);
}

/** Compares options; returns the changes to log, or the refusal message. */
export function diffOptions(prev: ServerOptions, next: ServerOptions): { changes: Change[]; refused?: string } {
  const changes: Change[] = [];
  for (const r of RULES) {
    const a = prev[r.key];
    const b = next[r.key];
    if (isDeepStrictEqual(a, b)) continue;
    if (r.refuse) {
      const f = r.show ?? show;
      return { changes, refused: `config reload not supported for ${r.field}: old=${f(a)}, new=${f(b)}` };
    }
    if (r.key === 'authorization') changes.push(...authChanges(prev, next));
    else changes.push({ text: r.text(b), auth: r.auth });
  }
  // `accounts {}` (users, imports, exports, limits): clients are re-checked, as for authorization.
  if (!isDeepStrictEqual(prev.accounts, next.accounts) && !changes.some((c) => c.text === 'accounts')) {
    changes.push({ text: 'accounts', auth: true });
  }
  if (!isDeepStrictEqual(prev.tls, next.tls)) {
    changes.push({ text: `tls = ${next.tls ? 'enabled' : 'disabled'}`, auth: !!(prev.tls?.verifyAndMap || next.tls?.verifyAndMap) });
  }
  if (!isDeepStrictEqual(prev.ocsp, next.ocsp)) changes.push({ text: 'OCSP' });
  if (!isDeepStrictEqual(prev.cluster, next.cluster)) {
    // Routes may come and go; anything else in `cluster {}` needs a restart.
    const strip = (c: ServerOptions['cluster']): unknown => (c ? { ...c, routes: [] } : undefined);
    if (!prev.cluster || !next.cluster || !isDeepStrictEqual(strip(prev.cluster), strip(next.cluster))) {
      return { changes, refused: 'config reload not supported for Cluster: only cluster routes can change' };
    }
    changes.push({ text: 'cluster routes' });
  }
  // Leaf node settings need a restart (tsnats refuses every change of `leafnodes {}`).
  if (!isDeepStrictEqual(prev.leafnodes, next.leafnodes)) {
    return { changes, refused: 'config reload not supported for LeafNode: `leafnodes {}` changes need a restart' };
  }
  return { changes };
}

/** Which part of `authorization {}` changed (nats-server logs each, then "accounts"). */
function authChanges(prev: ServerOptions, next: ServerOptions): Change[] {
  const changes: Change[] = [];
  const pa = prev.authorization;
  const na = next.authorization;
  {
    if (!isDeepStrictEqual(pa?.token, na?.token)) changes.push({ text: 'authorization token', auth: true });
    if (!isDeepStrictEqual(pa?.user, na?.user)) changes.push({ text: 'authorization user', auth: true });
    if (!isDeepStrictEqual(pa?.password, na?.password)) changes.push({ text: 'authorization password', auth: true });
    if (!isDeepStrictEqual(pa?.users, na?.users)) changes.push({ text: 'authorization users', auth: true });
    // nats-server compares the nkey users sorted by key.
    const sorted = (a: ServerOptions['authorization']) => [...(a?.nkeys ?? [])].sort((x, y) => (x.nkey < y.nkey ? -1 : x.nkey > y.nkey ? 1 : 0));
    if (!isDeepStrictEqual(sorted(pa), sorted(na))) changes.push({ text: 'authorization nkey users', auth: true });
    if (!isDeepStrictEqual(pa?.timeoutMs, na?.timeoutMs)) changes.push({ text: `authorization timeout = ${(na?.timeoutMs ?? 2000) / 1000}`, auth: true });
    if (!isDeepStrictEqual(pa?.defaultPermissions, na?.defaultPermissions)) changes.push({ text: 'authorization default permissions', auth: true });
    changes.push({ text: 'accounts', auth: true });
  }
  return changes;
}
