// Small helpers shared by the benchmark runner and its self-test.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { dirname, join, delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The repository root: the nearest folder above this file that has a package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new Error('bench: cannot find the repository root (package.json)');
}

/** Absolute path of `cmd` in PATH (plus the sbin folders, where Debian puts nats-server), or undefined. */
export function which(cmd: string, extra: string[] = []): string | undefined {
  if (cmd.includes('/')) return existsSync(cmd) ? cmd : undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin', ...extra];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, cmd);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Runs a command synchronously; returns trimmed stdout, or undefined when it fails. */
export function capture(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string | undefined {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: env ?? process.env, timeout: 30_000 });
  if (r.status !== 0) return undefined;
  return `${r.stdout ?? ''}`.trim() || `${r.stderr ?? ''}`.trim();
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves true once a NATS server on 127.0.0.1:port sends its INFO line, false on timeout. */
export async function waitForInfo(port: number, timeoutMs: number, alive: () => boolean = () => true): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && alive()) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect({ host: '127.0.0.1', port });
      let buf = '';
      const done = (v: boolean) => {
        clearTimeout(t);
        sock.destroy();
        resolve(v);
      };
      const t = setTimeout(() => done(false), 2000);
      sock.on('data', (d) => {
        buf += d.toString('latin1');
        if (buf.startsWith('INFO ')) done(true);
      });
      sock.on('error', () => done(false));
      sock.on('close', () => done(false));
    });
    if (ok) return true;
    await sleep(100);
  }
  return false;
}

export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

/** Clock ticks per second for /proc/<pid>/stat times. */
let clkTck: number | undefined;
export function clockTicks(): number {
  if (clkTck === undefined) {
    const v = Number(capture('getconf', ['CLK_TCK']));
    clkTck = Number.isFinite(v) && v > 0 ? v : 100;
  }
  return clkTck;
}

/** Fields of /proc/<pid>/stat after the `(comm)` field; index 0 is `state` (field 3). */
function statFields(pid: number | 'self'): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** utime + stime of a process in seconds (field 14 + 15), or NaN. */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  if (!f) return NaN;
  return (Number(f[11]) + Number(f[12])) / clockTicks();
}

/** This process plus its waited-for children (utime, stime, cutime, cstime), in seconds. */
export function selfAndChildrenCpuSeconds(): number {
  const f = statFields('self');
  if (!f) return NaN;
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / clockTicks();
}

/** Busy and total jiffies of the whole machine (/proc/stat `cpu` line), in seconds. */
export function machineCpuSeconds(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'latin1').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice (guest* are inside user/nice)
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: (total - idle) / clockTicks(), total: total / clockTicks() };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

/** VmRSS of a process in KiB, or NaN. */
export function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

export function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}
