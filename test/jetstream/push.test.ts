// Push consumers (idle heartbeats, flow control, headers only), ephemeral inactivity, interest
// retention with two consumers, and the monitoring endpoints: against tsnats and nats-server.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { collect, conn, KINDS, norm, req, sleep, startJs, type JsServer, type Kind } from './helpers.js';

function hdrs(m: { headers?: Iterable<[string, string[]]> & { code: number; description: string } }): Record<string, string> {
  const o: Record<string, string> = {};
  if (m.headers) for (const [k, v] of m.headers) o[k] = v.join(',');
  return o;
}

async function scenario(nc: NatsConnection): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const api = (s: string, b?: unknown) => req(nc, s, b);
  await api('$JS.API.STREAM.CREATE.H', { name: 'H', subjects: ['h.>'] });
  for (let i = 0; i < 3; i++) nc.publish('h.x', 'ab');
  await nc.flush();
  await sleep(50);
  // headers only + idle heartbeat on a push consumer
  const got: string[] = [];
  const sub = nc.subscribe('hb.in', {
    callback: (_e, m) => {
      const h = hdrs(m as never);
      if (m.headers && m.headers.code === 100) got.push(`${m.headers.code} ${m.headers.description} ${h['Nats-Last-Consumer']}/${h['Nats-Last-Stream']}`);
      else got.push(`${m.subject} size=${h['Nats-Msg-Size']} len=${m.data.length} reply=${(m.reply ?? '').split('.').slice(0, 7).join('.')}`);
    },
  });
  await api('$JS.API.CONSUMER.CREATE.H.HB', { stream_name: 'H', config: { name: 'HB', deliver_subject: 'hb.in', ack_policy: 'none', headers_only: true, idle_heartbeat: 300e6 } });
  await sleep(750);
  sub.unsubscribe();
  out.heartbeats = got.slice(0, 5);
  // flow control: >1 MiB backlog of 100 KB messages
  await api('$JS.API.STREAM.CREATE.F', { name: 'F', subjects: ['f.>'] });
  const big = new Uint8Array(100_000);
  for (let i = 0; i < 25; i++) nc.publish('f.x', big);
  await nc.flush();
  await sleep(100);
  let fcs = 0;
  let msgs = 0;
  const fsub = nc.subscribe('fc.in', {
    callback: (_e, m) => {
      if (m.headers?.code === 100 && m.headers.description === 'FlowControl Request') {
        fcs++;
        if (/^\$JS\.FC\.F\.FC\.\w+$/.test(m.reply ?? '')) m.respond();
      } else if (m.data.length > 0) msgs++;
    },
  });
  await api('$JS.API.CONSUMER.CREATE.F.FC', { stream_name: 'F', config: { name: 'FC', deliver_subject: 'fc.in', ack_policy: 'none', flow_control: true, idle_heartbeat: 1e9 } });
  for (let i = 0; i < 40 && msgs < 25; i++) await sleep(50);
  fsub.unsubscribe();
  out.flowControl = { msgs, sawFc: fcs > 0 };
  // named ephemeral pull consumer goes away after its inactive threshold
  await api('$JS.API.CONSUMER.CREATE.H.E1', { stream_name: 'H', config: { name: 'E1', ack_policy: 'none', inactive_threshold: 500e6 } });
  out.e1Before = norm(await api('$JS.API.CONSUMER.INFO.H.E1')) !== undefined;
  await sleep(2000);
  out.e1After = JSON.stringify(norm(await api('$JS.API.CONSUMER.INFO.H.E1')));
  // interest retention: removed after both consumers acked
  await api('$JS.API.STREAM.CREATE.I', { name: 'I', subjects: ['i.>'], retention: 'interest' });
  await api('$JS.API.CONSUMER.CREATE.I.A', { stream_name: 'I', config: { durable_name: 'A', ack_policy: 'explicit' } });
  await api('$JS.API.CONSUMER.CREATE.I.B', { stream_name: 'I', config: { durable_name: 'B', ack_policy: 'explicit' } });
  await nc.request('i.x', 'v');
  const state = async () => {
    const r = await api('$JS.API.STREAM.INFO.I');
    const st = (r as { json: { state: { messages: number } } }).json.state;
    return st.messages;
  };
  const ackOne = async (c: string) => {
    const m = await nc.request(`$JS.API.CONSUMER.MSG.NEXT.I.${c}`, '', { timeout: 1000, noMux: true });
    await nc.request(m.reply!, '+ACK', { timeout: 1000 });
  };
  const s0 = await state();
  await ackOne('A');
  const s1 = await state();
  await ackOne('B');
  const s2 = await state();
  out.interest = [s0, s1, s2];
  // max_deliver: redelivered once, then the MAX_DELIVERIES advisory and no third delivery
  await api('$JS.API.STREAM.CREATE.MD', { name: 'MD', subjects: ['md.>'] });
  await nc.request('md.x', 'v');
  await api('$JS.API.CONSUMER.CREATE.MD.C', { stream_name: 'MD', config: { durable_name: 'C', ack_policy: 'explicit', ack_wait: 300e6, max_deliver: 2 } });
  const adv: unknown[] = [];
  const as = nc.subscribe('$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.MD.C', {
    callback: (_e, m) => {
      const j = JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>;
      adv.push({ type: j.type, stream: j.stream, consumer: j.consumer, stream_seq: j.stream_seq, deliveries: j.deliveries });
    },
  });
  const deliveries: string[] = [];
  for (let i = 0; i < 3; i++) {
    const got = await collect(nc, '$JS.API.CONSUMER.MSG.NEXT.MD.C', JSON.stringify({ batch: 1, expires: 250e6 }), 400);
    for (const g of got) deliveries.push(typeof g === 'object' && 'status' in g ? g.status : 'msg');
  }
  await sleep(200);
  as.unsubscribe();
  const mi = (await api('$JS.API.CONSUMER.INFO.MD.C')) as { json: Record<string, unknown> };
  out.maxDeliver = { deliveries, adv, redelivered: mi.json.num_redelivered, ackPending: mi.json.num_ack_pending, floor: (mi.json.ack_floor as { stream_seq: number }).stream_seq };
  // ack sampling: sample_freq 100% publishes a consumer_ack metric per ack
  await api('$JS.API.CONSUMER.CREATE.MD.S', { stream_name: 'MD', config: { durable_name: 'S', ack_policy: 'explicit', sample_freq: '100%' } });
  const metrics: unknown[] = [];
  const ms = nc.subscribe('$JS.EVENT.METRIC.CONSUMER.ACK.MD.S', {
    callback: (_e, m) => {
      const j = JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>;
      metrics.push({ type: j.type, stream: j.stream, consumer: j.consumer, consumer_seq: j.consumer_seq, stream_seq: j.stream_seq, deliveries: j.deliveries, ack_time: typeof j.ack_time });
    },
  });
  const sm = await nc.request('$JS.API.CONSUMER.MSG.NEXT.MD.S', '', { timeout: 1000, noMux: true });
  await nc.request(sm.reply!, '+ACK', { timeout: 1000 });
  await nc.flush();
  await sleep(100);
  ms.unsubscribe();
  out.ackMetric = metrics;
  // the API audit advisory
  const audits: string[] = [];
  const au = nc.subscribe('$JS.EVENT.ADVISORY.API', {
    callback: (_e, m) => {
      const j = JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>;
      audits.push(`${j.type} ${j.subject} ${String(j.response).slice(0, 40)}`);
    },
  });
  await api('$JS.API.STREAM.INFO.NOPE');
  await nc.flush();
  await sleep(100);
  au.unsubscribe();
  out.audit = audits;
  return out;
}

describe('jetstream push consumers, inactivity, interest: tsnats and nats-server', { timeout: 120_000 }, () => {
  const results = new Map<Kind, Record<string, unknown>>();
  const servers: JsServer[] = [];
  before(async () => {
    for (const k of KINDS) {
      const s = await startJs(k);
      servers.push(s);
      const nc = await conn(s.url);
      try {
        results.set(k, await scenario(nc));
      } finally {
        await nc.close();
      }
    }
  });
  after(async () => {
    for (const s of servers) await s.close();
  });

  it('same observable results', () => {
    const ts = results.get('tsnats')!;
    const go = results.get('nats-server');
    if (go) assert.deepEqual(ts, go);
  });

  it('reference facts on tsnats', () => {
    const ts = results.get('tsnats')!;
    assert.deepEqual((ts.heartbeats as string[]).slice(0, 3), [
      'h.x size=2 len=0 reply=$JS.ACK.H.HB.1.1.1',
      'h.x size=2 len=0 reply=$JS.ACK.H.HB.1.2.2',
      'h.x size=2 len=0 reply=$JS.ACK.H.HB.1.3.3',
    ]);
    assert.match((ts.heartbeats as string[])[3]!, /^100 Idle Heartbeat 3\/3$/);
    assert.deepEqual(ts.flowControl, { msgs: 25, sawFc: true });
    assert.match(ts.e1After as string, /10014/);
    assert.deepEqual(ts.interest, [1, 1, 0]);
    const md = ts.maxDeliver as { deliveries: string[]; adv: { deliveries: number }[] };
    assert.deepEqual(md.deliveries, ['msg', 'msg', '408 Request Timeout']);
    assert.equal(md.adv[0]!.deliveries, 2);
    assert.equal((ts.ackMetric as unknown[]).length, 1);
    assert.deepEqual(ts.audit, ['io.nats.jetstream.advisory.v1.api_audit $JS.API.STREAM.INFO.NOPE {"type":"io.nats.jetstream.api.v1.stream']);
  });
});

describe('jetstream monitoring on tsnats', () => {
  it('/varz has a jetstream section, /jsz reports streams and consumers', async () => {
    const { startServer } = await import('../../src/index.js');
    const r = await startServer({ options: { jetstream: true, httpPort: -1, httpHost: '127.0.0.1' } });
    try {
      const nc = await conn(r.url);
      await req(nc, '$JS.API.STREAM.CREATE.M', { name: 'M' });
      await req(nc, '$JS.API.CONSUMER.CREATE.M.C', { stream_name: 'M', config: { durable_name: 'C', ack_policy: 'explicit' } });
      await nc.request('M', 'x');
      await nc.close();
      const base = r.server.monitor.urls()[0]!;
      const varz = (await (await fetch(`${base}/varz`)).json()) as { jetstream: { config: { store_dir: string }; stats: { storage: number } } };
      assert.match(varz.jetstream.config.store_dir, /jetstream$/);
      assert.ok(varz.jetstream.stats.storage > 0);
      const jsz = (await (await fetch(`${base}/jsz?streams=1&consumers=1`)).json()) as Record<string, unknown>;
      assert.equal(jsz.streams, 1);
      assert.equal(jsz.consumers, 1);
      assert.equal(jsz.messages, 1);
      const acc = (jsz.account_details as { stream_detail: { name: string; consumer_detail: unknown[] }[] }[])[0]!;
      assert.equal(acc.stream_detail[0]!.name, 'M');
      assert.equal(acc.stream_detail[0]!.consumer_detail.length, 1);
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /tsnats_jetstream_stream_messages\{stream="M"\} 1/);
      assert.match(metrics, /tsnats_jetstream_consumer_num_pending\{stream="M",consumer="C"\} 1/);
    } finally {
      await r.close();
    }
  });
});
