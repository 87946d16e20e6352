// The JetStream JSON API, stream publishing and pull statuses: the same raw scenario against
// tsnats and nats-server 2.9.10, transcripts compared after dropping times and ids
// (reference §9 behaviours 1-24, 26-28, 31-39, 41).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { collect, conn, KINDS, norm, req, sleep, startJs, type JsServer, type Kind, type Reply } from './helpers.js';

type Step = [string, unknown];

async function pub(nc: NatsConnection, subject: string, data: string, hdrs: Record<string, string> = {}): Promise<Reply> {
  const h = headers();
  for (const [k, v] of Object.entries(hdrs)) h.set(k, v);
  try {
    const m = await nc.request(subject, data, { timeout: 500, headers: Object.keys(hdrs).length ? h : undefined });
    if (m.headers && m.headers.code > 0 && m.data.length === 0) return { status: `${m.headers.code} ${m.headers.description}`, headers: {} };
    return { raw: new TextDecoder().decode(m.data) };
  } catch (e) {
    if (/timeout/i.test((e as Error).message)) return 'TIMEOUT';
    if ((e as { code?: string }).code === '503' || /no responders/i.test((e as Error).message)) return { status: '503', headers: {} };
    throw e;
  }
}

/** Runs the scenario; returns the transcript. */
async function scenario(nc: NatsConnection): Promise<Step[]> {
  const t: Step[] = [];
  const r = async (label: string, subject: string, body?: unknown) => t.push([label, norm(await req(nc, subject, body))]);
  const p = async (label: string, subject: string, data: string, h?: Record<string, string>) => {
    const x = await pub(nc, subject, data, h);
    t.push([label, typeof x === 'object' && 'raw' in x ? x.raw.replace(/"created":"[^"]*"/g, '') : x]);
  };
  await r('info', '$JS.API.INFO');
  await r('names empty', '$JS.API.STREAM.NAMES');
  await r('list empty', '$JS.API.STREAM.LIST');
  await r('create S1', '$JS.API.STREAM.CREATE.S1', { name: 'S1', subjects: ['s1.>'] });
  await r('create S1 again', '$JS.API.STREAM.CREATE.S1', { name: 'S1', subjects: ['s1.>'] });
  await r('create S1 different', '$JS.API.STREAM.CREATE.S1', { name: 'S1', subjects: ['s1.>'], max_msgs: 5 });
  await r('overlap', '$JS.API.STREAM.CREATE.S2', { name: 'S2', subjects: ['s1.a'] });
  await r('name mismatch', '$JS.API.STREAM.CREATE.S3', { name: 'S4' });
  await r('bad name', '$JS.API.STREAM.CREATE.a*b', { name: 'a*b' });
  await r('path sep', '$JS.API.STREAM.CREATE.a/b', { name: 'a/b' });
  await r('storage File', '$JS.API.STREAM.CREATE.X1', { name: 'X1', storage: 'File' });
  await r('replicas 3', '$JS.API.STREAM.CREATE.X2', { name: 'X2', num_replicas: 3 });
  await r('api subjects', '$JS.API.STREAM.CREATE.X3', { name: 'X3', subjects: ['$JS.API.>'] });
  await r('bad json', '$JS.API.STREAM.CREATE.X4', '{nope');
  await r('empty create', '$JS.API.STREAM.CREATE.X5');
  await r('self overlap', '$JS.API.STREAM.CREATE.X6', { name: 'X6', subjects: ['os.*', 'os.a'] });
  await r('max_age small', '$JS.API.STREAM.CREATE.X7', { name: 'X7', max_age: 1000 });
  await r('sealed create', '$JS.API.STREAM.CREATE.X8', { name: 'X8', sealed: true });
  await r('unknown api', '$JS.API.STREAM.FOO.X');
  await r('stepdown', '$JS.API.META.LEADER.STEPDOWN');
  await r('info missing', '$JS.API.STREAM.INFO.NOPE');
  // publishing
  await p('pub 1', 's1.a', 'one');
  await p('pub uncovered', 'nope.x', 'x');
  await p('msgid 1', 's1.b', 'two', { 'Nats-Msg-Id': 'm1' });
  await p('msgid dup', 's1.b', 'two', { 'Nats-Msg-Id': 'm1' });
  await p('expected stream', 's1.a', 'x', { 'Nats-Expected-Stream': 'OTHER' });
  await p('expected last seq', 's1.a', 'x', { 'Nats-Expected-Last-Sequence': '1' });
  await p('expected last seq ok', 's1.a', 'x', { 'Nats-Expected-Last-Sequence': '2' });
  await p('expected subj seq', 's1.new', 'x', { 'Nats-Expected-Last-Subject-Sequence': '5' });
  await p('expected subj seq 0', 's1.new', 'x', { 'Nats-Expected-Last-Subject-Sequence': '0' });
  await p('expected subj garbage', 's1.new', 'x', { 'Nats-Expected-Last-Subject-Sequence': 'abc' });
  await p('expected last msg id', 's1.a', 'x', { 'Nats-Expected-Last-Msg-Id': 'zzz' });
  await p('rollup not allowed', 's1.a', 'x', { 'Nats-Rollup': 'sub' });
  await r('info S1', '$JS.API.STREAM.INFO.S1');
  await r('info S1 subjects', '$JS.API.STREAM.INFO.S1', { subjects_filter: '>' });
  // msg get / delete / purge
  await r('get 2', '$JS.API.STREAM.MSG.GET.S1', { seq: 2 });
  await r('get last wildcard', '$JS.API.STREAM.MSG.GET.S1', { last_by_subj: 's1.*' });
  await r('get next', '$JS.API.STREAM.MSG.GET.S1', { next_by_subj: 's1.new', seq: 1 });
  await r('get missing', '$JS.API.STREAM.MSG.GET.S1', { seq: 99 });
  await r('get empty', '$JS.API.STREAM.MSG.GET.S1');
  await r('get both', '$JS.API.STREAM.MSG.GET.S1', { seq: 1, last_by_subj: 's1.a' });
  await r('del 2', '$JS.API.STREAM.MSG.DELETE.S1', { seq: 2 });
  await r('del 2 again', '$JS.API.STREAM.MSG.DELETE.S1', { seq: 2 });
  await r('del 99', '$JS.API.STREAM.MSG.DELETE.S1', { seq: 99 });
  await r('del empty', '$JS.API.STREAM.MSG.DELETE.S1');
  await r('info deleted', '$JS.API.STREAM.INFO.S1', { deleted_details: true });
  await r('purge seq+keep', '$JS.API.STREAM.PURGE.S1', { seq: 3, keep: 1 });
  await r('purge filter keep', '$JS.API.STREAM.PURGE.S1', { filter: 's1.a', keep: 1 });
  await r('names', '$JS.API.STREAM.NAMES');
  await r('names by subject', '$JS.API.STREAM.NAMES', { subject: 's1.zz' });
  await r('names by subject none', '$JS.API.STREAM.NAMES', { subject: 'q.>' });
  await r('names offset', '$JS.API.STREAM.NAMES', { offset: 10 });
  await r('purge all', '$JS.API.STREAM.PURGE.S1');
  await r('info after purge', '$JS.API.STREAM.INFO.S1');
  // limits
  await r('create L', '$JS.API.STREAM.CREATE.L', { name: 'L', subjects: ['l.>'], max_msgs: 2, discard: 'new', max_msg_size: 10 });
  await p('L 1', 'l.a', '1');
  await p('L 2', 'l.a', '2');
  await p('L 3', 'l.a', '3');
  await p('L big', 'l.a', '12345678901');
  await r('create B', '$JS.API.STREAM.CREATE.B', { name: 'B', subjects: ['b.>'], max_bytes: 100, discard: 'New' });
  await p('B 1', 'b.a', 'x'.repeat(40));
  await p('B 2', 'b.a', 'x'.repeat(40));
  await r('create P', '$JS.API.STREAM.CREATE.P', { name: 'P', subjects: ['p.>'], max_msgs_per_subject: 1, discard: 'new', discard_new_per_subject: true });
  await p('P 1', 'p.a', '1');
  await p('P 2', 'p.a', '2');
  await r('create O', '$JS.API.STREAM.CREATE.O', { name: 'O', subjects: ['o.>'], max_msgs: 2 });
  await p('O 1', 'o.a', '1');
  await p('O 2', 'o.a', '2');
  await p('O 3', 'o.a', '3');
  await r('info O', '$JS.API.STREAM.INFO.O');
  // rollups
  await r('create R', '$JS.API.STREAM.CREATE.R', { name: 'R', subjects: ['r.>'], allow_rollup_hdrs: true });
  await p('R 1', 'r.a', '1');
  await p('R 2', 'r.b', '2');
  await p('R bogus', 'r.a', '3', { 'Nats-Rollup': 'bogus' });
  await p('R all', 'r.c', '4', { 'Nats-Rollup': 'all' });
  await r('info R', '$JS.API.STREAM.INFO.R');
  // seal
  await r('seal R', '$JS.API.STREAM.UPDATE.R', { name: 'R', subjects: ['r.>'], allow_rollup_hdrs: true, sealed: true });
  await p('R sealed pub', 'r.a', '5');
  await r('R sealed purge', '$JS.API.STREAM.PURGE.R');
  await r('unseal R', '$JS.API.STREAM.UPDATE.R', { name: 'R', subjects: ['r.>'] });
  await r('deny purge + rollup', '$JS.API.STREAM.CREATE.DP', { name: 'DP', deny_purge: true, allow_rollup_hdrs: true });
  await r('update retention', '$JS.API.STREAM.UPDATE.O', { name: 'O', subjects: ['o.>'], retention: 'interest' });
  await r('update missing', '$JS.API.STREAM.UPDATE.NOPE', { name: 'NOPE' });
  // direct get
  await r('create D', '$JS.API.STREAM.CREATE.D', { name: 'D', subjects: ['d.>'], allow_direct: true });
  await p('D 1', 'd.a', 'x', { 'Nats-Msg-Id': 'dm' });
  await p('D 2', 'd.b', 'y');
  await r('direct seq', '$JS.API.DIRECT.GET.D', { seq: 1 });
  await r('direct last', '$JS.API.DIRECT.GET.D.d.b');
  await r('direct wildcard', '$JS.API.DIRECT.GET.D.d.*');
  await r('direct missing', '$JS.API.DIRECT.GET.D', { seq: 9 });
  await r('direct empty', '$JS.API.DIRECT.GET.D');
  await r('direct bad json', '$JS.API.DIRECT.GET.D', '{x');
  await r('direct non-direct', '$JS.API.DIRECT.GET.O', { seq: 1 });
  // republish
  await r('create RP', '$JS.API.STREAM.CREATE.RP', { name: 'RP', subjects: ['rp.>'], republish: { src: 'rp.>', dest: 'out.>' } });
  const seen: Reply[] = [];
  const rs = nc.subscribe('out.>', { callback: (_e, m) => void seen.push({ status: m.subject, headers: Object.fromEntries([...(m.headers ?? [])].map(([k, v]) => [k, v.join(',')])) }) });
  await p('RP 1', 'rp.a', 'x');
  await p('RP 2', 'rp.a', 'y');
  await nc.flush();
  await sleep(50);
  rs.unsubscribe();
  t.push(['republished', seen]);
  // consumers
  await r('create C', '$JS.API.STREAM.CREATE.C', { name: 'C', subjects: ['c.>'] });
  for (let i = 1; i <= 5; i++) await p(`C ${i}`, i % 2 ? 'c.odd' : 'c.even', String(i).padStart(2, '0'));
  await r('info C bytes', '$JS.API.STREAM.INFO.C');
  await r('durable mismatch', '$JS.API.CONSUMER.DURABLE.CREATE.C.D1', { stream_name: 'C', config: { durable_name: 'D2', ack_policy: 'explicit' } });
  await r('legacy with durable', '$JS.API.CONSUMER.CREATE.C', { stream_name: 'C', config: { durable_name: 'D2', ack_policy: 'explicit' } });
  await r('durable D1', '$JS.API.CONSUMER.DURABLE.CREATE.C.D1', { stream_name: 'C', config: { durable_name: 'D1', ack_policy: 'explicit' } });
  await r('durable D1 via new subject', '$JS.API.CONSUMER.CREATE.C.D1', { stream_name: 'C', config: { durable_name: 'D1', ack_policy: 'explicit' } });
  await r('D1 ack all', '$JS.API.CONSUMER.CREATE.C.D1', { stream_name: 'C', config: { durable_name: 'D1', ack_policy: 'all' } });
  await r('D1 max_deliver', '$JS.API.CONSUMER.CREATE.C.D1', { stream_name: 'C', config: { durable_name: 'D1', ack_policy: 'explicit', max_deliver: 5, filter_subject: 'c.odd' } });
  await r('named ephemeral', '$JS.API.CONSUMER.CREATE.C.E1', { stream_name: 'C', config: { name: 'E1', ack_policy: 'none' } });
  await r('lps no filter', '$JS.API.CONSUMER.CREATE.C.L1', { stream_name: 'C', config: { name: 'L1', deliver_policy: 'last_per_subject', ack_policy: 'explicit' } });
  await r('push max_waiting', '$JS.API.CONSUMER.CREATE.C.X', { stream_name: 'C', config: { name: 'X', deliver_subject: 'dx', max_waiting: 5, ack_policy: 'explicit' } });
  await r('pull hb', '$JS.API.CONSUMER.CREATE.C.X', { stream_name: 'C', config: { name: 'X', idle_heartbeat: 1e9, ack_policy: 'explicit' } });
  await r('fc no hb', '$JS.API.CONSUMER.CREATE.C.X', { stream_name: 'C', config: { name: 'X', deliver_subject: 'dx', flow_control: true, ack_policy: 'explicit' } });
  await r('deliver cycle', '$JS.API.CONSUMER.CREATE.C.X', { stream_name: 'C', config: { name: 'X', deliver_subject: 'c.x', ack_policy: 'explicit' } });
  await r('backoff', '$JS.API.CONSUMER.CREATE.C.X', { stream_name: 'C', config: { name: 'X', backoff: [1e9, 2e9], max_deliver: 2, ack_policy: 'explicit' } });
  await r('filter mismatch', '$JS.API.CONSUMER.CREATE.C.X.c.odd', { stream_name: 'C', config: { name: 'X', filter_subject: 'c.even', ack_policy: 'explicit' } });
  await r('filter not subset', '$JS.API.CONSUMER.CREATE.C.X', { stream_name: 'C', config: { name: 'X', filter_subject: 'zz', ack_policy: 'explicit' } });
  await r('consumer stream missing', '$JS.API.CONSUMER.CREATE.NOPE.X', { stream_name: 'NOPE', config: { name: 'X' } });
  await r('consumer empty body', '$JS.API.CONSUMER.CREATE.C.X');
  await r('consumer names', '$JS.API.CONSUMER.NAMES.C');
  await r('consumer info missing', '$JS.API.CONSUMER.INFO.C.NOPE');
  await r('consumer info body', '$JS.API.CONSUMER.INFO.C.D1', { x: 1 });
  await r('next missing consumer', '$JS.API.CONSUMER.MSG.NEXT.C.NOPE');
  // pull statuses
  await r('P1', '$JS.API.CONSUMER.CREATE.C.P1', { stream_name: 'C', config: { durable_name: 'P1', ack_policy: 'explicit', max_batch: 50, max_expires: 10e9, max_waiting: 1 } });
  t.push(['next empty body', (await collect(nc, '$JS.API.CONSUMER.MSG.NEXT.C.P1', '', 100)).map(norm)]);
  t.push(['next no_wait', (await collect(nc, '$JS.API.CONSUMER.MSG.NEXT.C.P1', JSON.stringify({ batch: 10, no_wait: true }), 100)).map(norm)]);
  t.push(['next no_wait none', (await collect(nc, '$JS.API.CONSUMER.MSG.NEXT.C.P1', JSON.stringify({ batch: 5, no_wait: true }), 100)).map(norm)]);
  t.push(['next batch too big', (await collect(nc, '$JS.API.CONSUMER.MSG.NEXT.C.P1', JSON.stringify({ batch: 100 }), 100)).map(norm)]);
  t.push(['next expires too big', (await collect(nc, '$JS.API.CONSUMER.MSG.NEXT.C.P1', JSON.stringify({ batch: 1, expires: 60e9 }), 100)).map(norm)]);
  t.push(['next hb too large', (await collect(nc, '$JS.API.CONSUMER.MSG.NEXT.C.P1', JSON.stringify({ batch: 1, expires: 1e9, idle_heartbeat: 1e9 }), 100)).map(norm)]);
  t.push(['next expires', (await collect(nc, '$JS.API.CONSUMER.MSG.NEXT.C.P1', JSON.stringify({ batch: 5, expires: 300e6 }), 500)).map(norm)]);
  {
    // a waiting request claims more than is pending: a no_wait request gets 408 Requests Pending
    await r('RP consumer', '$JS.API.CONSUMER.CREATE.C.RQ', { stream_name: 'C', config: { durable_name: 'RQ', ack_policy: 'explicit', deliver_policy: 'last' } });
    const w1 = collect(nc, '$JS.API.CONSUMER.MSG.NEXT.C.RQ', JSON.stringify({ batch: 10, expires: 400e6 }), 500);
    await sleep(100);
    await p('C extra', 'c.odd', 'x1');
    t.push(['requests pending', (await collect(nc, '$JS.API.CONSUMER.MSG.NEXT.C.RQ', JSON.stringify({ batch: 5, no_wait: true }), 100)).map(norm)]);
    t.push(['first waiter', (await w1).map(norm)]);
  }
  t.push(['next hb', (await collect(nc, '$JS.API.CONSUMER.MSG.NEXT.C.P1', JSON.stringify({ batch: 1, expires: 700e6, idle_heartbeat: 300e6 }), 900)).map(norm)]);
  await r('P1 info', '$JS.API.CONSUMER.INFO.C.P1');
  // max bytes
  await r('MB', '$JS.API.CONSUMER.CREATE.C.MB', { stream_name: 'C', config: { durable_name: 'MB', ack_policy: 'none' } });
  t.push(['next max_bytes', (await collect(nc, '$JS.API.CONSUMER.MSG.NEXT.C.MB', JSON.stringify({ batch: 5, max_bytes: 10, expires: 1e9 }), 200)).map(norm)]);
  // push consumer & next on push
  await r('push', '$JS.API.CONSUMER.CREATE.C.PU', { stream_name: 'C', config: { durable_name: 'PU', deliver_subject: 'pu.in', ack_policy: 'explicit', headers_only: true } });
  t.push(['next on push', (await collect(nc, '$JS.API.CONSUMER.MSG.NEXT.C.PU', '', 100)).map(norm)]);
  const pushed: Reply[] = [];
  const ps = nc.subscribe('pu.in', { callback: (_e, m) => void pushed.push({ status: m.subject, headers: Object.fromEntries([...(m.headers ?? [])].map(([k, v]) => [k, v.join(',')])) }) });
  await sleep(400);
  ps.unsubscribe();
  t.push(['pushed headers only', pushed]);
  // delete
  await r('delete consumer', '$JS.API.CONSUMER.DELETE.C.P1');
  await r('delete consumer again', '$JS.API.CONSUMER.DELETE.C.P1');
  await r('delete stream body', '$JS.API.STREAM.DELETE.C', { x: 1 });
  await r('delete stream', '$JS.API.STREAM.DELETE.C');
  for (const n of ['L', 'B', 'P', 'D', 'RP', 'R', 'O', 'S1']) await r(`state ${n}`, `$JS.API.STREAM.INFO.${n}`);
  {
    // nats-server 2.9.10 keeps 37 bytes of the deleted stream C in the account's storage and
    // counts two fewer API errors over this run: compare the rest.
    const x = await req(nc, '$JS.API.INFO');
    if (typeof x === 'object' && 'json' in x) {
      delete x.json.storage;
      delete (x.json.api as Record<string, unknown>).errors;
    }
    t.push(['info end', norm(x)]);
  }
  // workqueue
  await r('create WQ', '$JS.API.STREAM.CREATE.WQ', { name: 'WQ', subjects: ['wq.>'], retention: 'workqueue' });
  await r('wq ack all', '$JS.API.CONSUMER.CREATE.WQ.W1', { stream_name: 'WQ', config: { durable_name: 'W1', ack_policy: 'all' } });
  await r('wq ok', '$JS.API.CONSUMER.CREATE.WQ.W1', { stream_name: 'WQ', config: { durable_name: 'W1', ack_policy: 'explicit' } });
  await r('wq 2nd unfiltered', '$JS.API.CONSUMER.CREATE.WQ.W2', { stream_name: 'WQ', config: { durable_name: 'W2', ack_policy: 'explicit' } });
  await r('wq deliver new', '$JS.API.CONSUMER.CREATE.WQ.W3', { stream_name: 'WQ', config: { durable_name: 'W3', ack_policy: 'explicit', deliver_policy: 'new', filter_subject: 'wq.x' } });
  // deliver policies, num_pending, purge effects
  await r('create DP2', '$JS.API.STREAM.CREATE.DP2', { name: 'DP2', subjects: ['dp.>'] });
  for (const [i, sub] of ['dp.a', 'dp.b', 'dp.a', 'dp.c', 'dp.b', 'dp.a'].entries()) await p(`DP2 ${i}`, sub, String(i));
  const policies: [string, Record<string, unknown>][] = [
    ['all', { deliver_policy: 'all' }],
    ['last', { deliver_policy: 'last' }],
    ['new', { deliver_policy: 'new' }],
    ['seq3', { deliver_policy: 'by_start_sequence', opt_start_seq: 3 }],
    ['seq99', { deliver_policy: 'by_start_sequence', opt_start_seq: 99 }],
    ['lps', { deliver_policy: 'last_per_subject', filter_subject: 'dp.>' }],
    ['lps-a', { deliver_policy: 'last_per_subject', filter_subject: 'dp.a' }],
    ['last-b', { deliver_policy: 'last', filter_subject: 'dp.b' }],
    ['filtered-a', { deliver_policy: 'all', filter_subject: 'dp.a' }],
    ['old-time', { deliver_policy: 'by_start_time', opt_start_time: '2020-01-01T00:00:00Z' }],
  ];
  for (const [n, c] of policies) await r(`dp ${n}`, `$JS.API.CONSUMER.CREATE.DP2.${n}`, { stream_name: 'DP2', config: { name: n, ack_policy: 'explicit', ...c } });
  t.push(['lps pull', (await collect(nc, '$JS.API.CONSUMER.MSG.NEXT.DP2.lps', JSON.stringify({ batch: 10, no_wait: true }), 150)).map(norm)]);
  await r('purge dp.a', '$JS.API.STREAM.PURGE.DP2', { filter: 'dp.a' });
  for (const [n] of policies) await r(`dp ${n} after purge`, `$JS.API.CONSUMER.INFO.DP2.${n}`);
  await r('purge seq 5', '$JS.API.STREAM.PURGE.DP2', { seq: 5 });
  await r('dp all after seq purge', '$JS.API.CONSUMER.INFO.DP2.all');
  await r('dp consumer list', '$JS.API.CONSUMER.LIST.DP2', { offset: 8 });
  // acks over raw subjects
  await r('create AK', '$JS.API.STREAM.CREATE.AK', { name: 'AK', subjects: ['ak.>'] });
  for (let i = 1; i <= 6; i++) await p(`AK ${i}`, 'ak.x', String(i));
  await r('AK explicit', '$JS.API.CONSUMER.CREATE.AK.E', { stream_name: 'AK', config: { durable_name: 'E', ack_policy: 'explicit', ack_wait: 5e9 } });
  const got = await collect(nc, '$JS.API.CONSUMER.MSG.NEXT.AK.E', JSON.stringify({ batch: 6, no_wait: true }), 150);
  const replies: string[] = [];
  const sub = nc.subscribe('_INBOX.akreplies.*', { callback: (_e, m) => void replies.push(`${m.subject.split('.').pop()}:${m.data.length}`) });
  const acks = ['+ACK', '-NAK', '+WPI', '+TERM', '', '-NAK {"delay":100000000}'];
  const ackSubjects: string[] = [];
  await nc.flush();
  // the ack reply subjects come from a raw subscription so that the ack tokens can be used
  const inbox2 = '_INBOX.akmsgs';
  const msub = nc.subscribe(inbox2, { callback: (_e, m) => void ackSubjects.push(m.reply ?? '') });
  await r('AK explicit 2', '$JS.API.CONSUMER.CREATE.AK.E2', { stream_name: 'AK', config: { durable_name: 'E2', ack_policy: 'explicit', ack_wait: 5e9 } });
  nc.publish('$JS.API.CONSUMER.MSG.NEXT.AK.E2', JSON.stringify({ batch: 6, no_wait: true }), { reply: inbox2 });
  await nc.flush();
  await sleep(150);
  for (let i = 0; i < 6 && i < ackSubjects.length; i++) nc.publish(ackSubjects[i]!, acks[i]!, { reply: `_INBOX.akreplies.${i}` });
  await nc.flush();
  await sleep(150);
  t.push(['ack replies', replies.sort()]);
  await r('AK E2 info after acks', '$JS.API.CONSUMER.INFO.AK.E2');
  await sleep(200);
  t.push(['AK E2 redelivered', (await collect(nc, '$JS.API.CONSUMER.MSG.NEXT.AK.E2', JSON.stringify({ batch: 6, no_wait: true }), 150)).map(norm)]);
  await r('AK E2 info end', '$JS.API.CONSUMER.INFO.AK.E2');
  sub.unsubscribe();
  msub.unsubscribe();
  t.push(['AK E first batch', got.length]);
  // limits changes and per-subject history
  await r('create KVL', '$JS.API.STREAM.CREATE.KVL', { name: 'KVL', subjects: ['kvl.>'], max_msgs_per_subject: 2, discard: 'new' });
  for (let i = 1; i <= 4; i++) await p(`KVL ${i}`, 'kvl.k', String(i));
  await r('KVL info', '$JS.API.STREAM.INFO.KVL', { subjects_filter: 'kvl.*' });
  await r('KVL lower limit', '$JS.API.STREAM.UPDATE.KVL', { name: 'KVL', subjects: ['kvl.>'], max_msgs_per_subject: 1, discard: 'new' });
  await r('KVL info after', '$JS.API.STREAM.INFO.KVL');
  await r('KVL storage change', '$JS.API.STREAM.UPDATE.KVL', { name: 'KVL', subjects: ['kvl.>'], storage: 'memory' });
  // expected last msg id success, dedupe window expiry
  await r('create DW', '$JS.API.STREAM.CREATE.DW', { name: 'DW', subjects: ['dw.>'], duplicate_window: 200e6 });
  await p('DW 1', 'dw.a', 'x', { 'Nats-Msg-Id': 'a1' });
  await p('DW last id ok', 'dw.a', 'y', { 'Nats-Expected-Last-Msg-Id': 'a1', 'Nats-Msg-Id': 'a2' });
  await p('DW dup', 'dw.a', 'x', { 'Nats-Msg-Id': 'a1' });
  await sleep(300);
  await p('DW after window', 'dw.a', 'x', { 'Nats-Msg-Id': 'a1' });
  await r('DW max age < window', '$JS.API.STREAM.CREATE.DW2', { name: 'DW2', max_age: 1e9, duplicate_window: 2e9 });
  await r('DW max age default window', '$JS.API.STREAM.CREATE.DW3', { name: 'DW3', max_age: 1e9 });
  // max_age expiry
  await r('create AGE', '$JS.API.STREAM.CREATE.AGE', { name: 'AGE', subjects: ['age.>'], max_age: 300e6 });
  await p('AGE 1', 'age.a', 'x');
  await sleep(700);
  await r('AGE info expired', '$JS.API.STREAM.INFO.AGE');
  // memory storage
  await r('create MEM', '$JS.API.STREAM.CREATE.MEM', { name: 'MEM', subjects: ['mem.>'], storage: 'memory' });
  for (let i = 1; i <= 3; i++) await p(`MEM ${i}`, 'mem.a', 'ab');
  await r('MEM info', '$JS.API.STREAM.INFO.MEM');
  // a pull request whose inbox has no subscriber is dropped: nothing is delivered into the void
  await r('create DI', '$JS.API.STREAM.CREATE.DI', { name: 'DI', subjects: ['di.>'] });
  await r('DI consumer', '$JS.API.CONSUMER.CREATE.DI.C', { stream_name: 'DI', config: { durable_name: 'C', ack_policy: 'explicit' } });
  nc.publish('$JS.API.CONSUMER.MSG.NEXT.DI.C', JSON.stringify({ batch: 5, expires: 5e9 }), { reply: '_INBOX.nobody.listens' });
  await nc.flush();
  await p('DI 1', 'di.x', 'x');
  await sleep(100);
  await r('DI info', '$JS.API.CONSUMER.INFO.DI.C');
  // interest
  await r('create IN', '$JS.API.STREAM.CREATE.IN', { name: 'IN', subjects: ['in.>'], retention: 'interest' });
  await p('IN no consumers', 'in.a', 'x');
  await r('info IN', '$JS.API.STREAM.INFO.IN');
  return t;
}

describe('jetstream API: tsnats and nats-server 2.9.10 answer alike', { timeout: 120_000 }, () => {
  const transcripts = new Map<Kind, Step[]>();
  const servers: JsServer[] = [];

  before(async () => {
    for (const k of KINDS) {
      const s = await startJs(k);
      servers.push(s);
      const nc = await conn(s.url);
      try {
        transcripts.set(k, await scenario(nc));
      } finally {
        await nc.close();
      }
    }
  });

  after(async () => {
    for (const s of servers) await s.close();
  });

  it('every step gives the same reply (or the same silence)', () => {
    const ts = transcripts.get('tsnats')!;
    const go = transcripts.get('nats-server');
    if (!go) return;
    const diffs: string[] = [];
    for (let i = 0; i < Math.max(ts.length, go.length); i++) {
      const a = JSON.stringify(ts[i]);
      const b = JSON.stringify(go[i]);
      if (a !== b) diffs.push(`step ${i} ${ts[i]?.[0]}:\n  tsnats:      ${a}\n  nats-server: ${b}`);
    }
    assert.equal(diffs.length, 0, diffs.join('\n'));
  });

  it('matches the reference facts on tsnats', () => {
    const ts = new Map(transcripts.get('tsnats')!.map(([k, v]) => [k, JSON.stringify(v)]));
    assert.match(ts.get('names empty')!, /"streams":null/);
    assert.match(ts.get('list empty')!, /"streams":\[\]/);
    assert.match(ts.get('create S1')!, /"duplicate_window":120000000000/);
    assert.match(ts.get('create S1 different')!, /10058/);
    assert.match(ts.get('overlap')!, /10065/);
    assert.match(ts.get('replicas 3')!, /10074/);
    assert.equal(ts.get('unknown api'), '"TIMEOUT"');
    assert.ok(ts.get('msgid dup')!.includes('duplicate\\": true'), ts.get('msgid dup'));
    assert.match(ts.get('expected last seq')!, /wrong last sequence: 2/);
    assert.match(ts.get('L 3')!, /maximum messages exceeded/);
    assert.match(ts.get('B 2')!, /maximum bytes exceeded/);
    assert.equal(ts.get('R bogus'), '"TIMEOUT"');
    assert.match(ts.get('next no_wait')!, /408 Request Timeout/);
    assert.match(ts.get('next no_wait none')!, /404 No Messages/);
  });
});
