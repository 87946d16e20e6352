// Runs the compiled demo / example as child processes, each with its own empty TMPDIR, so a test
// can tell that nothing was left on disk; and checks that a process is gone.

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const DEMO = resolve('dist/src/demo/main.js');
export const EXAMPLE = resolve('dist/examples/https-stapling.js');

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** The TMPDIR the process ran with. */
  tmp: string;
  /** What is left in `tmp`. */
  leftovers(): string[];
  removeTmp(): void;
}

export interface RunOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Called on every stdout chunk with the output so far, and a way to signal or type into the child. */
  onStdout?: (all: string, ctl: Control) => void;
  /** Give the child a stdin pipe (default: /dev/null). */
  stdin?: boolean;
  timeoutMs?: number;
}

export interface Control {
  kill(sig: NodeJS.Signals): void;
  /** Writes to the child's stdin (needs `stdin: true`). */
  type(s: string): void;
}

export function runNode(script: string, opts: RunOptions = {}): Promise<Run> {
  const tmp = mkdtempSync(join(tmpdir(), 'tsnats-demo-test-'));
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, ...opts.env };
  delete env.FORCE_COLOR;
  delete env.NO_COLOR;
  const started = Date.now();
  const child = spawn(process.execPath, [script, ...(opts.args ?? [])], { env, stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const ctl: Control = {
    kill: (sig) => void child.kill(sig),
    type: (s) => void child.stdin?.write(s),
  };
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    opts.onStdout?.(stdout, ctl);
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  return new Promise((done) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({
        code,
        signal,
        stdout,
        stderr,
        ms: Date.now() - started,
        tmp,
        leftovers: () => readdirSync(tmp),
        removeTmp: () => rmSync(tmp, { recursive: true, force: true }),
      });
    });
  });
}

/** Is a process with this pid still there? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The tsnats pid the demo printed (`pid  12345`). */
export function serverPid(stdout: string): number | undefined {
  const m = /^\s+pid\s+(\d+)\s*$/m.exec(stdout);
  return m ? Number(m[1]) : undefined;
}
