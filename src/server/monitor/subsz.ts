// /subsz (alias /subscriptionsz): subject index statistics; with `subs=1` the subscriptions
// (paged with offset/limit, filtered by `test=<subject>`), as nats-server 2.9.10.

import type { Server } from '../server.js';
import { matchLiteral, isValidLiteralSubject } from '../subjects.js';
import { utf8ToWire, wireToUtf8 } from '../../protocol/encode.js';
import { decodeBool, decodeInt, MonitorRequestError } from './connz.js';
import { preciseNow, rfc3339 } from './format.js';

export function subsz(s: Server, q: URLSearchParams): Record<string, unknown> {
  const subs = decodeBool(q, 'subs') || q.get('subs') === 'detail';
  let offset = decodeInt(q, 'offset');
  let limit = decodeInt(q, 'limit');
  const test = q.get('test');
  if (test !== null && test !== '' && !isValidLiteralSubject(utf8ToWire(test))) {
    throw new MonitorRequestError(`invalid test subject, must be valid publish subject: ${test}`);
  }
  const stats = s.index.stats();
  if (!subs) return { ...stats };
  if (offset < 0) offset = 0;
  if (limit <= 0) limit = 1024;
  const all: Array<Record<string, unknown>> = [];
  const wireTest = test ? utf8ToWire(test) : '';
  for (const c of s.clients.values()) {
    for (const sub of c.subs.values()) {
      if (wireTest && !matchLiteral(wireTest, sub.subject)) continue;
      const d: Record<string, unknown> = { account: '$G', subject: wireToUtf8(sub.subject) };
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
