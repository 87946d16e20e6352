// /accountz (`?acc=` for one account's detail) and /accstatz (`?unused=1`), and the account
// detail the `$SYS.REQ.ACCOUNT.<acc>.INFO` request answers, in nats-server 2.9.10's shapes
// (monitor.go Accountz, AccountInfo, AccountStatz).

import type { Server } from '../server.js';
import { accountsView } from '../events/accounts-view.js';
import { accountStat, systemExports, systemImportsOf } from '../events/messages.js';
import { MonitorRequestError } from './errors.js';
import { decodeBool } from './connz.js';
import { preciseNow, rfc3339 } from './format.js';

export function accountz(s: Server, q: URLSearchParams): Record<string, unknown> {
  const v = accountsView(s);
  const out: Record<string, unknown> = { server_id: s.serverId, now: rfc3339(preciseNow()) };
  if (v.systemAccount) out.system_account = v.systemAccount;
  const acc = q.get('acc') ?? '';
  if (acc === '') {
    out.accounts = v.names();
    return out;
  }
  out.account_detail = accountInfo(s, acc);
  return out;
}

/** One account's AccountInfo; throws (400 / 500 in a request) for an unknown account. */
export function accountInfo(s: Server, name: string): Record<string, unknown> {
  const v = accountsView(s);
  if (!v.has(name)) throw new MonitorRequestError(`Account ${name} does not exist`);
  const st = v.stat(name);
  const idx = v.index(name);
  const o: Record<string, unknown> = { account_name: name, update_time: rfc3339(v.updated(name)) };
  if (name === v.systemAccount) o.is_system = true;
  o.expired = false;
  o.complete = true;
  o.jetstream_enabled = v.jetstream(name);
  o.leafnode_connections = st.leafnodes;
  o.client_connections = st.conns;
  o.subscriptions = idx?.count ?? 0;
  // The system imports nats-server gives every account while the system account's events run.
  if (s.events) {
    if (name === v.systemAccount) o.exports = systemExports();
    else o.imports = systemImportsOf(name, v.systemAccount!);
  }
  if (idx) o.sublist_stats = idx.stats();
  return o;
}

/** AccountStatz for the named accounts (all when empty); accounts without connections only with `unused`. */
export function accstatz(s: Server, names: string[], unused: boolean): Record<string, unknown> {
  const v = accountsView(s);
  const list: Record<string, unknown>[] = [];
  for (const n of names.length > 0 ? names : v.names()) {
    if (!v.has(n)) continue;
    const st = v.stat(n);
    if (unused || st.conns !== 0) list.push(accountStat(st));
  }
  return { server_id: s.serverId, now: rfc3339(preciseNow()), account_statz: list };
}

export function accstatzEndpoint(s: Server, q: URLSearchParams): Record<string, unknown> {
  return accstatz(s, [], decodeBool(q, 'unused'));
}
