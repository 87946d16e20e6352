// tsnats vs nats-server benchmark: `npm run bench` (full, ~5–8 min) or `npm run bench -- --quick`
// (CI smoke, < 1 min). See docs/benchmarks.md for what is measured and how to read the table.
//
// Both servers run in turn on 127.0.0.1 (one phase of scenarios on one server, then the same
// phase on the other, order alternating every round) under the same compiled Go load generator
// (bench/loadgen/main.go, official nats.go client). Everything started here is stopped at the
// end, on errors and on Ctrl-C.
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import { ensureTools, goVersion, natsServerVersion } from './lib/deps.js';
import { buildLoadgen, killAllChildren, killAllChildrenSync, runLoadgen, startIdle, type Json } from './lib/loadgen.js';
import { ROWS, markdownTable, outcomes, writeSection, fmt, type Samples } from './lib/report.js';
import { startServer, withNofile, type RunningServer, type ServerSpec, type StartOpts } from './lib/servers.js';
import { setupTls, type TlsSetup } from './lib/tls.js';
import { connectFor, jwtSetup, nkeySetup, type AuthSetup } from './lib/auth-connects.js';
import { streamInfoReady } from './lib/jsready.js';
import { busyCpus, embeddedStart, median as medianOf, nodeBoot, startTogether } from './lib/startup.js';
import { capture, freePort, log, machineCpuSeconds, repoRoot, selfAndChildrenCpuSeconds, sleep } from './lib/util.js';

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/** Set on Ctrl-C / SIGTERM: nothing new is started after that. */
let stopping = false;

const TASKS = ['pub16', 'pub1k', 'p2p', 'fanout', 'nn', 'queue', 'req', 'idle', 'tls_p2p', 'hs', 'ws_p2p', 'ws_fanout', 'route', 'startup', 'js', 'leaf', 'js_restart', 'ocsp_peer', 'svc_import_rr', 'nkey_connect', 'jwt_connect'] as const;
type Task = (typeof TASKS)[number];

interface Options {
  quick: boolean;
  rounds: number;
  /** Seconds per throughput / latency / handshake measurement. */
  duration: number;
  /** Seconds of unmeasured load each server instance gets before its measurements (0 = cold). */
  warmup: number;
  /** Seconds without progress before the subscribers are declared done. */
  drain: number;
  conns: number;
  handshakeConc: number;
  only?: Set<Task>;
  pin: boolean;
  label?: string;
  install: boolean;
  write: boolean;
  doc: string;
  json?: string;
  tsnatsCmd?: string[];
  natsServerCmd?: string[];
  keep: boolean;
}

const HELP = `usage: npm run bench -- [options]      (or: node dist/bench/run.js [options])

Compares tsnats with nats-server on 127.0.0.1 under the same Go (nats.go) load generator and
writes the table to docs/benchmarks.md.

  --quick              CI smoke: 1 round, 0.5 s per measurement, 1000 idle connections (< 1 min)
  --rounds N           rounds, each running every scenario on both servers (default 3)
  --duration S         seconds per measurement (default 3)
  --warmup S           unmeasured load per server instance before it is measured (default 5, quick 0.5;
                       0 measures cold starts)
  --conns N            idle connections for the memory row (default 10000)
  --only LIST          comma-separated subset of: ${TASKS.join(',')} (does not write the doc)
  --pin                pin the server to CPU 0 and the load generator to the other CPUs (taskset)
  --label TEXT         note shown with the results, e.g. "machine shared with running tests"
  --no-install         never apt-get install missing tools; fail with a message instead
  --no-write           print only; leave docs/benchmarks.md alone
  --doc FILE           write the results section into FILE (default docs/benchmarks.md)
  --json FILE          also write raw samples and notes as JSON
  --tsnats-cmd CMD     command that starts tsnats (default: node bin/tsnats); it gets -a -p [-c]
  --nats-server-cmd CMD  command that starts nats-server (default: nats-server from PATH)
  --keep               keep the work folder (configs, server logs, PKI) and print its path
`;

class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    quick: false,
    rounds: 3,
    duration: 3,
    warmup: 5,
    drain: 3,
    conns: 10_000,
    handshakeConc: 8,
    pin: false,
    install: true,
    write: true,
    doc: join(repoRoot(), 'docs', 'benchmarks.md'),
    keep: false,
  };
  const set = { rounds: false, duration: false, conns: false, warmup: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    const num = (zeroAllowed = false) => {
      const v = Number(val());
      if (!Number.isFinite(v) || v < 0 || (v === 0 && !zeroAllowed)) throw new UsageError(`${a} needs a ${zeroAllowed ? 'non-negative' : 'positive'} number`);
      return v;
    };
    switch (a) {
      case '--quick':
        o.quick = true;
        break;
      case '--rounds':
        o.rounds = Math.round(num());
        set.rounds = true;
        break;
      case '--duration':
        o.duration = num();
        set.duration = true;
        break;
      case '--warmup':
        o.warmup = num(true);
        set.warmup = true;
        break;
      case '--conns':
        o.conns = Math.round(num());
        set.conns = true;
        break;
      case '--only': {
        const list = val().split(',').map((s) => s.trim()).filter(Boolean);
        for (const t of list) if (!(TASKS as readonly string[]).includes(t)) throw new UsageError(`--only: unknown scenario ${t} (known: ${TASKS.join(', ')})`);
        o.only = new Set(list as Task[]);
        break;
      }
      case '--pin':
        o.pin = true;
        break;
      case '--label':
        o.label = val();
        break;
      case '--no-install':
        o.install = false;
        break;
      case '--no-write':
        o.write = false;
        break;
      case '--doc':
        o.doc = val();
        break;
      case '--json':
        o.json = val();
        break;
      case '--tsnats-cmd':
        o.tsnatsCmd = val().split(/\s+/).filter(Boolean);
        break;
      case '--nats-server-cmd':
        o.natsServerCmd = val().split(/\s+/).filter(Boolean);
        break;
      case '--keep':
        o.keep = true;
        break;
      case '-h':
      case '--help':
        process.stdout.write(HELP);
        process.exit(0);
      default:
        throw new UsageError(`unknown option ${a} (see --help)`);
    }
  }
  if (o.quick) {
    if (!set.rounds) o.rounds = 1;
    if (!set.duration) o.duration = 0.5;
    if (!set.conns) o.conns = 1000;
    if (!set.warmup) o.warmup = 0.5;
    o.drain = 1;
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// State shared by the phases
// ---------------------------------------------------------------------------------------------

interface Ctx {
  opts: Options;
  loadgen: string;
  workDir: string;
  tls?: TlsSetup;
  tlsProblem?: string;
  samples: Samples;
  notes: string[];
  serverPin?: string[];
  clientPin?: string[];
  round: number;
  /** Both servers, for the phases that mix them (a tsnats node routed to a nats-server node). */
  specs?: { natsServer: ServerSpec; tsnats: ServerSpec };
}

function want(ctx: Ctx, t: Task): boolean {
  return !ctx.opts.only || ctx.opts.only.has(t);
}

function push(ctx: Ctx, server: string, key: string, v: number): void {
  if (!Number.isFinite(v)) return;
  ((ctx.samples[server] ??= {})[key] ??= []).push(v);
}

function note(ctx: Ctx, server: string, what: string, msg: string): void {
  if (stopping) return;
  const line = `round ${ctx.round}, ${server}, ${what}: ${msg}`;
  ctx.notes.push(line);
  log(line);
}

const num = (j: Json, k: string): number => (typeof j[k] === 'number' ? (j[k] as number) : NaN);

function loadgenTimeout(ctx: Ctx, extraSec = 0): number {
  return (ctx.opts.duration * 3 + 20 + 60 + extraSec) * 1000;
}

// ---------------------------------------------------------------------------------------------
// Phases
// ---------------------------------------------------------------------------------------------

/** Starts a server for one phase; on failure records a note and returns undefined. */
async function start(ctx: Ctx, spec: ServerSpec, phase: string, extra: Partial<StartOpts> = {}): Promise<RunningServer | undefined> {
  if (stopping) return undefined;
  try {
    return await startServer(spec, { workDir: ctx.workDir, pin: ctx.serverPin, nofile: 4096, ...extra });
  } catch (e) {
    note(ctx, spec.name, phase, `server did not start: ${(e as Error).message}`);
    return undefined;
  }
}

async function pubsub(ctx: Ctx, srv: RunningServer, key: string, args: string[], url?: string, tlsArgs: string[] = []): Promise<Json | undefined> {
  if (!srv.alive()) {
    note(ctx, srv.spec.name, key, `server is not running: ${srv.tail(3)}`);
    return undefined;
  }
  const mode = args.includes('-subs') ? 'pubsub' : 'pub';
  const u = url ?? `nats://127.0.0.1:${srv.port}`;
  const cpu0 = srv.cpuSeconds();
  try {
    const r = await runLoadgen(
      ctx.loadgen,
      mode,
      ['-url', u, ...tlsArgs, '-subj', `bench.${key}.${ctx.round}`, '-dur', `${ctx.opts.duration}s`, '-drain', `${ctx.opts.drain}s`, '-maxwait', `${ctx.opts.quick ? 5 : 20}s`, ...args],
      { prefix: ctx.clientPin, timeoutMs: loadgenTimeout(ctx) },
    );
    r.server_cpu_s = srv.cpuSeconds() - cpu0;
    const lost = num(r, 'lost');
    const exp = num(r, 'expected');
    if (exp > 0) push(ctx, srv.spec.name, `${key}_lost_pct`, (100 * Math.max(0, lost)) / exp);
    if (lost > 0) {
      const closed = num(r, 'subs_closed');
      const why = closed > 0 ? `the server closed ${closed} of ${num(r, 'subs')} subscriber connection(s) (slow consumer?)` : 'lost, or still queued when the wait ended';
      note(ctx, srv.spec.name, key, `${lost} of ${exp} deliveries (${((100 * lost) / exp).toFixed(2)} %) did not arrive: ${why}; the rate counts delivered messages only`);
    }
    if (r.pub_error) note(ctx, srv.spec.name, key, `publisher error: ${String(r.pub_error)}`);
    if (r.first_async_error) note(ctx, srv.spec.name, key, `client saw ${String(r.async_errors)} async error(s), first: ${String(r.first_async_error)}`);
    if (!srv.alive()) note(ctx, srv.spec.name, key, `server exited during the run: ${srv.tail(3)}`);
    await sleep(200);
    return r;
  } catch (e) {
    note(ctx, srv.spec.name, key, (e as Error).message);
    return undefined;
  }
}

/**
 * Unmeasured load before an instance's first measurement: V8 compiles tsnats' hot paths during
 * its first seconds of load (nats-server is compiled ahead of time), and a server runs for much
 * longer than a benchmark window. Both servers get the same warm-up; results are discarded.
 */
async function warmUp(ctx: Ctx, srv: RunningServer, mode: 'pubsub' | 'handshake', url: string, tlsArgs: string[] = []): Promise<void> {
  const secs = ctx.opts.warmup;
  if (secs <= 0 || !srv.alive()) return;
  const args =
    mode === 'pubsub'
      ? ['-url', url, ...tlsArgs, '-subj', `bench.warmup.${ctx.round}`, '-dur', `${secs}s`, '-drain', '1s', '-maxwait', '5s', '-size', '16', '-pubs', '1', '-subs', '1']
      : ['-url', url, ...tlsArgs, '-conc', String(ctx.opts.handshakeConc), '-dur', `${secs}s`];
  try {
    await runLoadgen(ctx.loadgen, mode, args, { prefix: ctx.clientPin, timeoutMs: loadgenTimeout(ctx) });
  } catch (e) {
    note(ctx, srv.spec.name, 'warm-up', (e as Error).message);
  }
  await sleep(200);
}

function cpuPerMillion(r: Json): number {
  const recv = num(r, 'received');
  const cpu = num(r, 'server_cpu_s');
  return recv > 0 && cpu >= 0 ? cpu / (recv / 1e6) : NaN;
}

/** The plain-TCP scenarios, in the order they run on one server instance. */
const PLAIN: { task: Task; args: string[]; rows: (r: Json) => [string, number][] }[] = [
  { task: 'pub16', args: ['-size', '16', '-pubs', '1'], rows: (r) => [['pub16', num(r, 'pub_rate')]] },
  { task: 'pub1k', args: ['-size', '1024', '-pubs', '1'], rows: (r) => [['pub1k', num(r, 'pub_rate')]] },
  {
    task: 'p2p',
    args: ['-size', '16', '-pubs', '1', '-subs', '1'],
    rows: (r) => [
      ['p2p', num(r, 'sub_rate')],
      ['cpu_p2p', cpuPerMillion(r)],
    ],
  },
  {
    task: 'fanout',
    args: ['-size', '128', '-pubs', '1', '-subs', '4'],
    rows: (r) => [
      ['fanout', num(r, 'sub_rate')],
      ['cpu_fanout', cpuPerMillion(r)],
    ],
  },
  { task: 'nn', args: ['-size', '128', '-pubs', '4', '-subs', '4'], rows: (r) => [['nn', num(r, 'sub_rate')]] },
  { task: 'queue', args: ['-size', '128', '-pubs', '1', '-subs', '4', '-queue', 'bench-q'], rows: (r) => [['queue', num(r, 'sub_rate')]] },
];

async function phasePlain(ctx: Ctx, spec: ServerSpec): Promise<boolean> {
  if (!PLAIN.some((s) => want(ctx, s.task)) && !want(ctx, 'req')) return false;
  let srv = await start(ctx, spec, 'plain');
  if (!srv) return true;
  await warmUp(ctx, srv, 'pubsub', `nats://127.0.0.1:${srv.port}`);
  const name = spec.name;
  // A server that died in one scenario is restarted for the next one (the death is noted).
  const live = async (what: string): Promise<RunningServer | undefined> => {
    if (srv?.alive()) return srv;
    if (srv) {
      note(ctx, name, what, `server was not running (restarted for this scenario); its last output: ${srv.tail(3) || 'none'}`);
      await srv.stop();
    }
    srv = await start(ctx, spec, 'plain');
    return srv;
  };
  try {
    for (const sc of PLAIN) {
      if (!want(ctx, sc.task)) continue;
      const s = await live(sc.task);
      if (!s) return true;
      const r = await pubsub(ctx, s, sc.task, sc.args);
      if (r) for (const [k, v] of sc.rows(r)) push(ctx, name, k, v);
    }
    if (want(ctx, 'req')) {
      const s = await live('req');
      if (!s) return true;
      try {
        const r = await runLoadgen(
          ctx.loadgen,
          'reqrep',
          ['-url', `nats://127.0.0.1:${s.port}`, '-subj', `bench.req.${ctx.round}`, '-size', '128', '-dur', `${ctx.opts.duration}s`],
          { prefix: ctx.clientPin, timeoutMs: loadgenTimeout(ctx) },
        );
        push(ctx, name, 'req_p50', num(r, 'p50_us'));
        push(ctx, name, 'req_p99', num(r, 'p99_us'));
        push(ctx, name, 'req_rate', num(r, 'rate'));
        if (num(r, 'failures') > 0) note(ctx, name, 'req', `${num(r, 'failures')} request(s) failed, first: ${String(r.first_failure)}`);
      } catch (e) {
        note(ctx, name, 'req', (e as Error).message);
      }
    }
  } finally {
    await srv?.stop();
  }
  return true;
}

/**
 * Two servers of the same kind joined by one route (cluster): the publisher on node A, the
 * subscriber on node B, so every message crosses the route (docs/clustering.md).
 */
async function phaseRoute(ctx: Ctx, spec: ServerSpec): Promise<boolean> {
  if (!want(ctx, 'route')) return false;
  const pair = await startPair(ctx, spec, spec);
  if (!pair) return true;
  const [a, b] = pair;
  try {
    const sub = ['-suburl', `nats://127.0.0.1:${b.port}`];
    await warmUp(ctx, a, 'pubsub', `nats://127.0.0.1:${a.port}`, sub);
    for (const size of [16, 128]) {
      const key = `route${size}`;
      const r = await pubsub(ctx, a, key, ['-size', String(size), '-pubs', '1', '-subs', '1', ...sub]);
      if (r) {
        push(ctx, spec.name, key, num(r, 'sub_rate'));
        // The mixed rows compare against the nats-server pair: its 16 B value is their baseline.
        if (size === 16 && spec.name === 'nats-server') for (const k of ROUTE_MIXED_KEYS) push(ctx, spec.name, k, num(r, 'sub_rate'));
      }
    }
    // A queue group of 4 spread over both nodes: members 0 and 2 on node B, 1 and 3 on node A.
    const r = await pubsub(ctx, a, 'route_queue', ['-size', '128', '-pubs', '1', '-subs', '4', '-queue', 'bench-q', '-suburl', `nats://127.0.0.1:${b.port},nats://127.0.0.1:${a.port}`]);
    if (r) push(ctx, spec.name, 'route_queue', num(r, 'sub_rate'));
  } finally {
    await b.stop();
    await a.stop();
  }
  return true;
}

const ROUTE_MIXED_KEYS = ['route_mix_tn16', 'route_mix_nt16'] as const;

/** Node A (the publisher's) of kind `sa` and node B (the subscribers') of kind `sb`, B routed to A. */
async function startPair(ctx: Ctx, sa: ServerSpec, sb: ServerSpec): Promise<[RunningServer, RunningServer] | undefined> {
  const pa = await freePort();
  const a = await start(ctx, sa, 'route', { conf: `cluster {\n  name: BENCH\n  listen: 127.0.0.1:${pa}\n}\n` });
  if (!a) return undefined;
  const pb = await freePort();
  const b = await start(ctx, sb, 'route', { conf: `cluster {\n  name: BENCH\n  listen: 127.0.0.1:${pb}\n  routes: ["nats-route://127.0.0.1:${pa}"]\n}\n` });
  if (!b) {
    await a.stop();
    return undefined;
  }
  await sleep(1500); // the route forms (first dial + handshake)
  return [a, b];
}

/**
 * Mixed pairs (issue 11): a tsnats node routed to a nats-server node, publisher on node A,
 * subscriber on node B, 16 B, both ways round. Runs once per round (on the tsnats turn); the
 * value goes into the tsnats column, the nats-server column holds the nats-server pair's route16.
 */
async function phaseRouteMixed(ctx: Ctx, spec: ServerSpec): Promise<boolean> {
  if (!want(ctx, 'route') || spec.name !== 'tsnats' || !ctx.specs || ctx.specs.natsServer.unavailable) return false;
  const { natsServer, tsnats } = ctx.specs;
  const ways: [string, ServerSpec, ServerSpec][] = [
    ['route_mix_tn16', tsnats, natsServer],
    ['route_mix_nt16', natsServer, tsnats],
  ];
  for (const [key, sa, sb] of ways) {
    if (stopping) return true;
    const pair = await startPair(ctx, sa, sb);
    if (!pair) continue;
    const [a, b] = pair;
    try {
      const sub = ['-suburl', `nats://127.0.0.1:${b.port}`];
      await warmUp(ctx, a, 'pubsub', `nats://127.0.0.1:${a.port}`, sub);
      const r = await pubsub(ctx, a, key, ['-size', '16', '-pubs', '1', '-subs', '1', ...sub]);
      if (r) push(ctx, 'tsnats', key, num(r, 'sub_rate'));
    } finally {
      await b.stop();
      await a.stop();
    }
  }
  return true;
}

/**
 * Request/reply through a service import (issue 14): the requester in account A, the responder in
 * account B exporting the service; same method as the `req` row (sequential requests, 128 B).
 */
async function phaseSvcImport(ctx: Ctx, spec: ServerSpec): Promise<boolean> {
  if (!want(ctx, 'svc_import_rr')) return false;
  const subj = 'bench.svc';
  const conf = `accounts {
  A { users: [ {user: a, password: p} ], imports: [ {service: {account: B, subject: "${subj}"}} ] }
  B { users: [ {user: b, password: p} ], exports: [ {service: "${subj}"} ] }
}
`;
  const srv = await start(ctx, spec, 'service import', { conf });
  if (!srv) return true;
  const name = spec.name;
  try {
    const url = (u: string): string => `nats://${u}:p@127.0.0.1:${srv.port}`;
    // Warm-up: the same load, unmeasured (V8 compiles the import path).
    if (ctx.opts.warmup > 0) {
      await runLoadgen(ctx.loadgen, 'reqrep', ['-url', url('a'), '-repurl', url('b'), '-subj', subj, '-size', '128', '-dur', `${ctx.opts.warmup}s`], {
        prefix: ctx.clientPin,
        timeoutMs: loadgenTimeout(ctx),
      }).catch((e: Error) => note(ctx, name, 'svc_import_rr warm-up', e.message));
    }
    const r = await runLoadgen(ctx.loadgen, 'reqrep', ['-url', url('a'), '-repurl', url('b'), '-subj', subj, '-size', '128', '-dur', `${ctx.opts.duration}s`], {
      prefix: ctx.clientPin,
      timeoutMs: loadgenTimeout(ctx),
    });
    push(ctx, name, 'svc_p50', num(r, 'p50_us'));
    push(ctx, name, 'svc_p99', num(r, 'p99_us'));
    push(ctx, name, 'svc_rate', num(r, 'rate'));
    if (num(r, 'failures') > 0) note(ctx, name, 'svc_import_rr', `${num(r, 'failures')} request(s) failed, first: ${String(r.first_failure)}`);
  } catch (e) {
    note(ctx, name, 'svc_import_rr', (e as Error).message);
  } finally {
    await srv.stop();
  }
  return true;
}

/**
 * A hub and a spoke of the same kind joined by one leaf connection: the publisher on the spoke,
 * the subscriber on the hub, so every message crosses the leaf (docs/leafnodes.md).
 */
async function phaseLeaf(ctx: Ctx, spec: ServerSpec): Promise<boolean> {
  if (!want(ctx, 'leaf')) return false;
  const pa = await freePort();
  const hub = await start(ctx, spec, 'leaf', { conf: `leafnodes {\n  listen: 127.0.0.1:${pa}\n}\n` });
  if (!hub) return true;
  const spoke = await start(ctx, spec, 'leaf', { conf: `leafnodes {\n  remotes: [ { url: "nats-leaf://127.0.0.1:${pa}" } ]\n}\n` });
  try {
    if (!spoke) return true;
    await sleep(1500); // the leaf connection forms (first dial + handshake)
    const sub = ['-suburl', `nats://127.0.0.1:${hub.port}`];
    await warmUp(ctx, spoke, 'pubsub', `nats://127.0.0.1:${spoke.port}`, sub);
    for (const size of [16, 128]) {
      const key = `leaf${size}`;
      const r = await pubsub(ctx, spoke, key, ['-size', String(size), '-pubs', '1', '-subs', '1', ...sub]);
      if (r) push(ctx, spec.name, key, num(r, 'sub_rate'));
    }
  } finally {
    await spoke?.stop();
    await hub.stop();
  }
  return true;
}

async function phaseIdle(ctx: Ctx, spec: ServerSpec): Promise<boolean> {
  if (!want(ctx, 'idle')) return false;
  const n = ctx.opts.conns;
  const nofile = n + 1024;
  const srv = await start(ctx, spec, 'idle', { nofile });
  if (!srv) return true;
  const url = `nats://127.0.0.1:${srv.port}`;
  const prefix = [...(ctx.clientPin ?? []), ...withNofile([], nofile)];
  try {
    // Warm-up: a few hundred connections opened and closed, so lazy one-time allocations
    // (code paths, buffers, JIT) are not charged to the measured connections.
    await runLoadgen(ctx.loadgen, 'idle', ['-url', url, '-n', String(Math.min(200, n)), '-hold=false'], { prefix, timeoutMs: 60_000 });
    await sleep(ctx.opts.quick ? 500 : 1000);
    const base = srv.rssKiB();
    const h = await startIdle(ctx.loadgen, ['-url', url, '-n', String(n), '-conc', '64'], { prefix, timeoutMs: 180_000 });
    try {
      const connected = num(h.ready, 'connected');
      if (connected < n) note(ctx, spec.name, 'idle', `only ${connected} of ${n} connections were accepted; first error: ${String(h.ready.first_error)}`);
      await sleep(ctx.opts.quick ? 500 : 1500);
      const after = srv.rssKiB();
      if (!srv.alive()) note(ctx, spec.name, 'idle', `server exited while holding the connections: ${srv.tail(3)}`);
      else if (connected > 0) push(ctx, spec.name, 'mem_conn', (after - base) / connected);
    } finally {
      await h.close();
    }
  } catch (e) {
    note(ctx, spec.name, 'idle', (e as Error).message);
  } finally {
    await srv.stop();
  }
  return true;
}

/**
 * Websocket phase: one instance with a plain `websocket {}` listener; the Go generator (nats.go)
 * publishes and subscribes over ws:// (masked frames in, one binary frame per flush out).
 */
async function phaseWs(ctx: Ctx, spec: ServerSpec): Promise<boolean> {
  if (!want(ctx, 'ws_p2p') && !want(ctx, 'ws_fanout')) return false;
  const wsPort = await freePort();
  const srv = await start(ctx, spec, 'websocket', { conf: `websocket {\n  listen: "127.0.0.1:${wsPort}"\n  no_tls: true\n}\n` });
  if (!srv) return true;
  const url = `ws://127.0.0.1:${wsPort}`;
  try {
    await warmUp(ctx, srv, 'pubsub', url);
    if (want(ctx, 'ws_p2p')) {
      const r = await pubsub(ctx, srv, 'ws_p2p', ['-size', '16', '-pubs', '1', '-subs', '1'], url);
      if (r) {
        push(ctx, spec.name, 'ws_p2p', num(r, 'sub_rate'));
        push(ctx, spec.name, 'cpu_ws_p2p', cpuPerMillion(r));
      }
    }
    if (want(ctx, 'ws_fanout')) {
      const r = await pubsub(ctx, srv, 'ws_fanout', ['-size', '128', '-pubs', '1', '-subs', '4'], url);
      if (r) push(ctx, spec.name, 'ws_fanout', num(r, 'sub_rate'));
    }
  } finally {
    await srv.stop();
  }
  return true;
}

/**
 * JetStream phase for one server: a fresh store directory, file streams. Async publish with a
 * window of 1000 acks in flight (16 B and 1 KiB), synchronous publish latency, and a durable pull
 * consumer with explicit acks draining 100 000 stored messages, an ordered push consumer replaying
 * 100 000, and KV put / get rates (1000 keys, 100 B, sequential).
 */
async function phaseJs(ctx: Ctx, spec: ServerSpec): Promise<boolean> {
  if (!want(ctx, 'js')) return false;
  const dir = join(ctx.workDir, `js-${spec.name}-${ctx.round}`);
  const srv = await start(ctx, spec, 'jetstream', { conf: `jetstream { store_dir: ${JSON.stringify(dir)} }\n` });
  if (!srv) return true;
  const url = `nats://127.0.0.1:${srv.port}`;
  const dur = `${ctx.opts.duration}s`;
  const run = async (key: string, mode: string, args: string[]): Promise<Json | undefined> => {
    if (!srv.alive()) {
      note(ctx, spec.name, key, `server is not running: ${srv.tail(3)}`);
      return undefined;
    }
    try {
      return await runLoadgen(ctx.loadgen, mode, ['-url', url, ...args], { prefix: ctx.clientPin, timeoutMs: loadgenTimeout(ctx, 120) });
    } catch (e) {
      note(ctx, spec.name, key, (e as Error).message);
      return undefined;
    }
  };
  try {
    let r = await run('js_pub16', 'jspub', ['-size', '16', '-window', '1000', '-dur', dur, '-subj', 'js.p16', '-stream', 'P16']);
    if (r) push(ctx, spec.name, 'js_pub16', num(r, 'pub_rate'));
    r = await run('js_pub1k', 'jspub', ['-size', '1024', '-window', '1000', '-dur', dur, '-subj', 'js.p1k', '-stream', 'P1K']);
    if (r) push(ctx, spec.name, 'js_pub1k', num(r, 'pub_rate'));
    r = await run('js_sync', 'jspub', ['-size', '16', '-window', '0', '-dur', dur, '-subj', 'js.sync', '-stream', 'SYNC']);
    if (r) {
      push(ctx, spec.name, 'js_sync_p50', num(r, 'p50_us'));
      push(ctx, spec.name, 'js_sync_p99', num(r, 'p99_us'));
    }
    r = await run('js_consume', 'jsconsume', ['-size', '16', '-n', ctx.opts.quick ? '20000' : '100000', '-subj', 'js.c', '-stream', 'CONS']);
    if (r) push(ctx, spec.name, 'js_consume', num(r, 'sub_rate'));
    r = await run('js_ordered', 'jsordered', ['-size', '16', '-n', ctx.opts.quick ? '20000' : '100000', '-subj', 'js.o', '-stream', 'ORD']);
    if (r) push(ctx, spec.name, 'js_ordered', num(r, 'sub_rate'));
    r = await run('js_kv', 'jskv', ['-size', '100', '-keys', '1000', '-dur', dur]);
    if (r) {
      push(ctx, spec.name, 'js_kv_put', num(r, 'put_rate'));
      push(ctx, spec.name, 'js_kv_get', num(r, 'get_rate'));
    }
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return true;
}

/** Messages stored for the restart / RSS rows: 1 M (100 k with --quick). */
function restartCount(ctx: Ctx): number {
  return ctx.opts.quick ? 100_000 : 1_000_000;
}

/**
 * JetStream restart with a full file stream (issue 10): fill a file stream with 1 M × 128 B (100 k
 * with --quick) through the server with the Go load generator (async publish, 4000 in flight), read
 * the server's RSS, stop it gracefully (SIGTERM), start it again on the same store directory and
 * time exec → the first `$JS.API.STREAM.INFO` reply without an error (polled every 5 ms over a raw
 * connection), checking the stream still holds every message; then the RSS after a 1 s settle.
 */
async function phaseJsRestart(ctx: Ctx, spec: ServerSpec): Promise<boolean> {
  if (!want(ctx, 'js_restart')) return false;
  const n = restartCount(ctx);
  const dir = join(ctx.workDir, `jsr-${spec.name}-${ctx.round}`);
  const conf = `jetstream { store_dir: ${JSON.stringify(dir)} }\n`;
  try {
    const srv = await start(ctx, spec, 'jetstream restart (fill)', { conf });
    if (!srv) return true;
    try {
      const t0 = Date.now();
      await runLoadgen(
        ctx.loadgen,
        'jspub',
        ['-url', `nats://127.0.0.1:${srv.port}`, '-size', '128', '-window', '4000', '-n', String(n), '-subj', 'js.restart', '-stream', 'RESTART'],
        { prefix: ctx.clientPin, timeoutMs: 600_000 },
      );
      log(`round ${ctx.round}: ${spec.name} stored ${n} × 128 B in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      await sleep(1000);
      push(ctx, spec.name, 'js_rss_fill', srv.rssKiB());
    } catch (e) {
      note(ctx, spec.name, 'js_restart', `fill failed: ${(e as Error).message}`);
      return true;
    } finally {
      await srv.stop();
    }
    let info: Record<string, unknown> | undefined;
    const t1 = performance.now();
    const again = await start(ctx, spec, 'jetstream restart', { conf, readyTimeoutMs: 300_000, ready: streamInfoReady('RESTART', (i) => (info = i)) });
    if (!again) return true;
    const ms = performance.now() - t1;
    try {
      const msgs = Number((info?.state as Record<string, unknown> | undefined)?.messages);
      if (msgs !== n) note(ctx, spec.name, 'js_restart', `stream holds ${msgs} messages after the restart, expected ${n}`);
      push(ctx, spec.name, 'js_restart', ms);
      await sleep(1000);
      push(ctx, spec.name, 'js_rss_restart', again.rssKiB());
    } finally {
      await again.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return true;
}

/**
 * mTLS connects with `ocsp_peer` on (warm cache) and off (issue 13), tsnats only: nats-server
 * 2.9.10 has no `ocsp_peer`. Two instances with the same certificates, one checking the client
 * certificate over OCSP and one not; after a warm-up on each (fills the peer cache), short slices
 * alternate between them (on, off, off, on, ...) and the totals are compared.
 */
async function phaseOcspPeer(ctx: Ctx, spec: ServerSpec): Promise<boolean> {
  if (!want(ctx, 'ocsp_peer') || spec.name !== 'tsnats' || !ctx.tls) return false;
  const peer = await ctx.tls.peer();
  const on = await start(ctx, spec, 'ocsp_peer on', { conf: peer.conf(true) });
  if (!on) return true;
  const off = await start(ctx, spec, 'ocsp_peer off', { conf: peer.conf(false) });
  try {
    if (!off) return true;
    const args = (srv: RunningServer, dur: string) => [
      '-url', `tls://127.0.0.1:${srv.port}`, '-ca', ctx.tls!.caFile, '-cert', peer.certFile, '-key', peer.keyFile,
      '-conc', String(ctx.opts.handshakeConc), '-dur', dur,
    ];
    for (const srv of [on, off]) await runLoadgen(ctx.loadgen, 'handshake', args(srv, ctx.opts.quick ? '0.5s' : '1s'), { prefix: ctx.clientPin, timeoutMs: loadgenTimeout(ctx) });
    const slice = Math.min(1, ctx.opts.duration);
    const slices = Math.max(1, Math.round(ctx.opts.duration / slice));
    const tot = { on: { connects: 0, failed: 0, secs: 0, cpu: 0, err: '' }, off: { connects: 0, failed: 0, secs: 0, cpu: 0, err: '' } };
    for (let i = 0; i < slices * 2; i++) {
      const which: 'on' | 'off' = (i + (i >> 1)) % 2 === 0 ? 'on' : 'off';
      const srv = which === 'on' ? on : off;
      if (!srv.alive()) {
        note(ctx, spec.name, `peer_${which}`, `server is not running: ${srv.tail(3)}`);
        return true;
      }
      const cpu0 = srv.cpuSeconds();
      try {
        const r = await runLoadgen(ctx.loadgen, 'handshake', args(srv, `${slice}s`), { prefix: ctx.clientPin, timeoutMs: loadgenTimeout(ctx) });
        const t = tot[which];
        t.cpu += srv.cpuSeconds() - cpu0;
        t.connects += num(r, 'connects');
        t.failed += num(r, 'failed');
        t.secs += num(r, 'secs');
        if (r.first_error && !t.err) t.err = String(r.first_error);
      } catch (e) {
        note(ctx, spec.name, `peer_${which}`, (e as Error).message);
        return true;
      }
    }
    for (const which of ['on', 'off'] as const) {
      const t = tot[which];
      if (t.failed > 0) note(ctx, spec.name, `peer_${which}`, `${t.failed} connect(s) failed, first: ${t.err}`);
      if (t.connects > 0) {
        push(ctx, spec.name, `peer_${which}`, t.connects / t.secs);
        push(ctx, spec.name, `peer_${which}_cpu`, (1e6 * t.cpu) / t.connects);
      }
    }
    if (tot.on.connects > 0 && tot.off.connects > 0) push(ctx, spec.name, 'peer_cost', 100 * (1 - tot.on.connects / tot.on.secs / (tot.off.connects / tot.off.secs)));
  } finally {
    await on.stop();
    await off?.stop();
  }
  return true;
}

/**
 * Connects per second with nkey and with JWT (operator mode, MEMORY resolver) authentication
 * (issue 14), and the server's CPU per connect. The client is this process (node:crypto signs the
 * nonce), the same for both servers. Short slices after a warm-up; totals compared.
 */
async function phaseAuthConnect(ctx: Ctx, spec: ServerSpec): Promise<boolean> {
  const kinds = (['nkey', 'jwt'] as const).filter((k) => want(ctx, `${k}_connect`));
  if (kinds.length === 0) return false;
  for (const kind of kinds) {
    let setup: AuthSetup;
    try {
      setup = kind === 'nkey' ? nkeySetup() : await jwtSetup();
    } catch (e) {
      note(ctx, spec.name, `${kind}_connect`, `setup failed: ${(e as Error).message}`);
      continue;
    }
    const srv = await start(ctx, spec, `${kind} connects`, { conf: setup.conf });
    if (!srv) continue;
    try {
      const conc = 20;
      await connectFor(srv.port, setup, ctx.opts.quick ? 0.3 : 1, conc);
      const cpu0 = srv.cpuSeconds();
      const r = await connectFor(srv.port, setup, ctx.opts.duration, conc);
      const cpu = srv.cpuSeconds() - cpu0;
      if (r.failed > 0) note(ctx, spec.name, `${kind}_connect`, `${r.failed} connect(s) failed, first: ${r.firstError}`);
      if (r.connects > 0) {
        push(ctx, spec.name, `${kind}_connect`, r.connects / r.secs);
        push(ctx, spec.name, `${kind}_connect_cpu`, (1e6 * cpu) / r.connects);
      }
    } finally {
      await srv.stop();
    }
  }
  return true;
}

/**
 * TLS phase for one server: two instances with the same Must-Staple certificate, one stapling
 * (`ocsp { mode: always }`) and one not (`ocsp: false`). The 1 → 1 TLS throughput runs on the
 * stapling one; the connect rate alternates short slices between the two (on, off, off, on, ...)
 * so that drift in the machine's load hits both sides alike, then compares the totals.
 */
async function phaseTls(ctx: Ctx, spec: ServerSpec): Promise<boolean> {
  const doP2p = want(ctx, 'tls_p2p');
  const doHs = want(ctx, 'hs');
  const tls = ctx.tls;
  if ((!doP2p && !doHs) || !tls) return false;
  const on = await start(ctx, spec, 'tls (stapling on)', { conf: tls.conf(true) });
  if (!on) return true;
  const off = doHs ? await start(ctx, spec, 'tls (stapling off)', { conf: tls.conf(false) }) : undefined;
  const tlsArgs = ['-ca', tls.caFile];
  try {
    if (doP2p) await warmUp(ctx, on, 'pubsub', `tls://127.0.0.1:${on.port}`, tlsArgs);
    if (doHs && off) {
      await warmUp(ctx, on, 'handshake', `tls://127.0.0.1:${on.port}`, tlsArgs);
      await warmUp(ctx, off, 'handshake', `tls://127.0.0.1:${off.port}`, tlsArgs);
    }
    if (doP2p) {
      const r = await pubsub(ctx, on, 'tls_p2p', ['-size', '16', '-pubs', '1', '-subs', '1'], `tls://127.0.0.1:${on.port}`, tlsArgs);
      if (r) push(ctx, spec.name, 'tls_p2p', num(r, 'sub_rate'));
    } else await sleep(500); // let the server fetch its first staple
    if (!doHs || !off) return true;
    const slice = Math.min(1, ctx.opts.duration);
    const slices = Math.max(1, Math.round(ctx.opts.duration / slice));
    const tot = {
      on: { connects: 0, stapled: 0, failed: 0, secs: 0, cpu: 0, err: '' },
      off: { connects: 0, stapled: 0, failed: 0, secs: 0, cpu: 0, err: '' },
    };
    for (let i = 0; i < slices * 2; i++) {
      // on, off, off, on, on, off, ...
      const which: 'on' | 'off' = (i + (i >> 1)) % 2 === 0 ? 'on' : 'off';
      const srv = which === 'on' ? on : off;
      if (!srv.alive()) {
        note(ctx, spec.name, `hs_${which}`, `server is not running: ${srv.tail(3)}`);
        return true;
      }
      const cpu0 = srv.cpuSeconds();
      try {
        const r = await runLoadgen(
          ctx.loadgen,
          'handshake',
          ['-url', `tls://127.0.0.1:${srv.port}`, ...tlsArgs, '-conc', String(ctx.opts.handshakeConc), '-dur', `${slice}s`],
          { prefix: ctx.clientPin, timeoutMs: loadgenTimeout(ctx) },
        );
        const t = tot[which];
        t.connects += num(r, 'connects');
        t.stapled += num(r, 'stapled');
        t.failed += num(r, 'failed');
        t.secs += num(r, 'secs');
        t.cpu += srv.cpuSeconds() - cpu0;
        if (r.first_error && !t.err) t.err = String(r.first_error);
      } catch (e) {
        note(ctx, spec.name, `hs_${which}`, (e as Error).message);
        return true;
      }
    }
    for (const which of ['on', 'off'] as const) {
      const t = tot[which];
      const key = `hs_${which}`;
      if (t.failed > 0) note(ctx, spec.name, key, `${t.failed} connect(s) failed, first: ${t.err}`);
      if (which === 'on' && t.stapled < t.connects) note(ctx, spec.name, key, `only ${t.stapled} of ${t.connects} connects carried an OCSP staple`);
      if (which === 'off' && t.stapled > 0) note(ctx, spec.name, key, `${t.stapled} of ${t.connects} connects carried a staple although stapling was off`);
      if (t.connects > 0) {
        push(ctx, spec.name, key, t.connects / t.secs);
        push(ctx, spec.name, `${key}_cpu`, (1e6 * t.cpu) / t.connects);
      }
    }
    if (tot.on.connects > 0) push(ctx, spec.name, 'stapled_pct', (100 * tot.on.stapled) / tot.on.connects);
    if (tot.on.connects > 0 && tot.off.connects > 0) {
      push(ctx, spec.name, 'staple_cost', 100 * (1 - tot.on.connects / tot.on.secs / (tot.off.connects / tot.off.secs)));
      if (tot.off.cpu > 0) push(ctx, spec.name, 'staple_cpu', 100 * ((tot.on.cpu / tot.on.connects) / (tot.off.cpu / tot.off.connects) - 1));
    }
  } finally {
    await on.stop();
    await off?.stop();
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Servers and machine
// ---------------------------------------------------------------------------------------------

/**
 * Start-up (issue 15): exec → first accepted connection, one server at a time (with `node -e 0`
 * measured in between, so the difference is taken under the same load), three at once, three at
 * once while two processes keep two CPUs busy (a run fails when a server does not accept within
 * 500 ms), and, for tsnats, an embedder's fresh process (`import("tsnats")` + `startServer()`).
 */
async function phaseStartup(ctx: Ctx, spec: ServerSpec): Promise<boolean> {
  if (!want(ctx, 'startup')) return false;
  const runs = ctx.opts.quick ? 5 : 15;
  const one: number[] = [];
  const boot: number[] = [];
  const embed: number[] = [];
  const embedIndex = spec.name === 'tsnats' && !ctx.opts.tsnatsCmd ? join(repoRoot(), 'dist', 'src', 'index.js') : undefined;
  try {
    for (let i = 0; i < runs && !stopping; i++) {
      boot.push(await nodeBoot());
      one.push((await startTogether(spec.argv, 1))[0]!);
      if (embedIndex) embed.push(await embeddedStart(embedIndex));
    }
    const three: number[] = [];
    for (let i = 0; i < Math.ceil(runs / 3) && !stopping; i++) three.push(Math.max(...(await startTogether(spec.argv, 3))));
    const busyRuns = ctx.opts.quick ? 5 : 20;
    const stopBusy = busyCpus(2);
    let failed = 0;
    let n = 0;
    try {
      await sleep(200);
      for (; n < busyRuns && !stopping; n++) {
        const t = await startTogether(spec.argv, 3, 5000);
        if (t.some((x) => !(x <= 500))) failed++;
      }
    } finally {
      await stopBusy();
    }
    const bootMs = medianOf(boot);
    push(ctx, spec.name, 'startup', medianOf(one));
    push(ctx, spec.name, 'startup3', medianOf(three));
    if (n > 0) push(ctx, spec.name, 'startup3_busy', (failed / n) * 100);
    if (spec.name === 'tsnats') {
      // Paired: each start-up minus the `node -e 0` measured just before it (drifting load cancels).
      push(ctx, spec.name, 'startup_over_node', medianOf(one.map((t, i) => t - boot[i]!)));
      if (embed.length) {
        push(ctx, spec.name, 'startup_embed', medianOf(embed));
        push(ctx, spec.name, 'startup_embed_over_node', medianOf(embed.map((t, i) => t - boot[i]!)));
      }
    }
    note(ctx, spec.name, 'start-up', `node -e 0 (exec → exit) median ${bootMs.toFixed(1)} ms over ${boot.length} runs; 3 together under 2 busy CPUs: ${failed} of ${n} runs over 500 ms`);
  } catch (e) {
    note(ctx, spec.name, 'start-up', (e as Error).message);
  }
  return true;
}

function gitDescribe(root: string): string {
  const commit = capture('git', ['-C', root, 'rev-parse', '--short', 'HEAD']);
  if (!commit) return 'unknown commit';
  // Untracked files count too: a server being written may live in files not committed yet.
  const dirty = capture('git', ['-C', root, 'status', '--porcelain', '--', 'src', 'bin', 'package.json']);
  return dirty ? `${commit} + uncommitted changes in src/` : commit;
}

async function tsnatsSpec(ctx: Omit<Ctx, 'loadgen'>, root: string): Promise<ServerSpec> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string };
  const version = `${pkg.version ?? '?'} (${gitDescribe(root)})`;
  let spec: ServerSpec;
  if (ctx.opts.tsnatsCmd) {
    spec = { name: 'tsnats', argv: ctx.opts.tsnatsCmd, version: `custom command \`${ctx.opts.tsnatsCmd.join(' ')}\`` };
  } else {
    const bin = join(root, 'bin', 'tsnats');
    if (!existsSync(bin)) return { name: 'tsnats', argv: [], version, unavailable: 'bin/tsnats does not exist yet' };
    spec = { name: 'tsnats', argv: [process.execPath, bin], version };
  }
  // Probe: does it start and greet a client at all?
  try {
    const s = await startServer(spec, { workDir: ctx.workDir, readyTimeoutMs: 20_000 });
    await s.stop();
  } catch (e) {
    spec.unavailable = `tsnats does not start: ${(e as Error).message.split('\n').slice(0, 4).join(' | ')}`;
  }
  return spec;
}

function machineLines(specs: ServerSpec[], goVer: string, natsGoVer: string, opts: Options): string[] {
  const c = cpus();
  const [l1, l5] = loadavg();
  return [
    `CPU: ${c[0]?.model.trim() ?? 'unknown'}, ${c.length} cores; memory ${(totalmem() / 2 ** 30).toFixed(0)} GiB; ${osType()} ${release()}`,
    `Node ${process.version}, OpenSSL ${process.versions.openssl}`,
    ...specs.map((s) => `${s.name}: ${s.version}${s.unavailable ? ` — not run: ${s.unavailable}` : ''}`),
    `load generator: bench/loadgen (Go ${goVer}, nats.go ${natsGoVer}), on the same machine over loopback`,
    `pinning: ${opts.pin ? 'server on CPU 0, load generator on the other CPUs (taskset)' : 'none (server and load generator share all cores)'}`,
    `load average at start: ${l1!.toFixed(2)} (1 min), ${l5!.toFixed(2)} (5 min)`,
  ];
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

const cleanupFns: (() => Promise<void> | void)[] = [];
let cleanupP: Promise<void> | undefined;
/** Stops every child, closes the responder, removes the work folder; every caller awaits the same run. */
function cleanup(): Promise<void> {
  cleanupP ??= (async () => {
    await killAllChildren();
    for (const f of cleanupFns.reverse()) {
      try {
        await f();
      } catch {
        /* best effort */
      }
    }
  })();
  return cleanupP;
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const root = repoRoot();

  // 1. Tools.
  const tools = ensureTools(opts.install);
  if (tools.problems.length > 0 || !tools.go || !tools.gopath || !tools.natsServer) {
    for (const p of tools.problems) log(`missing: ${p}`);
    log('cannot run the benchmark without nats-server, Go and nats.go');
    return 2;
  }
  const loadgen = buildLoadgen(tools.go, tools.gopath, log);
  const lgVersion = await runLoadgen(loadgen, 'version', [], { timeoutMs: 10_000 });
  const goVer = goVersion(tools.go);
  const natsGoVer = String(lgVersion.nats_go ?? '?');

  // 2. Work folder, TLS material, servers.
  const workDir = mkdtempSync(join(tmpdir(), 'tsnats-bench-'));
  cleanupFns.push(() => {
    if (opts.keep) log(`work folder kept: ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  });
  const ctx: Ctx = { opts, loadgen, workDir, samples: {}, notes: [], round: 0 };
  if (opts.pin) {
    const n = cpus().length;
    if (n < 2 || !capture('taskset', ['-c', '0', 'true'])) log('--pin needs taskset and at least 2 CPUs; running unpinned');
    else {
      ctx.serverPin = ['taskset', '-c', '0'];
      ctx.clientPin = ['taskset', '-c', `1-${n - 1}`];
    }
  }
  if (want(ctx, 'tls_p2p') || want(ctx, 'hs') || want(ctx, 'ocsp_peer')) {
    try {
      ctx.tls = await setupTls(workDir);
      cleanupFns.push(() => ctx.tls?.close());
    } catch (e) {
      ctx.tlsProblem = `TLS rows not run: test kit PKI/responder unavailable (${(e as Error).message})`;
      log(ctx.tlsProblem);
    }
  }
  const nsVersion = natsServerVersion(opts.natsServerCmd?.[0] ?? tools.natsServer);
  const natsServer: ServerSpec = { name: 'nats-server', argv: opts.natsServerCmd ?? [tools.natsServer], version: nsVersion };
  const tsnats = await tsnatsSpec(ctx, root);
  if (tsnats.unavailable) log(`tsnats column will be n/a: ${tsnats.unavailable}`);
  const specs = [natsServer, tsnats];
  ctx.specs = { natsServer, tsnats };
  const runnable = specs.filter((s) => !s.unavailable);
  const machine = machineLines(specs, goVer, natsGoVer, opts);
  for (const l of machine) log(l);

  const cpuSelf0 = selfAndChildrenCpuSeconds();
  const cpuAll0 = machineCpuSeconds();
  const wall0 = Date.now();

  // 3. Rounds: each phase runs on one server, then on the other; the order alternates.
  for (let r = 1; r <= opts.rounds; r++) {
    ctx.round = r;
    const order = r % 2 === 1 ? runnable : [...runnable].reverse();
    log(`round ${r}/${opts.rounds}: ${order.map((s) => s.name).join(' then ')}, per phase`);
    const phases: [string, (c: Ctx, s: ServerSpec) => Promise<boolean>][] = [
      ['plain', phasePlain],
      ['idle connections', phaseIdle],
      ['tls', phaseTls],
      ['websocket', phaseWs],
      ['route', phaseRoute],
      ['route mixed', phaseRouteMixed],
      ['start-up', phaseStartup],
      ['jetstream', phaseJs],
      ['leaf', phaseLeaf],
      ['jetstream restart', phaseJsRestart],
      ['ocsp_peer', phaseOcspPeer],
      ['service import', phaseSvcImport],
      ['auth connects', phaseAuthConnect],
    ];
    for (const [label, phase] of phases) {
      for (const s of order) {
        if (stopping) return 130;
        const ts = Date.now();
        if (await phase(ctx, s)) log(`round ${r}: ${s.name} ${label} phase done in ${((Date.now() - ts) / 1000).toFixed(1)} s`);
      }
    }
  }

  // 4. How busy was the machine with other work meanwhile?
  const wallS = (Date.now() - wall0) / 1000;
  const cpuAll1 = machineCpuSeconds();
  const ours = selfAndChildrenCpuSeconds() - cpuSelf0;
  const others = (cpuAll1.busy - cpuAll0.busy - ours) / wallS;
  const busyLine = Number.isFinite(others)
    ? `other processes kept ${Math.max(0, others).toFixed(2)} of ${cpus().length} cores busy on average during the run` +
      (others > 0.2 ? ' — numbers are noisy' : ' (machine was quiet)')
    : 'machine load during the run: unknown';

  // 5. Report.
  const names: [string, string] = ['nats-server', 'tsnats'];
  if (restartCount(ctx) !== 1_000_000) {
    const stored = `${restartCount(ctx) / 1000} k × 128 B stored (--quick; the full run stores 1 M)`;
    for (const r of ROWS) if (r.key === 'js_restart' || r.key.startsWith('js_rss_')) r.scenario = r.scenario.replace('1 M × 128 B stored', stored);
  }
  const keys = opts.only ? rowKeysFor(opts.only) : undefined;
  const rows = outcomes(ctx.samples, names, keys);
  const table = markdownTable(rows, names);
  const invokedVia = process.env.npm_lifecycle_event === 'bench' ? 'npm run bench' : 'node dist/bench/run.js';
  const args = process.argv.slice(2);
  const command = `${invokedVia}${args.length ? `${invokedVia.startsWith('npm') ? ' --' : ''} ${args.map(shellQuote).join(' ')}` : ''}`;
  const when = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const staplePct = names
    .map((n) => {
      const v = ctx.samples[n]?.stapled_pct;
      return v && v.length ? `${n} ${fmt(Math.min(...v), '%')}` : undefined;
    })
    .filter(Boolean);
  const body = [
    `### ${opts.quick ? 'Quick run (CI smoke)' : 'Full run'} — ${when}`,
    '',
    `Command: \`${command}\` — ${opts.rounds} round(s), ${opts.duration} s per measurement after ${opts.warmup} s of warm-up load per server instance, ${opts.conns} idle connections; medians over rounds; took ${((Date.now() - t0) / 1000).toFixed(0)} s.`,
    ...(opts.label ? ['', `**Label: ${opts.label}**`] : []),
    '',
    'Machine:',
    '',
    ...machine.map((l) => `- ${l}`),
    `- ${busyLine}`,
    '',
    table,
    '',
    ...(staplePct.length ? [`Stapling on: lowest share of connects that carried an OCSP staple: ${staplePct.join(', ')}.`, ''] : []),
    ...(ctx.tlsProblem ? [`- ${ctx.tlsProblem}`] : []),
    ...(ctx.notes.length ? ['Notes:', '', ...ctx.notes.map((n) => `- ${n}`)] : ['Notes: none (no losses, errors or failed starts).']),
  ].join('\n');
  process.stdout.write(`\n${body}\n\n`);

  if (opts.json) {
    writeFileSync(opts.json, JSON.stringify({ when, command, opts: { ...opts, only: opts.only ? [...opts.only] : undefined }, machine, samples: ctx.samples, notes: ctx.notes }, null, 2));
    log(`raw samples written to ${opts.json}`);
  }
  if (opts.write && !opts.only) {
    writeSection(opts.doc, opts.quick ? 'quick' : 'full', body);
    log(`results written to ${opts.doc}`);
  }
  log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return 0;
}

function rowKeysFor(tasks: Set<Task>): Set<string> {
  const m: Record<Task, string[]> = {
    pub16: ['pub16'],
    pub1k: ['pub1k'],
    p2p: ['p2p', 'cpu_p2p'],
    fanout: ['fanout', 'cpu_fanout'],
    nn: ['nn'],
    queue: ['queue'],
    req: ['req_p50', 'req_p99', 'req_rate'],
    idle: ['mem_conn'],
    tls_p2p: ['tls_p2p'],
    ws_p2p: ['ws_p2p', 'cpu_ws_p2p'],
    ws_fanout: ['ws_fanout'],
    hs: ['hs_on', 'hs_off', 'staple_cost', 'hs_on_cpu', 'hs_off_cpu', 'staple_cpu'],
    route: ['route16', 'route128', ...ROUTE_MIXED_KEYS, 'route_queue'],
    startup: ['startup', 'startup_over_node', 'startup_embed', 'startup_embed_over_node', 'startup3', 'startup3_busy'],
    js: ['js_pub16', 'js_pub1k', 'js_sync_p50', 'js_sync_p99', 'js_consume', 'js_ordered', 'js_kv_put', 'js_kv_get'],
    leaf: ['leaf16', 'leaf128'],
    js_restart: ['js_restart', 'js_rss_fill', 'js_rss_restart'],
    ocsp_peer: ['peer_on', 'peer_off', 'peer_cost', 'peer_on_cpu', 'peer_off_cpu'],
    svc_import_rr: ['svc_p50', 'svc_p99', 'svc_rate'],
    nkey_connect: ['nkey_connect', 'nkey_connect_cpu'],
    jwt_connect: ['jwt_connect', 'jwt_connect_cpu'],
  };
  return new Set([...tasks].flatMap((t) => m[t]));
}

function shellQuote(s: string): string {
  return /^[\w./:=,@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: stopping everything the benchmark started`);
    void cleanup().finally(() => process.exit(130));
  });
}
process.on('exit', killAllChildrenSync);

main()
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  })
  .catch(async (e: unknown) => {
    if (e instanceof UsageError) log(e.message);
    else log(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    await cleanup();
    process.exit(e instanceof UsageError ? 2 : 1);
  });
