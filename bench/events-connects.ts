// What the system account's events cost on the connect path: server CPU per connection (from
// /proc; the steadier figure on a shared machine) and connects per second, for tsnats without a
// system account user (no events code loaded), with one (events on, nobody subscribed), and with
// a `$SYS.>` subscriber receiving the 8 events of every connect/close, and nats-server 2.9.10 with
// the same two configurations. `node dist/bench/events-connects.js [connections=3000] [concurrency=8] [rounds=2]`
// (from the repository root, after the build). Each connection: TCP connect, INFO, CONNECT as a
// password user of account A + PING, PONG, close.

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as natsConnect } from '@nats-io/transport-node';
import { natsServerBin } from '../test/wire/harness.js';

interface Proc {
  port: number;
  cpuMs(): number;
  stop(): Promise<void>;
}

async function startProc(cmd: string[], conf: string): Promise<Proc> {
  const dir = mkdtempSync(join(tmpdir(), 'events-bench-'));
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
        cpuMs: () => {
          const s = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
          return ((Number(s[11]) + Number(s[12])) * 1000) / 100;
        },
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

function once(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    let sent = false;
    s.setNoDelay(true);
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (!sent && buf.includes('\r\n')) {
        s.write('CONNECT {"verbose":false,"pedantic":false,"user":"a","pass":"a"}\r\nPING\r\n');
        sent = true;
      }
      if (buf.includes('PONG\r\n')) {
        s.destroy();
        resolve();
      } else if (buf.includes('-ERR')) {
        s.destroy();
        reject(new Error(buf));
      }
    });
    s.on('error', reject);
  });
}

async function run(srv: Proc, total: number, conc: number): Promise<{ rate: number; cpuUs: number }> {
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

const total = Number(process.argv[2] ?? 3000);
const conc = Number(process.argv[3] ?? 8);
const rounds = Number(process.argv[4] ?? 2);
const NO_SYS = 'accounts { A { users: [{user: a, password: a}] } }';
const SYS = 'accounts { SYS { users: [{user: sys, password: x}] }, A { users: [{user: a, password: a}] } }\nsystem_account: SYS';
const rows: Array<[string, string[], string, boolean]> = [
  ['tsnats, no system account user', [process.execPath, 'bin/tsnats'], NO_SYS, false],
  ['tsnats, events on, no subscriber', [process.execPath, 'bin/tsnats'], SYS, false],
  ['tsnats, $SYS.> subscriber', [process.execPath, 'bin/tsnats'], SYS, true],
  ['nats-server, events on, no subscriber', [natsServerBin() ?? 'nats-server'], SYS, false],
  ['nats-server, $SYS.> subscriber', [natsServerBin() ?? 'nats-server'], SYS, true],
];
for (let r = 0; r < rounds; r++) {
  for (const [name, cmd, conf, watch] of rows) {
    const srv = await startProc(cmd, conf);
    let seen = 0;
    const nc = watch ? await natsConnect({ port: srv.port, user: 'sys', pass: 'x' }) : undefined;
    if (nc) {
      const sub = nc.subscribe('$SYS.>');
      void (async () => {
        for await (const _ of sub) seen++;
      })();
      await nc.flush();
    }
    try {
      const x = await run(srv, total, conc);
      await new Promise((res) => setTimeout(res, 200));
      console.log(`${name}: ${x.rate.toFixed(0)} connects/s, ${x.cpuUs.toFixed(0)} µs server CPU per connection${watch ? `, ${seen} events received` : ''}`);
    } finally {
      await nc?.close();
      await srv.stop();
    }
  }
}
