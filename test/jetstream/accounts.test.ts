// JetStream per account (issue 14): the same scenarios against tsnats and nats-server 2.9.10 with
// the official clients: streams of the same name in two accounts, isolation of data, names, KV
// and advisories, an account without JetStream, account limits with nats-server's errors, /jsz per
// account, which accounts get JetStream; and (tsnats only) recovery of every account's streams
// after kill -9.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { BIN, KINDS, NATS_SERVER, norm, req, sleep, spawnProc, type Kind, type Proc, type Reply } from './helpers.js';

interface AccServer {
  kind: Kind;
  port: number;
  http: number;
  dir: string;
  proc: Proc;
  close(): Promise<void>;
}

/** A server of either kind from a configuration (`STORE` is replaced by its store directory). */
async function startConf(kind: Kind, conf: string, dir?: string): Promise<AccServer> {
  const d = dir ?? mkdtempSync(join(tmpdir(), `jsacc-${kind}-`));
  const cf = join(d, 'server.conf');
  writeFileSync(cf, `listen: 127.0.0.1:-1\nhttp: 127.0.0.1:-1\n${conf.replaceAll('STORE', d)}\n`);
  const proc = kind === 'tsnats' ? await spawnProc(process.execPath, [BIN, '-c', cf]) : await spawnProc(NATS_SERVER!, ['-c', cf]);
  const http = Number(/monitor on [^\s]*:(\d+)/.exec(proc.out())?.[1] ?? 0);
  return {
    kind,
    port: proc.port,
    http,
    dir: d,
    proc,
    close: async () => {
      await proc.kill();
      if (dir === undefined) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** Runs a server to its exit; returns its output (configurations it must refuse). */
async function runToExit(kind: Kind, conf: string): Promise<{ code: number | null; out: string }> {
  const d = mkdtempSync(join(tmpdir(), `jsacc-${kind}-`));
  const cf = join(d, 'server.conf');
  writeFileSync(cf, `listen: 127.0.0.1:-1\n${conf.replaceAll('STORE', d)}\n`);
  const child = kind === 'tsnats' ? spawn(process.execPath, [BIN, '-c', cf]) : spawn(NATS_SERVER!, ['-c', cf]);
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const code = await Promise.race([new Promise<number | null>((r) => child.once('exit', (c) => r(c))), sleep(8000).then(() => 'timeout' as const)]);
  if (code === 'timeout') child.kill('SIGKILL');
  rmSync(d, { recursive: true, force: true });
  return { code: code === 'timeout' ? -1 : code, out };
}

async function user(s: AccServer, name: string): Promise<NatsConnection> {
  return connect({ servers: `127.0.0.1:${s.port}`, user: name, pass: name, reconnect: false });
}

async function errOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    const x = e as { api_error?: { err_code?: number; description?: string }; message: string };
    return x.api_error?.err_code ? `${x.api_error.err_code} ${x.api_error.description}` : x.message;
  }
}

/** The body of a raw API reply without volatile values. */
function body(r: Reply): unknown {
  return typeof r === 'object' && 'json' in r ? norm(r.json) : r;
}

const USERS = (acc: string, u: string) => `users: [{user: ${u}, password: ${u}}]`;

const TWO_ACCOUNTS = `jetstream { store_dir: STORE }
accounts {
  A { ${USERS('A', 'a')}, jetstream: enabled }
  B { ${USERS('B', 'b')}, jetstream: enabled }
  C { ${USERS('C', 'c')} }
}`;

describe('JetStream per account: isolation (tsnats and nats-server 2.9.10)', () => {
  const servers: Partial<Record<Kind, AccServer>> = {};
  before(async () => {
    for (const k of KINDS) servers[k] = await startConf(k, TWO_ACCOUNTS);
  });
  after(async () => {
    for (const s of Object.values(servers)) await s?.close();
  });

  it('two accounts each create a stream of the same name: separate data, names and infos', async () => {
    const results: Partial<Record<Kind, unknown>> = {};
    for (const k of KINDS) {
      const s = servers[k]!;
      const [na, nb, nc] = [await user(s, 'a'), await user(s, 'b'), await user(s, 'c')];
      try {
        const [ma, mb] = [await jetstreamManager(na), await jetstreamManager(nb)];
        await ma.streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
        await mb.streams.add({ name: 'ORDERS', subjects: ['orders.>'], max_msgs: 10 });
        await ma.streams.add({ name: 'ONLY_A', subjects: ['onlya'] });
        const [ja, jb] = [jetstream(na), jetstream(nb)];
        const acks: unknown[] = [];
        for (let i = 0; i < 3; i++) acks.push((await ja.publish('orders.new', `a${i}`)).seq);
        acks.push((await jb.publish('orders.new', 'b0')).seq);
        // a core publish on the same subject from an account without JetStream stores nothing
        nc.publish('orders.new', 'c0');
        // B publishing to A's other stream subject: no stream in B listens
        acks.push(await errOf(jb.publish('onlya', 'x', { timeout: 500 })));
        await nc.flush();
        await sleep(100);
        const ia = await ma.streams.info('ORDERS');
        const ib = await mb.streams.info('ORDERS');
        const namesA: string[] = [];
        for await (const n of ma.streams.names()) namesA.push(n);
        const namesB: string[] = [];
        for await (const n of mb.streams.names()) namesB.push(n);
        const fromB = await errOf(mb.streams.info('ONLY_A'));
        const getA = (await ma.streams.getMessage('ORDERS', { seq: 1 }))?.string();
        const getB = (await mb.streams.getMessage('ORDERS', { seq: 1 }))?.string();
        const infoA = await ma.getAccountInfo();
        const infoB = await mb.getAccountInfo();
        results[k] = {
          acks,
          a: { msgs: ia.state.messages, max_msgs: ia.config.max_msgs },
          b: { msgs: ib.state.messages, max_msgs: ib.config.max_msgs },
          namesA: namesA.sort(),
          namesB: namesB.sort(),
          fromB,
          getA,
          getB,
          infoA: { streams: infoA.streams, storage: infoA.storage },
          infoB: { streams: infoB.streams, storage: infoB.storage },
        };
      } finally {
        await na.close();
        await nb.close();
        await nc.close();
      }
    }
    const ts = results.tsnats as { namesA: string[]; namesB: string[]; a: { msgs: number }; b: { msgs: number } };
    assert.deepEqual(ts.namesA, ['ONLY_A', 'ORDERS']);
    assert.deepEqual(ts.namesB, ['ORDERS']);
    assert.equal(ts.a.msgs, 3);
    assert.equal(ts.b.msgs, 1);
    if (results['nats-server']) assert.deepEqual(results.tsnats, results['nats-server']);
  });

  it('KV buckets of the same name are per account', async () => {
    const results: Partial<Record<Kind, unknown>> = {};
    for (const k of KINDS) {
      const s = servers[k]!;
      const [na, nb] = [await user(s, 'a'), await user(s, 'b')];
      try {
        const kva = await new Kvm(na).create('cfg');
        const kvb = await new Kvm(nb).create('cfg', { history: 3 });
        await kva.put('k', 'from-a');
        await kvb.put('k', 'from-b');
        await kvb.put('only', 'b');
        const keysA: string[] = [];
        for await (const key of await kva.keys()) keysA.push(key);
        const keysB: string[] = [];
        for await (const key of await kvb.keys()) keysB.push(key);
        results[k] = {
          a: (await kva.get('k'))?.string(),
          b: (await kvb.get('k'))?.string(),
          aOnly: (await kva.get('only')) ?? null,
          keysA: keysA.sort(),
          keysB: keysB.sort(),
          historyA: (await kva.status()).history,
          historyB: (await kvb.status()).history,
        };
      } finally {
        await na.close();
        await nb.close();
      }
    }
    assert.deepEqual(results.tsnats, { a: 'from-a', b: 'from-b', aOnly: null, keysA: ['k'], keysB: ['k', 'only'], historyA: 1, historyB: 3 });
    if (results['nats-server']) assert.deepEqual(results.tsnats, results['nats-server']);
  });

  it('advisories are published in the account they are about', async () => {
    const results: Partial<Record<Kind, unknown>> = {};
    for (const k of KINDS) {
      const s = servers[k]!;
      const [na, nb] = [await user(s, 'a'), await user(s, 'b')];
      try {
        const seenA: string[] = [];
        const seenB: string[] = [];
        na.subscribe('$JS.EVENT.ADVISORY.STREAM.>', { callback: (_e, m) => void seenA.push(m.subject) });
        nb.subscribe('$JS.EVENT.ADVISORY.STREAM.>', { callback: (_e, m) => void seenB.push(m.subject) });
        const audits: string[] = [];
        nb.subscribe('$JS.EVENT.ADVISORY.API', { callback: (_e, m) => void audits.push((m.json() as { client: { acc: string } }).client.acc) });
        await na.flush();
        await nb.flush();
        const ma = await jetstreamManager(na);
        await ma.streams.add({ name: 'ADV', subjects: ['adv'] });
        await ma.streams.delete('ADV');
        await (await jetstreamManager(nb)).streams.add({ name: 'ADVB', subjects: ['advb'] });
        await sleep(200);
        results[k] = { seenA, seenB, audits };
      } finally {
        await na.close();
        await nb.close();
      }
    }
    assert.deepEqual(results.tsnats, {
      seenA: ['$JS.EVENT.ADVISORY.STREAM.CREATED.ADV', '$JS.EVENT.ADVISORY.STREAM.DELETED.ADV'],
      seenB: ['$JS.EVENT.ADVISORY.STREAM.CREATED.ADVB'],
      audits: ['B', 'B'],
    });
    if (results['nats-server']) assert.deepEqual(results.tsnats, results['nats-server']);
  });

  it('an account without JetStream answers the API with 10039 (and stays silent where nats-server does)', async () => {
    const results: Partial<Record<Kind, unknown>> = {};
    const reqs: [string, unknown?][] = [
      ['$JS.API.INFO'],
      ['$JS.API.STREAM.NAMES'],
      ['$JS.API.STREAM.LIST'],
      ['$JS.API.STREAM.CREATE.X', { name: 'X', subjects: ['x'] }],
      ['$JS.API.STREAM.INFO.ORDERS'],
      ['$JS.API.STREAM.UPDATE.X', { name: 'X' }],
      ['$JS.API.STREAM.DELETE.X'],
      ['$JS.API.STREAM.PURGE.X'],
      ['$JS.API.STREAM.MSG.GET.X', { seq: 1 }],
      ['$JS.API.STREAM.MSG.DELETE.X', { seq: 1 }],
      ['$JS.API.CONSUMER.CREATE.X', { stream_name: 'X', config: {} }],
      ['$JS.API.CONSUMER.NAMES.X'],
      ['$JS.API.CONSUMER.LIST.X'],
      ['$JS.API.CONSUMER.INFO.X.Y'],
      ['$JS.API.CONSUMER.DELETE.X.Y'],
      ['$JS.API.DIRECT.GET.X', { seq: 1 }],
      ['$JS.API.CONSUMER.MSG.NEXT.X.Y'],
      ['$JS.API.NOPE'],
    ];
    for (const k of KINDS) {
      const nc = await user(servers[k]!, 'c');
      try {
        const out: unknown[] = [];
        for (const [subj, b] of reqs) out.push([subj, body(await req(nc, subj, b, 300))]);
        out.push(['jsm', await errOf(jetstreamManager(nc))]);
        results[k] = out;
      } finally {
        await nc.close();
      }
    }
    const ts = results.tsnats as [string, unknown][];
    assert.deepEqual(ts[0]![1], { type: 'io.nats.jetstream.api.v1.account_info_response', error: { code: 503, err_code: 10039, description: 'JetStream not enabled for account' } });
    if (results['nats-server']) assert.deepEqual(results.tsnats, results['nats-server']);
  });
});

describe('JetStream per account: which accounts get JetStream', () => {
  const cases: [string, string, string][] = [
    ['no accounts: $G has it', 'jetstream { store_dir: STORE }', ''],
    ['accounts without users, none enabled: $G has not', 'jetstream { store_dir: STORE }\naccounts { A {} }', ''],
    ['an account enabled: $G has not', 'jetstream { store_dir: STORE }\naccounts { A { jetstream: enabled } }', ''],
    ['only the system account configured: $G has it', 'jetstream { store_dir: STORE }\nsystem_account: SYS\naccounts { SYS { users: [{user: s, password: s}] } }\nauthorization { users: [{user: g, password: g}] }', 'g'],
    ['the system account itself has not', 'jetstream { store_dir: STORE }\nsystem_account: SYS\naccounts { SYS { users: [{user: s, password: s}] } }', 's'],
    ['a user of an account without jetstream', 'jetstream { store_dir: STORE }\naccounts { A { users: [{user: a, password: a}] }, B { users: [{user: b, password: b}], jetstream: enabled } }', 'a'],
    ['no_auth_user in an enabled account', 'jetstream { store_dir: STORE }\naccounts { A { users: [{user: a, password: a}], jetstream: {max_streams: 3} } }\nno_auth_user: a', ''],
  ];
  for (const [name, conf, u] of cases) {
    it(name, async () => {
      const results: Partial<Record<Kind, unknown>> = {};
      for (const k of KINDS) {
        const s = await startConf(k, conf);
        try {
          const nc = u ? await user(s, u) : await connect({ servers: `127.0.0.1:${s.port}`, reconnect: false });
          try {
            results[k] = body(await req(nc, '$JS.API.INFO', undefined, 500));
          } finally {
            await nc.close();
          }
        } finally {
          await s.close();
        }
      }
      if (results['nats-server']) assert.deepEqual(results.tsnats, results['nats-server']);
    });
  }

  it('server JetStream off: an account configured with jetstream gets silence (nats-server\'s import), the others no responders', async () => {
    const conf = 'accounts { A { users: [{user: a, password: a}], jetstream: enabled }, B { users: [{user: b, password: b}] } }';
    const results: Partial<Record<Kind, unknown>> = {};
    for (const k of KINDS) {
      const s = await startConf(k, conf);
      try {
        const out: unknown[] = [];
        for (const u of ['a', 'b']) {
          const nc = await user(s, u);
          out.push(body(await req(nc, '$JS.API.INFO', undefined, 300)));
          await nc.close();
        }
        results[k] = out;
      } finally {
        await s.close();
      }
    }
    assert.deepEqual(results.tsnats, ['TIMEOUT', { status: '503 No Responders', headers: {} }]);
    if (results['nats-server']) assert.deepEqual(results.tsnats, results['nats-server']);
  });

  it('refuses JetStream on the system account and account limits above the server\'s, as nats-server', async () => {
    const confs = [
      'jetstream { store_dir: STORE }\nsystem_account: SYS\naccounts { SYS { users: [{user: s, password: s}], jetstream: enabled } }',
      'jetstream { store_dir: STORE, max_mem: 1M, max_file: 10M }\naccounts { A { users: [{user: a, password: a}], jetstream: {max_mem: 512K} }, B { users: [{user: b, password: b}], jetstream: {max_mem: 600K} } }',
      'jetstream { store_dir: STORE, max_mem: 1M, max_file: 10M }\naccounts { A { users: [{user: a, password: a}], jetstream: {max_file: 11M} } }',
    ];
    const want = [/Not allowed to enable JetStream on the system account/, /insufficient memory resources available \(10028\)/, /insufficient storage resources available \(10047\)/];
    for (const k of KINDS) {
      for (let i = 0; i < confs.length; i++) {
        const r = await runToExit(k, confs[i]!);
        assert.notEqual(r.code, 0, `${k} ${i}: ${r.out}`);
        assert.notEqual(r.code, -1, `${k} ${i} did not exit: ${r.out}`);
        assert.match(r.out, want[i]!, `${k} ${i}`);
      }
    }
  });
});

describe('JetStream per account: limits (tsnats and nats-server 2.9.10)', () => {
  it('max_streams, max_consumers, max_mem, max_file: errors, publish refusals and $JS.API.INFO', async () => {
    const conf = `jetstream { store_dir: STORE }
accounts { A { users: [{user: a, password: a}], jetstream: {max_file: 1000, max_mem: 0, max_streams: 2, max_consumers: 1} } }`;
    const P = 'x'.repeat(300);
    const steps: [string, unknown?][] = [
      ['$JS.API.STREAM.CREATE.M', { name: 'M', subjects: ['m'], storage: 'memory' }],
      ['$JS.API.STREAM.CREATE.F', { name: 'F', subjects: ['f'], max_bytes: 2000 }],
      ['$JS.API.STREAM.CREATE.F', { name: 'F', subjects: ['f'], max_consumers: 5 }],
      ['$JS.API.STREAM.CREATE.F', { name: 'F', subjects: ['f'] }],
      ['$JS.API.STREAM.CREATE.G', { name: 'G', subjects: ['g'], max_consumers: 1 }],
      ['$JS.API.STREAM.CREATE.H', { name: 'H', subjects: ['h'] }],
      // an identical re-create is refused too when the account is at max_streams (nats-server)
      ['$JS.API.STREAM.CREATE.F', { name: 'F', subjects: ['f'] }],
      ['f', P],
      ['f', P],
      ['f', P],
      ['f', P],
      ['f', P],
      ['$JS.API.STREAM.INFO.F'],
      ['$JS.API.STREAM.UPDATE.F', { name: 'F', subjects: ['f'], max_bytes: 5000 }],
      ['$JS.API.CONSUMER.DURABLE.CREATE.F.c1', { stream_name: 'F', config: { durable_name: 'c1', ack_policy: 'explicit' } }],
      ['$JS.API.CONSUMER.DURABLE.CREATE.F.c2', { stream_name: 'F', config: { durable_name: 'c2', ack_policy: 'explicit' } }],
      ['$JS.API.CONSUMER.DURABLE.CREATE.G.c2', { stream_name: 'G', config: { durable_name: 'c2', ack_policy: 'explicit' } }],
      ['$JS.API.CONSUMER.CREATE.G', { stream_name: 'G', config: {} }],
      ['$JS.API.STREAM.DELETE.G'],
      ['$JS.API.STREAM.CREATE.H', { name: 'H', subjects: ['h'], max_bytes: 1 }],
      ['$JS.API.INFO'],
    ];
    const results: Partial<Record<Kind, unknown[]>> = {};
    for (const k of KINDS) {
      const s = await startConf(k, conf);
      const nc = await user(s, 'a');
      try {
        const out: unknown[] = [];
        for (const [subj, b] of steps) out.push([subj, body(await req(nc, subj, b, 1000))]);
        results[k] = out;
      } finally {
        await nc.close();
        await s.close();
      }
    }
    const ts = results.tsnats!;
    const code = (i: number) => ((ts[i] as [string, { json?: unknown; error?: { err_code: number } }])[1] as { error?: { err_code: number } }).error?.err_code;
    assert.equal(code(0), 10028);
    assert.equal(code(1), 10047);
    assert.equal(code(2), 10026);
    assert.equal(code(5), 10027);
    assert.equal(code(10), 10002);
    if (results['nats-server']) {
      for (let i = 0; i < steps.length; i++) assert.deepEqual(ts[i], results['nats-server'][i], `step ${i} ${steps[i]![0]}`);
    }
  });
});

describe('JetStream per account: reservations (tsnats and nats-server 2.9.10)', () => {
  it('memory and file reservations on create and update, eviction within max_bytes, usage in $JS.API.INFO', async () => {
    const conf = `jetstream { store_dir: STORE }
accounts { A { users: [{user: a, password: a}], jetstream: {max_mem: 2000, max_file: 5000} } }`;
    const P = 'x'.repeat(700);
    const mem = (name: string, maxBytes?: number) => ({ name, subjects: [name.toLowerCase()], storage: 'memory', ...(maxBytes !== undefined ? { max_bytes: maxBytes } : {}) });
    const steps: [string, unknown?][] = [
      ['$JS.API.STREAM.CREATE.M', mem('M', 1500)],
      ['$JS.API.STREAM.CREATE.N', mem('N', 600)],
      ['$JS.API.STREAM.CREATE.N', mem('N', 500)],
      ['$JS.API.STREAM.UPDATE.M', mem('M', 1600)],
      ['$JS.API.STREAM.UPDATE.M', mem('M', 1400)],
      ['$JS.API.STREAM.CREATE.O', mem('O')],
      ['n', P],
      ['m', P],
      ['m', P],
      ['m', P],
      ['n', P],
      ['$JS.API.STREAM.INFO.M'],
      ['$JS.API.INFO'],
      ['$JS.API.STREAM.CREATE.F', { name: 'F', subjects: ['f'], max_bytes: 5000 }],
      ['$JS.API.STREAM.CREATE.G', { name: 'G', subjects: ['g'] }],
      ['$JS.API.STREAM.DELETE.F'],
      ['$JS.API.STREAM.CREATE.G', { name: 'G', subjects: ['g'] }],
    ];
    const results: Partial<Record<Kind, unknown[]>> = {};
    for (const k of KINDS) {
      const s = await startConf(k, conf);
      const nc = await user(s, 'a');
      try {
        const out: unknown[] = [];
        for (const [subj, b] of steps) out.push([subj, body(await req(nc, subj, b, 1000))]);
        results[k] = out;
      } finally {
        await nc.close();
        await s.close();
      }
    }
    const ts = results.tsnats!;
    const err = (i: number) => ((ts[i] as [string, { error?: { err_code: number } }])[1]).error?.err_code;
    assert.equal(err(1), 10028);
    assert.equal(err(3), 10028);
    assert.equal(err(14), 10047);
    assert.equal(err(16), undefined);
    if (results['nats-server']) {
      for (let i = 0; i < steps.length; i++) assert.deepEqual(ts[i], results['nats-server'][i], `step ${i} ${steps[i]![0]}`);
    }
  });
});

describe('JetStream per account: stream bytes and ack pending limits (tsnats and nats-server 2.9.10)', () => {
  it('max_bytes_required, memory/store_max_stream_bytes, max_ack_pending (account and server)', async () => {
    const conf = `jetstream { store_dir: STORE, limits { max_ack_pending: 100 } }
accounts { A { users: [{user: a, password: a}], jetstream: {max_bytes_required: true, memory_max_stream_bytes: 1000, store_max_stream_bytes: 2000, max_ack_pending: 50} } }`;
    const dur = (c: string, extra: Record<string, unknown> = {}) => ({ stream_name: 'F', config: { durable_name: c, ack_policy: 'explicit', ...extra } });
    const steps: [string, unknown?][] = [
      ['$JS.API.STREAM.CREATE.F', { name: 'F', subjects: ['f'] }],
      ['$JS.API.STREAM.CREATE.F', { name: 'F', subjects: ['f'], max_bytes: 3000 }],
      ['$JS.API.STREAM.CREATE.F', { name: 'F', subjects: ['f'], max_bytes: 2000 }],
      ['$JS.API.STREAM.CREATE.M', { name: 'M', subjects: ['m'], storage: 'memory', max_bytes: 1001 }],
      ['$JS.API.STREAM.CREATE.M', { name: 'M', subjects: ['m'], storage: 'memory', max_bytes: 1000 }],
      ['$JS.API.CONSUMER.DURABLE.CREATE.F.c1', dur('c1')],
      ['$JS.API.CONSUMER.DURABLE.CREATE.F.c2', dur('c2', { max_ack_pending: 60 })],
      ['$JS.API.CONSUMER.DURABLE.CREATE.F.c3', dur('c3', { max_ack_pending: 150 })],
      ['$JS.API.STREAM.UPDATE.F', { name: 'F', subjects: ['f'], max_bytes: 2500 }],
      ['$JS.API.STREAM.UPDATE.F', { name: 'F', subjects: ['f'] }],
      ['$JS.API.INFO'],
    ];
    const results: Partial<Record<Kind, unknown[]>> = {};
    for (const k of KINDS) {
      const s = await startConf(k, conf);
      const nc = await user(s, 'a');
      try {
        const out: unknown[] = [];
        for (const [subj, b] of steps) out.push([subj, body(await req(nc, subj, b, 1000))]);
        results[k] = out;
      } finally {
        await nc.close();
        await s.close();
      }
    }
    const ts = results.tsnats!;
    const err = (i: number) => ((ts[i] as [string, { error?: { err_code: number; description: string } }])[1]).error;
    assert.equal(err(0)?.err_code, 10113);
    assert.equal(err(1)?.err_code, 10122);
    assert.equal(err(6)?.description, 'consumer max ack pending exceeds system limit of 50');
    assert.equal(err(7)?.description, 'consumer max ack pending exceeds system limit of 100');
    assert.equal(((ts[5] as [string, { config: { max_ack_pending: number } }])[1]).config.max_ack_pending, 50);
    if (results['nats-server']) {
      for (let i = 0; i < steps.length; i++) assert.deepEqual(ts[i], results['nats-server'][i], `step ${i} ${steps[i]![0]}`);
    }
  });
});

describe('JetStream per account: /jsz (tsnats and nats-server 2.9.10)', () => {
  it('accounts count, account_details per account, ?acc=', async () => {
    const conf = `jetstream { store_dir: STORE }
accounts {
  A { users: [{user: a, password: a}], jetstream: {max_mem: 1M, max_file: 1G, max_streams: 5} }
  B { users: [{user: b, password: b}], jetstream: enabled }
  C { users: [{user: c, password: c}] }
}`;
    const results: Partial<Record<Kind, unknown>> = {};
    for (const k of KINDS) {
      const s = await startConf(k, conf);
      try {
        for (const u of ['a', 'b']) {
          const nc = await user(s, u);
          await jetstreamManager(nc).then((m) => m.streams.add({ name: 'S', subjects: ['s'], max_bytes: 1000 }));
          await jetstream(nc).publish('s', 'hello');
          await nc.close();
        }
        const out: Record<string, unknown> = {};
        for (const q of ['', '?accounts=1', '?acc=A', '?acc=C', '?acc=nope', '?acc=B&streams=1', '?accounts=1&offset=1', '?accounts=1&limit=1']) {
          const text = await (await fetch(`http://127.0.0.1:${s.http}/jsz${q}`)).text();
          // Go's uint64(-1) for unlimited limits: keep it as text (a JS number cannot hold it)
          const j = JSON.parse(text.replaceAll('18446744073709551615', '"u64max"')) as Record<string, unknown>;
          const details = (j.account_details as Record<string, unknown>[] | undefined)?.map((d) => {
            const sd = (d.stream_detail as Record<string, unknown>[] | undefined)?.map((x) => ({ name: x.name, state: norm(x.state) }));
            return { name: d.name, id: d.id, memory: d.memory, storage: d.storage, reserved_memory: d.reserved_memory, reserved_storage: d.reserved_storage, accounts: d.accounts, api: d.api, ...(sd ? { stream_detail: sd } : {}) };
          });
          // nats-server lists accounts in map order unless an offset is given: compare sorted,
          // and for a limit without offset only how many came back
          details?.sort((x, y) => String(x.name).localeCompare(String(y.name)));
          if (q.includes('limit=1')) {
            out[q] = { count: details?.length };
            continue;
          }
          out[q] = {
            accounts: j.accounts,
            streams: j.streams,
            messages: j.messages,
            bytes: j.bytes,
            storage: j.storage,
            reserved_storage: j.reserved_storage,
            api: j.api,
            ...(details ? { account_details: details } : {}),
          };
        }
        results[k] = out;
      } finally {
        await s.close();
      }
    }
    const ts = results.tsnats as Record<string, { accounts: number; account_details?: { name: string }[] }>;
    assert.equal(ts['']!.accounts, 2);
    assert.deepEqual(ts['?acc=A']!.account_details!.map((d) => d.name), ['A']);
    assert.equal(ts['?acc=C']!.account_details, undefined);
    if (results['nats-server']) assert.deepEqual(results.tsnats, results['nats-server']);
  });
});

describe('JetStream per account: store layout (tsnats and nats-server 2.9.10)', () => {
  it('one directory per account with streams, none for accounts without (created with the first stream)', async () => {
    const results: Partial<Record<Kind, unknown>> = {};
    for (const k of KINDS) {
      const s = await startConf(k, TWO_ACCOUNTS);
      try {
        const before = readdirSync(join(s.dir, 'jetstream')).sort();
        const nc = await user(s, 'a');
        await (await jetstreamManager(nc)).streams.add({ name: 'S', subjects: ['s'] });
        await nc.close();
        results[k] = { before, after: readdirSync(join(s.dir, 'jetstream')).sort(), streams: readdirSync(join(s.dir, 'jetstream', 'A', 'streams')) };
      } finally {
        await s.close();
      }
    }
    assert.deepEqual(results.tsnats, { before: [], after: ['A'], streams: ['S'] });
    if (results['nats-server']) assert.deepEqual(results.tsnats, results['nats-server']);
  });
});

describe('JetStream per account: storage and recovery (tsnats)', () => {
  it('streams of every account come back into their account after kill -9', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jsacc-restart-'));
    try {
      let s = await startConf('tsnats', TWO_ACCOUNTS, dir);
      for (const [u, n] of [['a', 3], ['b', 5]] as const) {
        const nc = await user(s, u);
        const m = await jetstreamManager(nc);
        await m.streams.add({ name: 'S', subjects: ['s.>'] });
        await m.consumers.add('S', { durable_name: `dur_${u}`, ack_policy: AckPolicy.Explicit });
        const js = jetstream(nc);
        for (let i = 0; i < n; i++) await js.publish(`s.${u}`, `${u}${i}`);
        const kv = await new Kvm(nc).create('kv');
        await kv.put('who', u);
        await nc.close();
      }
      await s.proc.kill('SIGKILL');
      assert.ok(existsSync(join(dir, 'jetstream', 'A', 'streams', 'S')));
      assert.ok(existsSync(join(dir, 'jetstream', 'B', 'streams', 'S')));
      assert.ok(existsSync(join(dir, 'jetstream', 'B', 'streams', 'KV_kv')));
      s = await startConf('tsnats', TWO_ACCOUNTS, dir);
      try {
        for (const [u, n] of [['a', 3], ['b', 5]] as const) {
          const nc = await user(s, u);
          try {
            const m = await jetstreamManager(nc);
            const si = await m.streams.info('S');
            assert.equal(si.state.messages, n, `account of ${u}`);
            const ci = await m.consumers.info('S', `dur_${u}`);
            assert.equal(ci.num_pending, n);
            assert.match(await errOf(m.consumers.info('S', u === 'a' ? 'dur_b' : 'dur_a')), /consumer not found/);
            assert.equal((await (await new Kvm(nc).open('kv')).get('who'))?.string(), u);
            assert.equal((await m.streams.getMessage('S', { seq: 1 }))?.string(), `${u}0`);
          } finally {
            await nc.close();
          }
        }
        assert.match(s.proc.out(), /Starting restore for stream 'A > S'/);
        assert.match(s.proc.out(), /Starting restore for stream 'B > S'/);
      } finally {
        await s.proc.kill();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a store of the global account ($G) recovers unchanged, and is not loaded into a configured account', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jsacc-g-'));
    try {
      let s = await startConf('tsnats', 'jetstream { store_dir: STORE }', dir);
      let nc = await connect({ servers: `127.0.0.1:${s.port}`, reconnect: false });
      await (await jetstreamManager(nc)).streams.add({ name: 'G', subjects: ['g'] });
      await jetstream(nc).publish('g', 'one');
      await nc.close();
      await s.proc.kill();
      assert.ok(existsSync(join(dir, 'jetstream', '$G', 'streams', 'G')));
      s = await startConf('tsnats', 'jetstream { store_dir: STORE }', dir);
      nc = await connect({ servers: `127.0.0.1:${s.port}`, reconnect: false });
      assert.equal((await (await jetstreamManager(nc)).streams.info('G')).state.messages, 1);
      await nc.close();
      await s.proc.kill();
      // with accounts configured, $G has no JetStream and A does not see $G's streams
      s = await startConf('tsnats', TWO_ACCOUNTS, dir);
      try {
        nc = await user(s, 'a');
        assert.match(await errOf((await jetstreamManager(nc)).streams.info('G')), /stream not found/);
        await nc.close();
      } finally {
        await s.proc.kill();
      }
      assert.ok(existsSync(join(dir, 'jetstream', '$G', 'streams', 'G')), 'files of $G are kept');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('JetStream per account: reload (tsnats and nats-server 2.9.10)', () => {
  it('an account that gains JetStream on reload gets it; one that loses it answers 10039 again', async () => {
    const off = `jetstream { store_dir: STORE }
accounts { A { users: [{user: a, password: a}], jetstream: enabled }, B { users: [{user: b, password: b}] } }`;
    const on = `jetstream { store_dir: STORE }
accounts { A { users: [{user: a, password: a}], jetstream: enabled }, B { users: [{user: b, password: b}], jetstream: {max_streams: 1} } }`;
    const results: Partial<Record<Kind, unknown>> = {};
    for (const k of KINDS) {
      const s = await startConf(k, off);
      const reload = async (conf: string, until: (r: unknown) => boolean): Promise<unknown> => {
        writeFileSync(join(s.dir, 'server.conf'), `listen: 127.0.0.1:-1\nhttp: 127.0.0.1:-1\n${conf.replaceAll('STORE', s.dir)}\n`);
        const reloads = () => s.proc.out().split('Reloaded server configuration').length;
        const before = reloads();
        s.proc.child.kill('SIGHUP');
        for (let i = 0; i < 100 && reloads() === before; i++) await sleep(50);
        let r: unknown;
        for (let i = 0; i < 50; i++) {
          try {
            const nc = await user(s, 'b');
            r = body(await req(nc, '$JS.API.INFO', undefined, 500));
            await nc.close();
          } catch (e) {
            r = (e as Error).message; // the server may close connections while it reloads
          }
          if (typeof r === 'object' && until(r)) break;
          await sleep(100);
        }
        return r;
      };
      try {
        const out: unknown[] = [];
        let nc = await user(s, 'b');
        out.push(body(await req(nc, '$JS.API.INFO')));
        await nc.close();
        const enabled = (r: unknown) => !(r as { error?: unknown }).error;
        out.push(await reload(on, enabled));
        nc = await user(s, 'b');
        out.push(body(await req(nc, '$JS.API.STREAM.CREATE.S', { name: 'S', subjects: ['s'] })));
        out.push(body(await req(nc, '$JS.API.STREAM.CREATE.T', { name: 'T', subjects: ['t'] })));
        await nc.close();
        out.push(await reload(off, (r) => !enabled(r)));
        nc = await user(s, 'a');
        out.push(body(await req(nc, '$JS.API.STREAM.NAMES')));
        await nc.close();
        results[k] = out;
      } finally {
        await s.close();
      }
    }
    const ts = results.tsnats as { error?: { err_code: number } }[];
    assert.equal(ts[0]!.error?.err_code, 10039);
    assert.equal(ts[1]!.error, undefined);
    assert.equal(ts[3]!.error?.err_code, 10027);
    assert.equal(ts[4]!.error?.err_code, 10039);
    if (results['nats-server']) assert.deepEqual(results.tsnats, results['nats-server']);
  });
});

describe('JetStream per account: accounts registered at run time (operator mode path)', () => {
  it('an account added to the registry after start gets JetStream (or 10039) without a reload', async () => {
    const { startServer } = await import('../../src/index.js');
    const { Account } = await import('../../src/server/accounts/account.js');
    const dir = mkdtempSync(join(tmpdir(), 'jsacc-dyn-'));
    const cf = join(dir, 'server.conf');
    writeFileSync(cf, `jetstream { store_dir: ${dir} }\naccounts { A { users: [{user: a, password: a}], jetstream: enabled } }\n`);
    const r = await startServer({ configFile: cf, options: { port: -1, host: '127.0.0.1' } });
    try {
      const srv = r.server;
      const js = srv.jetstream as unknown as { accounts: Map<string, unknown>; syncAccounts(): Promise<void> };
      assert.deepEqual([...js.accounts.keys()], ['A']);
      const d = new Account('D', { name: 'D', users: [], exports: [], imports: [], jetstream: { maxMemory: -1, maxStore: -1, maxStreams: 2, maxConsumers: -1 } });
      d.dynamic = true;
      srv.accounts.add(d as never);
      const e = new Account('E', { name: 'E', users: [], exports: [], imports: [] });
      e.dynamic = true;
      srv.accounts.add(e as never);
      await js.syncAccounts(); // waits for the passes the registrations started
      assert.deepEqual([...js.accounts.keys()].sort(), ['A', 'D']);
      // both answer on $JS.API in their own subject index: D as a JetStream account, E with 10039
      assert.ok(d.index.match('$JS.API.INFO').plain.length > 0);
      assert.ok(e.index.match('$JS.API.INFO').plain.length > 0);
    } finally {
      await r.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
