// /connz: open and closed connections with paging, sorting, subscription lists, `cid` and
// `state` filters, as nats-server 2.9.10 renders them.

import type { ConnSnapshot } from '../client.js';
import type { Server } from '../server.js';
import { goDuration, goUptime, preciseNow, rfc3339 } from './format.js';
import { MonitorRequestError } from './errors.js';
import { accountsView, GLOBAL_ACCOUNT } from '../events/accounts-view.js';

/** A bad query parameter: sent as a 400 with this plain-text message (nats-server's wording). */
export { MonitorRequestError };

const SORTS = new Set(['cid', 'start', 'subs', 'pending', 'msgs_to', 'msgs_from', 'bytes_to', 'bytes_from', 'last', 'idle', 'uptime', 'stop', 'reason', 'rtt']);
const DEFAULT_LIMIT = 1024;

export function decodeInt(q: URLSearchParams, name: string): number {
  const v = q.get(name);
  if (v === null || v === '') return 0;
  if (!/^[+-]?\d+$/.test(v)) throw new MonitorRequestError(`Error decoding int for '${name}': strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
  return Number(v);
}

export function decodeBool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === '') return false;
  const l = v.toLowerCase();
  if (['1', 't', 'true'].includes(l)) return true;
  if (['0', 'f', 'false'].includes(l)) return false;
  throw new MonitorRequestError(`Error decoding boolean for '${name}': strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

type SubsMode = 'none' | 'list' | 'detail';

function decodeSubs(q: URLSearchParams): SubsMode {
  const v = q.get('subs');
  if (v === null || v === '') return 'none';
  if (v.toLowerCase() === 'detail') return 'detail';
  return decodeBool(q, 'subs') ? 'list' : 'none';
}

function sortValue(c: ConnSnapshot, key: string, now: number): number | string {
  switch (key) {
    case 'start':
      return c.start;
    case 'subs':
      return c.numSubs;
    case 'pending':
      return c.pendingBytes;
    case 'msgs_to':
      return c.outMsgs;
    case 'msgs_from':
      return c.inMsgs;
    case 'bytes_to':
      return c.outBytes;
    case 'bytes_from':
      return c.inBytes;
    case 'last':
      return c.lastActivity;
    case 'idle':
      return (c.stop ?? now) - c.lastActivity;
    case 'uptime':
      return (c.stop ?? now) - c.start;
    case 'stop':
      return c.stop ?? 0;
    case 'reason':
      return c.reason ?? '';
    case 'rtt':
      return c.rttNs;
    default:
      return c.cid;
  }
}

function render(c: ConnSnapshot, now: number, auth: boolean, subs: SubsMode): Record<string, unknown> {
  // (c.account: nats-server shows it with auth, for accounts other than the global one)
  const end = c.stop ?? now;
  const o: Record<string, unknown> = {
    cid: c.cid,
    kind: 'Client',
    type: c.type ?? 'nats',
    ip: c.ip,
    port: c.port,
    start: rfc3339(c.start),
    last_activity: rfc3339(c.lastActivity),
  };
  if (c.stop !== undefined) {
    o.stop = rfc3339(c.stop);
    o.reason = c.reason;
  }
  o.rtt = goDuration(c.rttNs);
  o.uptime = goUptime(end - c.start);
  o.idle = goUptime(Math.max(0, end - c.lastActivity));
  o.pending_bytes = c.pendingBytes;
  o.in_msgs = c.inMsgs;
  o.out_msgs = c.outMsgs;
  o.in_bytes = c.inBytes;
  o.out_bytes = c.outBytes;
  o.subscriptions = c.numSubs;
  if (c.name) o.name = c.name;
  if (c.lang) o.lang = c.lang;
  if (c.version) o.version = c.version;
  if (c.tlsVersion) o.tls_version = c.tlsVersion;
  if (c.tlsCipher) o.tls_cipher_suite = c.tlsCipher;
  if (c.tlsFirst) o.tls_first = true;
  if (auth && c.user) o.authorized_user = c.user;
  if (auth && c.account && c.account !== GLOBAL_ACCOUNT) o.account = c.account;
  if (auth && c.jwt && o.account === undefined) o.account = c.jwt.account;
  if (subs === 'list' && c.subs.length > 0) o.subscriptions_list = c.subs.map((s) => s.subject);
  if (subs === 'detail' && c.subs.length > 0) {
    o.subscriptions_list_detail = c.subs.map((s) => {
      const d: Record<string, unknown> = { subject: s.subject };
      if (s.queue !== undefined) d.qgroup = s.queue;
      d.sid = s.sid;
      d.msgs = s.msgs;
      if (s.max > 0) d.max = s.max;
      d.cid = c.cid;
      return d;
    });
  }
  if (auth && c.jwt) {
    // Operator mode (nats-server: jwt, issuer_key, name_tag, tags after the subscriptions).
    o.jwt = c.jwt.jwt;
    o.issuer_key = c.jwt.issuerKey;
    if (c.jwt.nameTag) o.name_tag = c.jwt.nameTag;
    if (c.jwt.tags.length > 0) o.tags = c.jwt.tags;
  }
  return o;
}

export function connz(s: Server, q: URLSearchParams): Record<string, unknown> {
  const sort = q.get('sort') || 'cid';
  if (!SORTS.has(sort)) throw new MonitorRequestError(`invalid sorting option: ${sort}`);
  const auth = decodeBool(q, 'auth');
  const subs = decodeSubs(q);
  let offset = decodeInt(q, 'offset');
  let limit = decodeInt(q, 'limit');
  const cid = decodeInt(q, 'cid');
  const stateParam = (q.get('state') || 'open').toLowerCase();
  if (!['open', 'closed', 'any', 'all'].includes(stateParam)) throw new MonitorRequestError(`Error decoding state for ${stateParam}`);
  const state = stateParam === 'all' ? 'any' : stateParam;
  if ((sort === 'stop' || sort === 'reason') && state === 'open') {
    throw new MonitorRequestError(`sort by ${sort} only valid on closed connections`);
  }
  if (offset < 0) offset = 0;
  if (limit <= 0) limit = DEFAULT_LIMIT;
  const now = preciseNow();
  const withSubs = subs !== 'none';

  // `acc` and `user` filters (nats-server 2.9.10 applies them with or without `auth`).
  const acc = q.get('acc') ?? '';
  const user = q.get('user') ?? '';
  const view = accountsView(s);
  if (acc !== '' && !view.has(acc)) {
    // nats-server answers an unknown account with an empty Connz (no server id, null list).
    return { server_id: '', now: rfc3339(now), num_connections: 0, total: 0, offset, limit, connections: null };
  }
  const open = (c: import('../client.js').Client): ConnSnapshot => {
    const snap = c.snapshot(withSubs);
    snap.account ??= view.accountOf(c);
    return snap;
  };
  const keep = (x: ConnSnapshot): boolean => (acc === '' || (x.account ?? GLOBAL_ACCOUNT) === acc) && (user === '' || x.user === user);

  let list: ConnSnapshot[] = [];
  if (cid > 0) {
    limit = 1;
    const c = s.clients.get(cid);
    if (c && state !== 'closed') list.push(open(c));
    else if (!c && state !== 'open') {
      const closed = s.closedConnections().find((x) => x.cid === cid);
      if (closed) list.push(closed);
    }
  } else {
    if (state !== 'closed') for (const c of s.clients.values()) list.push(open(c));
    if (state !== 'open') list.push(...s.closedConnections());
  }
  if (acc !== '' || user !== '') list = list.filter(keep);
  const total = list.length;
  if (sort === 'cid' || sort === 'start') {
    list.sort((a, b) => (sort === 'cid' ? a.cid - b.cid : a.start - b.start || a.cid - b.cid));
  } else {
    list.sort((a, b) => {
      const va = sortValue(a, sort, now);
      const vb = sortValue(b, sort, now);
      if (typeof va === 'string' || typeof vb === 'string') return String(va).localeCompare(String(vb));
      return vb - va || a.cid - b.cid;
    });
  }
  list = list.slice(offset, offset + limit);
  return {
    server_id: s.serverId,
    now: rfc3339(now),
    num_connections: list.length,
    total,
    offset,
    limit,
    connections: list.map((c) => render(c, now, auth, subs)),
  };
}
