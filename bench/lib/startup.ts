// Start-up time (issue 15): from exec to the first TCP connection the server accepts on its client
// port, for one server, for three started together, and (tsnats) for an embedder's fresh process
// doing `import('tsnats')` + `startServer()`. `node -e 0` (exec to exit) is measured alongside:
// it is the floor any Node server pays, and the target is stated against it.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { track } from './loadgen.js';
import { freePort, sleep } from './util.js';

/** Milliseconds from spawn to the first accepted connection on 127.0.0.1:port (NaN on timeout). */
async function acceptAfter(child: ChildProcess, port: number, t0: number, timeoutMs: number): Promise<number> {
  let exited = false;
  child.once('exit', () => (exited = true));
  const end = t0 + timeoutMs;
  while (!exited && performance.now() < end) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => {
        s.destroy();
        resolve(false);
      });
    });
    if (ok) return performance.now() - t0;
    await sleep(1);
  }
  return NaN;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

/** Starts `argv + [-a 127.0.0.1 -p <port>]` `count` times at once; returns each one's exec → accept time. */
export async function startTogether(argv: string[], count: number, timeoutMs = 10_000): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort());
  const children: ChildProcess[] = [];
  const waits: Promise<number>[] = [];
  try {
    for (const port of ports) {
      const t0 = performance.now();
      const c = spawn(argv[0]!, [...argv.slice(1), '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
      track(c);
      children.push(c);
      waits.push(acceptAfter(c, port, t0, timeoutMs));
    }
    return await Promise.all(waits);
  } finally {
    await Promise.all(children.map(stop));
  }
}

/** An embedder's process: `import('<index>')` then `startServer({ host, port })`, exec → accept. */
export async function embeddedStart(indexJs: string, timeoutMs = 10_000): Promise<number> {
  const port = await freePort();
  const code = `const { startServer } = await import(${JSON.stringify(indexJs)}); await startServer({ host: '127.0.0.1', port: ${port} });`;
  const t0 = performance.now();
  const c = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: 'ignore' });
  track(c);
  try {
    return await acceptAfter(c, port, t0, timeoutMs);
  } finally {
    await stop(c);
  }
}

/** `node -e 0`: exec → exit. */
export async function nodeBoot(): Promise<number> {
  const t0 = performance.now();
  const c = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  track(c);
  await new Promise<void>((r) => c.once('exit', () => r()));
  return performance.now() - t0;
}

/** Two busy-looping processes (the "two busy CPUs" of the start-up check); call the result to stop them. */
export function busyCpus(n = 2): () => Promise<void> {
  const kids = Array.from({ length: n }, () => {
    const c = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    track(c);
    return c;
  });
  return async () => {
    await Promise.all(kids.map(stop));
  };
}

export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}
