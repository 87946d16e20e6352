// Builds and runs the Go load generator (bench/loadgen/main.go).
//
// The binary is built once per (source, Go version) into a cache directory:
// $BENCH_CACHE_DIR, else $XDG_CACHE_HOME/tsnats-bench, else ~/.cache/tsnats-bench, else the OS
// temp folder. The build is offline: GOPATH mode (GO111MODULE=off) against Debian's packaged
// sources in /usr/share/gocode.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { goVersion } from './deps.js';
import { repoRoot } from './util.js';

export function cacheDir(): string {
  if (process.env.BENCH_CACHE_DIR) return process.env.BENCH_CACHE_DIR;
  if (process.env.XDG_CACHE_HOME) return join(process.env.XDG_CACHE_HOME, 'tsnats-bench');
  const home = homedir();
  if (home && existsSync(home)) return join(home, '.cache', 'tsnats-bench');
  return join(tmpdir(), 'tsnats-bench-cache');
}

export function loadgenSource(): string {
  return join(repoRoot(), 'bench', 'loadgen', 'main.go');
}

/** Builds the loadgen if the cached binary is missing or stale; returns its path. Throws on build failure. */
export function buildLoadgen(go: string, gopath: string, log: (m: string) => void = () => {}): string {
  const src = loadgenSource();
  const code = readFileSync(src);
  const gov = goVersion(go);
  const tag = createHash('sha256').update(code).update(gov).update(gopath).digest('hex').slice(0, 12);
  const dir = cacheDir();
  const bin = join(dir, `loadgen-${tag}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  log(`building the Go load generator (${gov}) into ${bin}`);
  const tmp = `${bin}.tmp${process.pid}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GO111MODULE: 'off',
    GOPATH: gopath,
    GOFLAGS: '',
    GOCACHE: join(dir, 'go-build'),
    CGO_ENABLED: '0',
    GOTOOLCHAIN: 'local',
  };
  const r = spawnSync(go, ['build', '-o', tmp, src], { env, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`go build of ${src} failed:\n${r.stderr || r.stdout || r.error}`);
  }
  renameSync(tmp, bin);
  // Drop binaries built from older versions of the source, once unused for a day (checkouts of
  // other branches share this cache and may be running theirs right now).
  const dayAgo = Date.now() - 86_400_000;
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (!/^loadgen-[0-9a-f]{12}$/.test(f) || p === bin) continue;
    try {
      if (statSync(p).atimeMs < dayAgo && statSync(p).mtimeMs < dayAgo) rmSync(p, { force: true });
    } catch {
      // already gone
    }
  }
  return bin;
}

export interface RunOpts {
  /** Command prefix, e.g. ['taskset', '-c', '1']. */
  prefix?: string[];
  timeoutMs: number;
}

export type Json = Record<string, unknown>;

/** Runs one loadgen mode and returns its JSON result. Rejects on a non-zero exit, bad output or timeout. */
export function runLoadgen(bin: string, mode: string, args: string[], opts: RunOpts): Promise<Json> {
  return new Promise((resolve, reject) => {
    if (shuttingDown) return reject(new Error('benchmark is shutting down'));
    const argv = [...(opts.prefix ?? []), bin, mode, ...args];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`loadgen ${mode} timed out after ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`loadgen ${mode} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      try {
        const line = out.trim().split('\n').pop() ?? '';
        resolve(JSON.parse(line) as Json);
      } catch {
        reject(new Error(`loadgen ${mode}: unparsable output ${JSON.stringify(out.slice(0, 200))}`));
      }
    });
  });
}

export interface IdleHandle {
  ready: Json;
  /** Closes the connections and waits for the process to exit. */
  close(): Promise<void>;
}

/** Starts `loadgen idle`, resolves once every connection is up (or failed); the connections stay open until close(). */
export function startIdle(bin: string, args: string[], opts: RunOpts): Promise<IdleHandle> {
  return new Promise((resolve, reject) => {
    if (shuttingDown) return reject(new Error('benchmark is shutting down'));
    const argv = [...(opts.prefix ?? []), bin, 'idle', ...args];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    track(child);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<void>((r) => child.on('close', () => r()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`loadgen idle: no ready line after ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (line) => {
      clearTimeout(timer);
      let ready: Json;
      try {
        ready = JSON.parse(line) as Json;
      } catch {
        child.kill('SIGKILL');
        return reject(new Error(`loadgen idle: unparsable ready line ${JSON.stringify(line.slice(0, 200))}`));
      }
      resolve({
        ready,
        close: async () => {
          child.stdin!.end();
          const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(t);
        },
      });
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`loadgen idle exited ${code} early: ${err.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

// Every child process the benchmark starts is tracked here so that Ctrl-C and errors stop them all.
const children = new Set<ChildProcess>();
let shuttingDown = false;

/** True once killAllChildren() ran: nothing new may be started. */
export function isShuttingDown(): boolean {
  return shuttingDown;
}

export function track(child: ChildProcess): void {
  children.add(child);
  child.on('exit', () => children.delete(child));
}

/** SIGTERM, then SIGKILL after `graceMs`, to every tracked child still running. */
export async function killAllChildren(graceMs = 2000): Promise<void> {
  shuttingDown = true;
  const live = [...children].filter((c) => c.exitCode === null && c.signalCode === null);
  if (live.length === 0) return;
  const exits = live.map((c) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r()))));
  for (const c of live) c.kill('SIGTERM');
  const t = setTimeout(() => {
    for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }, graceMs);
  await Promise.all(exits);
  clearTimeout(t);
}

/** Synchronous last resort for process 'exit': SIGKILL whatever is left. */
export function killAllChildrenSync(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
