// Leaf node topologies on 127.0.0.1: tsnats (in-process) and nats-server 2.9.10 (spawned) with
// generated configurations; a `leafnodes {}` block per node.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startServer, type RunningServer } from '../../src/index.js';
import { NATS_SERVER, sleep } from '../wire/harness.js';

export { NATS_SERVER, sleep };
export const SKIP_NATS = NATS_SERVER ? false : 'nats-server not installed';

export type Kind = 'tsnats' | 'nats-server';

export interface LNode {
  kind: Kind;
  name: string;
  port: number;
  leafPort: number;
  /** The websocket port (0 without a websocket listener). */
  wsPort: number;
  monitor: string;
  log(): string;
  stop(): Promise<void>;
  ts?: RunningServer;
}

export interface LSpec {
  name: string;
  /** Lines inside `leafnodes {}` (omit for no block). */
  leaf?: string;
  extra?: string;
  port?: number;
}

/** A free TCP port on 127.0.0.1 (for restart tests that need a fixed port). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const a = s.address();
  const p = typeof a === 'object' && a ? a.port : 0;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

function conf(spec: LSpec, extraTop: string): string {
  return `server_name: ${spec.name}
host: 127.0.0.1
port: ${spec.port ?? -1}
http: 127.0.0.1:-1
${extraTop}
${spec.extra ?? ''}
${spec.leaf !== undefined ? `leafnodes {\n${spec.leaf}\n}` : ''}
`;
}

export async function startNode(kind: Kind, spec: LSpec): Promise<LNode> {
  return kind === 'tsnats' ? startTs(spec) : startGo(spec);
}

async function startTs(spec: LSpec): Promise<LNode> {
  const dir = mkdtempSync(join(tmpdir(), 'tsnats-leaf-'));
  const confFile = join(dir, 'server.conf');
  writeFileSync(confFile, conf(spec, ''));
  const lines: string[] = [];
  const ts = await startServer({ configFile: confFile, log: { write: (l) => void lines.push(l), colors: false } });
  return {
    kind: 'tsnats',
    name: spec.name,
    port: ts.port,
    leafPort: ts.server.leafnodes?.listenPort ?? 0,
    wsPort: ts.server.websocket ? Number(new URL(ts.server.websocket.urls()[0]!).port) : 0,
    monitor: ts.server.monitor.urls()[0]!,
    log: () => lines.join(''),
    stop: async () => {
      await ts.close();
      rmSync(dir, { recursive: true, force: true });
    },
    ts,
  };
}

async function startGo(spec: LSpec): Promise<LNode> {
  const bin = NATS_SERVER;
  if (!bin) throw new Error('nats-server not installed');
  const dir = mkdtempSync(join(tmpdir(), 'natsd-leaf-'));
  const confFile = join(dir, 'server.conf');
  writeFileSync(confFile, conf(spec, `ports_file_dir: "${dir}"\nno_system_account: true`));
  const child: ChildProcess = spawn(bin, ['-c', confFile, '-D'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const pf = join(dir, `nats-server_${child.pid}.ports`);
  for (let i = 0; i < 200 && !existsSync(pf); i++) await sleep(25);
  if (!existsSync(pf)) {
    child.kill('SIGKILL');
    throw new Error(`nats-server did not start: ${log}`);
  }
  await sleep(20);
  // The 2.9.10 ports file has no leafnodes entry: the port comes from the log line.
  for (let i = 0; i < 100 && spec.leaf !== undefined && /listen/.test(spec.leaf) && !/Listening for leafnode connections on/.test(log); i++) await sleep(20);
  const lm = /Listening for leafnode connections on [^\n]*:(\d+)/.exec(log);
  const ports = JSON.parse(readFileSync(pf, 'utf8')) as { nats: string[]; monitoring: string[]; leafnodes?: string[] };
  return {
    kind: 'nats-server',
    name: spec.name,
    port: Number(new URL(ports.nats[0]!).port),
    leafPort: lm ? Number(lm[1]) : 0,
    wsPort: Number(/Listening for websocket clients on [^\n]*:(\d+)/.exec(log)?.[1] ?? 0),
    monitor: ports.monitoring[0]!,
    log: () => log,
    stop: async () => {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(3000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function client(n: LNode, opts: Record<string, unknown> = {}): Promise<NatsConnection> {
  return connect({ servers: `127.0.0.1:${n.port}`, reconnect: false, ...opts });
}

export async function leafz(n: LNode, subs = false): Promise<{ leafnodes: number; leafs: Array<Record<string, unknown>> | null }> {
  const r = await fetch(`${n.monitor}/leafz${subs ? '?subs=1' : ''}`);
  return (await r.json()) as { leafnodes: number; leafs: Array<Record<string, unknown>> | null };
}

/** Waits until `check` is true (bounded). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

export async function waitLeafs(n: LNode, want: number, timeoutMs = 6000): Promise<void> {
  await until(async () => (await leafz(n)).leafnodes === want, timeoutMs, `${want} leaf(s) on ${n.name}`);
}

/** Waits until `subject` is in the leaf subscriptions `n` holds (interest propagated to it). */
export async function waitLeafInterest(n: LNode, subject: string, timeoutMs = 5000): Promise<void> {
  await until(
    async () => ((await leafz(n, true)).leafs ?? []).some((l) => ((l.subscriptions_list as string[] | undefined) ?? []).includes(subject)),
    timeoutMs,
    `interest in ${subject} on ${n.name}`,
  );
}

/** Collects up to `n` messages (or until `ms` passes). */
export async function collect(sub: AsyncIterable<{ string(): string }>, n: number, ms = 1500): Promise<string[]> {
  const out: string[] = [];
  const t = sleep(ms).then(() => 'timeout' as const);
  const it = sub[Symbol.asyncIterator]();
  while (out.length < n) {
    const r = await Promise.race([it.next(), t]);
    if (r === 'timeout' || (r as IteratorResult<unknown>).done) break;
    out.push(((r as IteratorResult<{ string(): string }>).value).string());
  }
  return out;
}
