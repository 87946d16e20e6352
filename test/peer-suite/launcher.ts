// A server launcher with the contract the official clients' test harnesses use (nats.js' test
// `NatsServer.start`, nats.go's `RunServer`-style helpers that exec a binary): write a
// configuration file with `ports_file_dir`, exec a binary named `nats-server` with `-c <conf>`
// (plus flags such as `-DV`), poll `<dir>/nats-server_<pid>.ports` for the listener URLs, wait for
// `/varz`, and drive the process with signals (SIGHUP reload, SIGUSR2 lame duck, SIGTERM stop).
//
// The same launcher runs either the real nats-server or tsnats: both are exposed as a file named
// `nats-server` (a symlink in a temporary directory), so the ports file gets the name the clients
// expect. Scenarios in this folder run once per flavor (`flavors()`).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NATS_SERVER } from '../wire/harness.js';

export type Flavor = 'tsnats' | 'nats-server';

const REAL_NATS_SERVER = NATS_SERVER;
// dist/test/peer-suite/launcher.js -> repository root
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const TSNATS_BIN = join(ROOT, 'bin', 'tsnats');

/** The flavors to run: tsnats always; nats-server when its binary is installed. */
export function flavors(): Flavor[] {
  return REAL_NATS_SERVER ? ['tsnats', 'nats-server'] : ['tsnats'];
}

/** A directory holding `nats-server` -> the flavor's binary (one per flavor per process). */
const binDirs = new Map<Flavor, string>();
export function binaryFor(flavor: Flavor): string {
  let dir = binDirs.get(flavor);
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), `peer-bin-${flavor}-`));
    symlinkSync(flavor === 'tsnats' ? TSNATS_BIN : REAL_NATS_SERVER!, join(dir, 'nats-server'));
    binDirs.set(flavor, dir);
    process.once('exit', () => rmSync(dir!, { recursive: true, force: true }));
  }
  return join(dir, 'nats-server');
}

// ---------------------------------------------------------------------------
// Configuration text (the subset of the syntax the harnesses write: nested maps, arrays, scalars)

export type ConfValue = string | number | boolean | ConfValue[] | { [k: string]: ConfValue };
export type Conf = Record<string, ConfValue>;

function confValue(v: ConfValue, indent: string): string {
  if (Array.isArray(v)) return `[${v.map((x) => confValue(x, indent)).join(', ')}]`;
  if (typeof v === 'object') {
    const inner = indent + '  ';
    const lines = Object.entries(v).map(([k, x]) => `${inner}${k}: ${confValue(x, inner)}`);
    return `{\n${lines.join('\n')}\n${indent}}`;
  }
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

export function toConf(conf: Conf): string {
  return Object.entries(conf)
    .map(([k, v]) => `${k}: ${confValue(v, '')}`)
    .join('\n') + '\n';
}

/** Whether the flavor's binary accepts this configuration (`nats-server -t -c <file>`). */
const acceptsCache = new Map<string, boolean>();
export function accepts(flavor: Flavor, conf: Conf): boolean {
  const text = toConf(conf);
  const key = `${flavor}\n${text}`;
  const hit = acceptsCache.get(key);
  if (hit !== undefined) return hit;
  const dir = mkdtempSync(join(tmpdir(), 'peer-check-'));
  try {
    const file = join(dir, 'check.conf');
    writeFileSync(file, text);
    const r = spawnSync(binaryFor(flavor), ['-t', '-c', file], { encoding: 'utf8', timeout: 15_000 });
    const ok = r.status === 0;
    acceptsCache.set(key, ok);
    return ok;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------

export interface Ports {
  nats: string[];
  monitoring?: string[];
  cluster?: string[];
  websocket?: string[];
  leafnodes?: string[];
  profile?: string[];
}

export interface StartOptions {
  /** Extra command-line flags (e.g. `['-DV']`). */
  args?: string[];
  /** Merge the harness defaults (monitoring, websocket, leafnodes, server_tags); default true. */
  defaults?: boolean;
  /** Reuse this directory (restarts keep the config and store there). */
  dir?: string;
  timeoutMs?: number;
  /** No configuration file: flags only (nats.go-style `-a -p -m --ports_file_dir`). */
  flagsOnly?: boolean;
  /** Whether stop() removes the directory (default: when the launcher created it). */
  ownDir?: boolean;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Prefer the loopback URL of a listener that lists every interface. */
function pick(urls: string[] | undefined): string | undefined {
  if (!urls || urls.length === 0) return undefined;
  return urls.find((u) => u.includes('127.0.0.1')) ?? urls[0];
}

function portOf(url: string | undefined): number {
  if (!url) return 0;
  return Number(new URL(url).port);
}

export class NatsServer {
  readonly logs: string[] = [];
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  readonly exited: Promise<void>;

  private constructor(
    readonly flavor: Flavor,
    readonly dir: string,
    readonly configFile: string,
    readonly conf: Conf,
    readonly args: string[],
    readonly process: ChildProcess,
    readonly portsFile: string,
    readonly ports: Ports,
    private readonly ownsDir: boolean,
  ) {
    this.exited = new Promise((res) => {
      if (process.exitCode !== null || process.signalCode !== null) {
        this.exitCode = process.exitCode;
        this.exitSignal = process.signalCode;
        res();
        return;
      }
      process.once('exit', (code, sig) => {
        this.exitCode = code;
        this.exitSignal = sig;
        res();
      });
    });
  }

  get pid(): number {
    return this.process.pid!;
  }
  get hostname(): string {
    return new URL(pick(this.ports.nats)!).hostname;
  }
  get port(): number {
    return portOf(pick(this.ports.nats));
  }
  get url(): string {
    return pick(this.ports.nats)!;
  }
  get monitoringUrl(): string | undefined {
    return pick(this.ports.monitoring);
  }
  get websocketUrl(): string | undefined {
    return pick(this.ports.websocket);
  }
  get clusterUrl(): string | undefined {
    return pick(this.ports.cluster);
  }
  get clusterPort(): number {
    return portOf(this.clusterUrl);
  }

  /** The harness defaults merged under `conf` (as nats.js' launcher writes them). */
  static defaults(flavor: Flavor, dir: string): Conf {
    const d: Conf = {
      host: '127.0.0.1',
      port: -1,
      http: '127.0.0.1:-1',
      ports_file_dir: dir,
      server_tags: ['peer:suite', `flavor:${flavor}`],
      websocket: { host: '127.0.0.1', port: -1, no_tls: true },
    };
    // nats.js' launcher also opens a leafnode listener; tsnats refuses `leafnodes {}` until that
    // block is merged, so the block is written only when the binary accepts it (`-t`).
    const leaf: Conf = { leafnodes: { listen: '127.0.0.1:-1' } };
    if (accepts(flavor, leaf)) d.leafnodes = leaf.leafnodes!;
    return d;
  }

  static async start(flavor: Flavor, conf: Conf = {}, opts: StartOptions = {}): Promise<NatsServer> {
    const ownsDir = opts.ownDir ?? !opts.dir;
    const dir = opts.dir ?? mkdtempSync(join(tmpdir(), `peer-${flavor}-`));
    const full: Conf = opts.defaults === false ? { ports_file_dir: dir, ...conf } : { ...NatsServer.defaults(flavor, dir), ...conf };
    const configFile = join(dir, 'server.conf');
    writeFileSync(configFile, toConf(full));
    const args = opts.args ?? [];
    const argv = opts.flagsOnly ? [...args, '--ports_file_dir', dir] : ['-c', configFile, ...args];
    const child = spawn(binaryFor(flavor), argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const logs: string[] = [];
    const collect = (b: Buffer) => logs.push(...b.toString('utf8').split('\n').filter((l) => l));
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const portsFile = join(dir, `nats-server_${child.pid}.ports`);
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    let ports: Ports | undefined;
    while (!ports) {
      if (child.exitCode !== null || child.signalCode !== null) {
        if (ownsDir) rmSync(dir, { recursive: true, force: true });
        throw new Error(`${flavor} exited (${child.exitCode ?? child.signalCode}) before writing its ports file:\n${logs.join('\n')}`);
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        if (ownsDir) rmSync(dir, { recursive: true, force: true });
        throw new Error(`${flavor}: no ports file ${portsFile} after ${opts.timeoutMs ?? 10_000} ms:\n${logs.join('\n')}`);
      }
      try {
        ports = JSON.parse(readFileSync(portsFile, 'utf8')) as Ports;
      } catch {
        await sleep(10);
      }
    }
    const srv = new NatsServer(flavor, dir, configFile, full, args, child, portsFile, ports, ownsDir);
    srv.logs.push(...logs);
    child.stdout!.off('data', collect);
    child.stderr!.off('data', collect);
    const more = (b: Buffer) => srv.logs.push(...b.toString('utf8').split('\n').filter((l) => l));
    child.stdout!.on('data', more);
    child.stderr!.on('data', more);
    // The harness then waits for the monitoring endpoint.
    if (srv.monitoringUrl) {
      for (;;) {
        try {
          const r = await fetch(`${srv.monitoringUrl}/varz`);
          if (r.ok) break;
        } catch {
          /* not yet */
        }
        if (Date.now() > deadline) throw new Error(`${flavor}: /varz not answering`);
        await sleep(10);
      }
    }
    return srv;
  }

  /** A cluster of `n` servers (routes to the first one's cluster listener, as nats.js' `setupCluster`). */
  static async cluster(flavor: Flavor, n: number, conf: Conf = {}): Promise<NatsServer[]> {
    const first = await NatsServer.start(flavor, { ...conf, server_name: `${flavor}-0`, cluster: { name: 'peer', listen: '127.0.0.1:-1' } });
    const servers = [first];
    try {
      const rest = await Promise.all(
        Array.from({ length: n - 1 }, (_, i) =>
          NatsServer.start(flavor, {
            ...conf,
            server_name: `${flavor}-${i + 1}`,
            cluster: { name: 'peer', listen: '127.0.0.1:-1', routes: [`nats://127.0.0.1:${first.clusterPort}`] },
          }),
        ),
      );
      servers.push(...rest);
      // Wait until every server sees every other one (/routez num_routes).
      const deadline = Date.now() + 10_000;
      for (const s of servers) {
        for (;;) {
          const z = (await s.monitor('routez')) as { num_routes: number };
          if (z.num_routes >= n - 1) break;
          if (Date.now() > deadline) throw new Error(`${flavor}: cluster did not form (${s.conf.server_name}: ${z.num_routes} routes)`);
          await sleep(25);
        }
      }
      return servers;
    } catch (e) {
      await Promise.all(servers.map((s) => s.stop()));
      throw e;
    }
  }

  async monitor(path: string): Promise<unknown> {
    const r = await fetch(`${this.monitoringUrl}/${path}`);
    const text = await r.text();
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  /** Waits for a log line matching `re` (bounded). */
  async waitLog(re: RegExp, ms = 5000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.logs.find((l) => re.test(l));
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`${this.flavor}: no log line ${re}:\n${this.logs.join('\n')}`);
      await sleep(10);
    }
  }

  signal(sig: NodeJS.Signals): void {
    this.process.kill(sig);
  }

  /** Rewrites the configuration file (merged over the current one) and sends SIGHUP. */
  async reload(change: Conf, remove: string[] = []): Promise<void> {
    const next: Conf = { ...this.conf, ...change };
    for (const k of remove) delete next[k];
    writeFileSync(this.configFile, toConf(next));
    const before = this.logs.length;
    this.signal('SIGHUP');
    const deadline = Date.now() + 5000;
    while (!this.logs.slice(before).some((l) => /Reloaded server configuration|Failed to reload/.test(l))) {
      if (Date.now() > deadline) throw new Error(`${this.flavor}: no reload log line:\n${this.logs.slice(before).join('\n')}`);
      await sleep(10);
    }
    Object.keys(this.conf).forEach((k) => delete (this.conf as Record<string, ConfValue>)[k]);
    Object.assign(this.conf, next);
  }

  /** Waits for the process to exit (bounded). */
  async waitExit(ms = 10_000): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise<void>((_, rej) => (t = setTimeout(() => rej(new Error(`${this.flavor} did not exit`)), ms)))]);
    clearTimeout(t);
  }

  /** SIGTERM and wait (SIGKILL after 10 s); removes the directory it created. */
  async stop(): Promise<void> {
    if (this.exitCode === null && this.exitSignal === null) {
      this.signal('SIGTERM');
      try {
        await this.waitExit();
      } catch {
        this.signal('SIGKILL');
        await this.exited;
      }
    }
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Stops and starts again with the same configuration on the same client port (nats.js' `restart`). */
  async restart(): Promise<NatsServer> {
    const port = this.port;
    this.signal('SIGTERM');
    await this.waitExit();
    return NatsServer.start(this.flavor, { ...this.conf, port }, { defaults: false, dir: this.dir, args: this.args, ownDir: this.ownsDir });
  }
}
