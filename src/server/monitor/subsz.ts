// /subsz (alias /subscriptionsz): subject index statistics; with `subs=1` the subscriptions
// (paged with offset/limit, filtered by `test=<subject>`), as nats-server 2.9.10.

import type { Server } from '../server.js';
import { matchLiteral, isValidLiteralSubject } from '../subjects.js';
import { utf8ToWire, wireToUtf8 } from '../../protocol/encode.js';
import { decodeBool, decodeInt, MonitorRequestError } from './connz.js';
import { preciseNow, rfc3339 } from './format.js';
import { accountsView } from '../events/accounts-view.js';
import type { SubjectIndexStats } from '../subjects.js';

/** nats-server's SublistStats.add over several accounts' indexes. */
function sumStats(all: SubjectIndexStats[]): SubjectIndexStats {
  if (all.length === 1) return all[0]!;
  const o = { num_subscriptions: 0, num_cache: 0, num_inserts: 0, num_removes: 0, num_matches: 0, cache_hit_rate: 0, max_fanout: 0, avg_fanout: 0 };
  let hits = 0;
  let tot = 0;
  for (const st of all) {
    o.num_subscriptions += st.num_subscriptions;
    o.num_cache += st.num_cache;
    o.num_inserts += st.num_inserts;
    o.num_removes += st.num_removes;
    o.num_matches += st.num_matches;
    hits += st.cache_hit_rate * st.num_matches;
    tot += st.avg_fanout * st.num_cache;
    if (st.max_fanout > o.max_fanout) o.max_fanout = st.max_fanout;
  }
  if (tot > 0) o.avg_fanout = tot / o.num_cache;
  if (o.num_matches > 0) o.cache_hit_rate = hits / o.num_matches;
  return o;
}

export function subsz(s: Server, q: URLSearchParams): Record<string, unknown> {
  const subs = decodeBool(q, 'subs') || q.get('subs') === 'detail';
  let offset = decodeInt(q, 'offset');
  let limit = decodeInt(q, 'limit');
  const test = q.get('test');
  if (test !== null && test !== '' && !isValidLiteralSubject(utf8ToWire(test))) {
    throw new MonitorRequestError(`invalid test subject, must be valid publish subject: ${test}`);
  }
  // `acc`: one account's index and subscriptions; otherwise every account's (as nats-server sums them).
  const acc = q.get('acc') ?? '';
  const view = accountsView(s);
  const names = acc === '' ? view.names() : view.has(acc) ? [acc] : [];
  const indexes = new Set(names.map((n) => view.index(n)).filter((x) => x !== undefined));
  const stats = indexes.size === 0 ? sumStats([]) : sumStats([...indexes].map((i) => i.stats()));
  if (!subs) return { ...stats };
  if (offset < 0) offset = 0;
  if (limit <= 0) limit = 1024;
  const all: Array<Record<string, unknown>> = [];
  const wireTest = test ? utf8ToWire(test) : '';
  for (const c of s.clients.values()) {
    const account = view.accountOf(c);
    if (acc !== '' && account !== acc) continue;
    for (const sub of c.subs.values()) {
      if (wireTest && !matchLiteral(wireTest, sub.subject)) continue;
      const d: Record<string, unknown> = { account, subject: wireToUtf8(sub.subject) };
      if (sub.queue !== undefined) d.qgroup = wireToUtf8(sub.queue);
      d.sid = wireToUtf8(sub.sid);
      d.msgs = sub.delivered;
      if (sub.max > 0) d.max = sub.max;
      d.cid = c.cid;
      all.push(d);
    }
  }
  return {
    server_id: s.serverId,
    now: rfc3339(preciseNow()),
    ...stats,
    total: all.length,
    offset,
    limit,
    subscriptions_list: all.slice(offset, offset + limit),
  };
}
