// Starting and stopping the servers under test (nats-server and tsnats), each as a child process
// listening on 127.0.0.1, and sampling their RSS and CPU time from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isShuttingDown, track } from './loadgen.js';
import { cpuSeconds, freePort, rssKiB, sleep, waitForInfo } from './util.js';

export interface ServerSpec {
  /** Short name used in the table: 'nats-server' or 'tsnats'. */
  name: string;
  /** argv prefix; the runner appends `-a 127.0.0.1 -p <port> [-c <conf>]`. */
  argv: string[];
  version: string;
  /** Set when the server cannot run at all; every row then shows n/a with this reason. */
  unavailable?: string;
}

export interface StartOpts {
  /** Config file body (nats-server syntax); omitted → no -c. */
  conf?: string;
  /** Folder for the config and log files. */
  workDir: string;
  /** File-descriptor limit to ask for (ulimit -n) before exec'ing the server. */
  nofile?: number;
  /** argv prefix such as ['taskset', '-c', '0']. */
  pin?: string[];
  readyTimeoutMs?: number;
  /** Readiness check instead of "the port sends INFO" (e.g. a JetStream API reply). */
  ready?: (port: number, timeoutMs: number, alive: () => boolean) => Promise<boolean>;
}

export interface RunningServer {
  spec: ServerSpec;
  pid: number;
  port: number;
  logFile: string;
  alive(): boolean;
  rssKiB(): number;
  cpuSeconds(): number;
  /** Last lines of the server's output (for error messages). */
  tail(n?: number): string;
  stop(): Promise<void>;
}

let seq = 0;

/** Wraps argv in `sh -c 'ulimit -n N; exec ...'` so the server (same pid, thanks to exec) gets the fd limit. */
export function withNofile(argv: string[], nofile: number | undefined): string[] {
  if (!nofile) return argv;
  const script = `ulimit -n ${nofile} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"`;
  return ['sh', '-c', script, ...argv];
}

export async function startServer(spec: ServerSpec, opts: StartOpts): Promise<RunningServer> {
  if (spec.unavailable) throw new Error(spec.unavailable);
  if (isShuttingDown()) throw new Error('benchmark is shutting down');
  const id = `${spec.name}-${process.pid}-${++seq}`;
  const port = await freePort();
  const args = [...spec.argv, '-a', '127.0.0.1', '-p', String(port)];
  if (opts.conf !== undefined) {
    const confFile = join(opts.workDir, `${id}.conf`);
    writeFileSync(confFile, opts.conf);
    args.push('-c', confFile);
  }
  const argv = [...(opts.pin ?? []), ...withNofile(args, opts.nofile)];
  const logFile = join(opts.workDir, `${id}.log`);
  const logStream = createWriteStream(logFile);
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  child.stdout!.pipe(logStream, { end: false });
  child.stderr!.pipe(logStream, { end: false });
  let exited = false;
  const exitP = new Promise<void>((r) =>
    child.on('exit', () => {
      exited = true;
      r();
    }),
  );
  child.on('error', () => {
    exited = true;
  });
  const tail = (n = 8) => {
    try {
      return readFileSync(logFile, 'utf8').trim().split('\n').slice(-n).join('\n');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exitP;
      clearTimeout(t);
    }
    logStream.end();
  };
  const ready = await (opts.ready ?? waitForInfo)(port, opts.readyTimeoutMs ?? 20_000, () => !exited);
  if (!ready || child.pid === undefined) {
    await stop();
    await sleep(50);
    throw new Error(`${spec.name} did not start on 127.0.0.1:${port}${exited ? ` (exit code ${child.exitCode})` : ''}: ${tail(6) || 'no output'}`);
  }
  const pid = child.pid;
  return {
    spec,
    pid,
    port,
    logFile,
    alive: () => !exited && existsSync(`/proc/${pid}`),
    rssKiB: () => rssKiB(pid),
    cpuSeconds: () => cpuSeconds(pid),
    tail,
    stop,
  };
}
