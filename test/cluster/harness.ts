// Mixed clusters on 127.0.0.1: tsnats (in-process) and nats-server 2.9.10 (spawned) nodes with
// generated configurations, random client and cluster ports.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startServer, type RunningServer } from '../../src/index.js';
import { loadConfigFile } from '../../src/config/options.js';
import { NATS_SERVER, sleep } from '../wire/harness.js';

export { NATS_SERVER, sleep };
export const SKIP_NATS = NATS_SERVER ? false : 'nats-server not installed';

export type Kind = 'tsnats' | 'nats-server';

export interface Node {
  kind: Kind;
  name: string;
  port: number;
  clusterPort: number;
  monitor?: string;
  log(): string;
  stop(): Promise<void>;
  /** Sends SIGHUP (nats-server) or reloads (tsnats) after rewriting the config. */
  reload(conf: string): Promise<void>;
  ts?: RunningServer;
  confFile: string;
}

export interface NodeSpec {
  name: string;
  /** Extra lines inside `cluster {}`. */
  cluster?: string;
  /** Route URLs (`nats-route://127.0.0.1:<port>`). */
  routes?: string[];
  /** Extra top-level lines. */
  extra?: string;
  /** Fixed cluster port (restart tests); default random. */
  clusterPort?: number;
  /** Fixed client port. */
  port?: number;
  clusterName?: string | null;
}

function conf(spec: NodeSpec, extraTop = ''): string {
  const routes = spec.routes && spec.routes.length > 0 ? `routes: [${spec.routes.map((r) => JSON.stringify(r)).join(', ')}]` : '';
  const name = spec.clusterName === null ? '' : `name: ${spec.clusterName ?? 'C1'}`;
  return `server_name: ${spec.name}
host: 127.0.0.1
port: ${spec.port ?? -1}
${extraTop}
${spec.extra ?? ''}
cluster {
  ${name}
  listen: 127.0.0.1:${spec.clusterPort ?? -1}
  ${routes}
  ${spec.cluster ?? ''}
}
`;
}

export async function startNode(kind: Kind, spec: NodeSpec): Promise<Node> {
  return kind === 'tsnats' ? startTs(spec) : startGo(spec);
}

async function startTs(spec: NodeSpec): Promise<Node> {
  const dir = mkdtempSync(join(tmpdir(), 'tsnats-cluster-'));
  const confFile = join(dir, 'server.conf');
  writeFileSync(confFile, conf(spec, 'http: 127.0.0.1:-1'));
  const lines: string[] = [];
  const ts = await startServer({ configFile: confFile, log: { write: (l) => void lines.push(l), colors: false } });
  return {
    kind: 'tsnats',
    name: spec.name,
    port: ts.port,
    clusterPort: ts.server.cluster!.listenPort,
    monitor: ts.server.monitor.urls()[0],
    log: () => lines.join(''),
    stop: async () => {
      await ts.close();
      rmSync(dir, { recursive: true, force: true });
    },
    reload: async (c: string) => {
      writeFileSync(confFile, c);
      await ts.server.reload(loadConfigFile(confFile).options);
    },
    ts,
    confFile,
  };
}

async function startGo(spec: NodeSpec): Promise<Node> {
  const bin = NATS_SERVER;
  if (!bin) throw new Error('nats-server not installed');
  const dir = mkdtempSync(join(tmpdir(), 'natsd-cluster-'));
  const confFile = join(dir, 'server.conf');
  writeFileSync(confFile, conf(spec, `ports_file_dir: "${dir}"\nhttp: 127.0.0.1:-1\n${process.env.TSNATS_TEST_SYS_ACCOUNT ? "" : "no_system_account: true"}`));
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
  const ports = JSON.parse(readFileSync(pf, 'utf8')) as { nats: string[]; monitoring?: string[]; cluster?: string[] };
  return {
    kind: 'nats-server',
    name: spec.name,
    port: Number(new URL(ports.nats[0]!).port),
    clusterPort: Number(new URL(ports.cluster![0]!).port),
    monitor: ports.monitoring?.[0],
    log: () => log,
    stop: async () => {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(3000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
    reload: async (c: string) => {
      writeFileSync(confFile, c.replace('http: 127.0.0.1:-1', '') + `\nports_file_dir: "${dir}"\nno_system_account: true\n`);
      child.kill('SIGHUP');
      await sleep(300);
    },
    confFile,
  };
}

export function routeUrl(n: Node, userinfo = ''): string {
  return `nats-route://${userinfo}127.0.0.1:${n.clusterPort}`;
}

/** The config text a node would be started with (for reload tests). */
export function nodeConf(spec: NodeSpec): string {
  return conf(spec, 'http: 127.0.0.1:-1');
}

export async function client(n: Node, opts: Record<string, unknown> = {}): Promise<NatsConnection> {
  return connect({ servers: `127.0.0.1:${n.port}`, reconnect: false, ...opts });
}

/** /routez of a node. */
export async function routez(n: Node): Promise<{ num_routes: number; routes: Array<Record<string, unknown>> }> {
  const r = await fetch(`${n.monitor}/routez`);
  return (await r.json()) as { num_routes: number; routes: Array<Record<string, unknown>> };
}

/** Waits until every node has `want` routes (bounded). */
export async function waitRoutes(nodes: Node[], want: number, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const counts = await Promise.all(nodes.map(async (n) => (await routez(n)).num_routes));
    if (counts.every((c) => c === want)) return;
    if (Date.now() > end) throw new Error(`routes: ${nodes.map((n, i) => `${n.name}=${counts[i]}`).join(' ')} (want ${want})`);
    await sleep(100);
  }
}

/** Waits until `check` is true (bounded). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Waits until a subscription's interest is visible on `n` (a publish there reaches it). */
export async function waitInterest(n: Node, subject: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await fetch(`${n.monitor}/routez?subs=1`);
    const j = (await r.json()) as { routes: Array<{ subscriptions_list?: string[] }> };
    if (j.routes.some((x) => (x.subscriptions_list ?? []).includes(subject))) return;
    if (Date.now() > end) throw new Error(`interest in ${subject} not seen on ${n.name}`);
    await sleep(25);
  }
}
