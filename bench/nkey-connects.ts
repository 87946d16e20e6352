// Connects per second with nkey authentication, tsnats vs nats-server 2.9.10, same client:
// `node dist/bench/nkey-connects.js [connections=2000] [concurrency=20] [password]`.
//
// Throughput on a shared machine is noisy; the server's CPU time per connection (from /proc) is
// the steadier figure. Each connection: TCP connect, read INFO, sign its nonce (node:crypto Ed25519, so the client
// costs little), CONNECT + PING, wait for PONG, close. Both servers get the same configuration
// (one nkey user among 100 nkey users and a password user) and run one after the other, each as
// its own process (run from the repository root, after the build). TSNATS_NODE_ARGS adds node
// flags for the tsnats process (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).

import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUser } from '@nats-io/nkeys';
import { natsServerBin } from '../test/wire/harness.js';

interface Proc {
  port: number;
  /** CPU time (user + system) the server process has used, in ms (from /proc). */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** Starts a server process (tsnats' bin or nats-server) on a random port; reads its ports file. */
async function startProc(cmd: string[], conf: string): Promise<Proc> {
  const dir = mkdtempSync(join(tmpdir(), 'nkey-bench-'));
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
          const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
          return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, 100 ticks/s
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

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function b32(s: string): Buffer {
  const out: number[] = [];
  let bits = 0;
  let v = 0;
  for (const ch of s) {
    v = (v << 5) | B32.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((v >> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

function seedKey(seed: string): KeyObject {
  const raw = b32(seed).subarray(2, 34);
  return createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), raw]), format: 'der', type: 'pkcs8' });
}

function once(port: number, pk: string, key: KeyObject): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    let sent = false;
    s.setNoDelay(true);
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (!sent) {
        const i = buf.indexOf('\r\n');
        if (i < 0) return;
        const info = JSON.parse(buf.slice(5, i)) as { nonce: string };
        if (PASSWORD) {
          s.write(`CONNECT {"verbose":false,"pedantic":false,"user":"pw","pass":"x"}\r\nPING\r\n`);
        } else {
          const sig = sign(null, Buffer.from(info.nonce), key).toString('base64url');
          s.write(`CONNECT {"verbose":false,"pedantic":false,"nkey":"${pk}","sig":"${sig}"}\r\nPING\r\n`);
        }
        sent = true;
        buf = buf.slice(i + 2);
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

async function run(srv: Proc, pk: string, key: KeyObject, total: number, conc: number): Promise<{ rate: number; cpuUs: number }> {
  // Warm-up.
  for (let i = 0; i < 50; i++) await once(srv.port, pk, key);
  let next = 0;
  const c0 = srv.cpuMs();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next < total) {
        next++;
        await once(srv.port, pk, key);
      }
    }),
  );
  const rate = total / ((performance.now() - t0) / 1000);
  return { rate, cpuUs: ((srv.cpuMs() - c0) * 1000) / total };
}

const total = Number(process.argv[2] ?? 2000);
/** `password` as the third argument (after the counts): the password user instead (the baseline). */
const PASSWORD = process.argv[4] === 'password';
const conc = Number(process.argv[3] ?? 20);
const users = Array.from({ length: 100 }, () => createUser());
const me = users[57]!;
const conf = `authorization { users: [ { user: pw, password: x }, ${users.map((u) => `{ nkey: ${u.getPublicKey()} }`).join(', ')} ] }`;
const key = seedKey(new TextDecoder().decode(me.getSeed()));
const results: Record<string, { rate: number; cpuUs: number }> = {};
for (const [name, cmd] of [
  ['tsnats', [process.execPath, ...(process.env.TSNATS_NODE_ARGS ?? '').split(' ').filter(Boolean), 'bin/tsnats']],
  ['nats-server', [natsServerBin() ?? 'nats-server']],
] as const) {
  const srv = await startProc([...cmd], conf);
  try {
    results[name] = await run(srv, me.getPublicKey(), key, total, conc);
  } finally {
    await srv.stop();
  }
  const r = results[name]!;
  console.log(`${name}: ${r.rate.toFixed(0)} ${PASSWORD ? 'password' : 'nkey'} connects/s, ${r.cpuUs.toFixed(0)} µs of server CPU per connection (${total} connections, ${conc} at a time)`);
}
const ts = results.tsnats!;
const ns = results['nats-server']!;
console.log(`tsnats/nats-server: throughput ${(ts.rate / ns.rate).toFixed(2)}x, CPU per connection ${(ts.cpuUs / ns.cpuUs).toFixed(2)}x`);
