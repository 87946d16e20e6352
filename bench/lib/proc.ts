// A server process for the standalone connect benchmarks (bench/nkey-connects.ts,
// bench/events-connects.ts): started with a configuration on a random port (read from its ports
// file), its CPU time from /proc, and a count-based connect measurement.

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSeconds } from './util.js';

export interface Proc {
  port: number;
  /** CPU time (user + system) the server process has used, in ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** Starts `cmd -c <conf file>` (tsnats' bin or nats-server) on a random port. */
export async function startProc(cmd: readonly string[], conf: string): Promise<Proc> {
  const dir = mkdtempSync(join(tmpdir(), 'connect-bench-'));
  const file = join(dir, 'server.conf');
  writeFileSync(file, `host: 127.0.0.1\nport: -1\nports_file_dir: "${dir}"\n${conf}\n`);
  const child = spawn(cmd[0]!, [...cmd.slice(1), '-c', file], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  for (let i = 0; i < 300; i++) {
    const f = readdirSync(dir).find((n) => n.endsWith('.ports'));
    if (f) {
      await new Promise((r) => setTimeout(r, 20));
      const ports = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { nats: string[] };
      return {
        port: Number(new URL(ports.nats[0]!).port),
        cpuMs: () => cpuSeconds(child.pid!) * 1000,
        stop: async () => {
          child.kill('SIGTERM');
          await exited;
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  throw new Error(`${cmd.join(' ')} did not start`);
}

/** `total` connections, `conc` at a time, after 50 unmeasured: connects/s and server CPU µs per connection. */
export async function measureConnects(srv: Proc, total: number, conc: number, once: (port: number) => Promise<void>): Promise<{ rate: number; cpuUs: number }> {
  for (let i = 0; i < 50; i++) await once(srv.port);
  let next = 0;
  const c0 = srv.cpuMs();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next < total) {
        next++;
        await once(srv.port);
      }
    }),
  );
  return { rate: total / ((performance.now() - t0) / 1000), cpuUs: ((srv.cpuMs() - c0) * 1000) / total };
}
