#!/usr/bin/env node
// Profiles tsnats under the Go load generator: starts `node --cpu-prof bin/tsnats` on a free
// loopback port, runs one loadgen scenario against it, stops the server with SIGINT (so the
// profile is written), and prints the load generator's result, the server's CPU seconds per
// message, and the top functions by self time.
//
//   node bench/profile/profile.mjs [scenario] [--dur 3s] [--tls] [--no-prof] [--server CMD] [--top 30]
//
// Scenarios: pub16, pub1k, p2p, fanout, nn, queue, req. --tls serves TLS (a throwaway PKI from the
// test kit, no OCSP) and points the load generator at tls://. --server CMD runs CMD -a -p [-c]
// instead (e.g. nats-server, or a wrapper around another tsnats build for A/B runs), unprofiled.
// Build first (`npx tsc -p tsconfig.json`) and let `npm run bench` build the load generator once
// (it lands in ~/.cache/tsnats-bench/loadgen-*). Profiles go to /tmp/tsnats-prof/.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarize } from './summarize.mjs';

const SCENARIOS = {
  pub16: ['pub', '-size', '16', '-pubs', '1'],
  pub1k: ['pub', '-size', '1024', '-pubs', '1'],
  p2p: ['pubsub', '-size', '16', '-pubs', '1', '-subs', '1'],
  fanout: ['pubsub', '-size', '128', '-pubs', '1', '-subs', '4'],
  nn: ['pubsub', '-size', '128', '-pubs', '4', '-subs', '4'],
  queue: ['pubsub', '-size', '128', '-pubs', '1', '-subs', '4', '-queue', 'q'],
  req: ['reqrep', '-size', '128'],
};

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const flag = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return false;
  args.splice(i, 1);
  return true;
};
const dur = opt('--dur', '3s');
const top = Number(opt('--top', '30'));
const serverCmd = opt('--server', '');
const noProf = flag('--no-prof');
const useTls = flag('--tls');
const scenario = args[0] ?? 'p2p';
if (!SCENARIOS[scenario]) {
  console.error(`unknown scenario ${scenario}; one of ${Object.keys(SCENARIOS).join(', ')}`);
  process.exit(2);
}

function findLoadgen() {
  const dir = process.env.BENCH_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tsnats-bench');
  const bins = readdirSync(dir)
    .filter((n) => n.startsWith('loadgen-'))
    .map((n) => join(dir, n))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (bins.length === 0) throw new Error(`no loadgen in ${dir}: run "npm run bench -- --quick --no-write" once`);
  return bins[0];
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** [utime, stime] of a process in seconds (clock ticks at 100 Hz). */
function cpuTimes(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return [Number(rest[11]) / 100, Number(rest[12]) / 100];
}

async function waitPort(port) {
  const { connect } = await import('node:net');
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => {
      const s = connect(port, '127.0.0.1');
      s.once('data', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('server did not start');
}

const port = await freePort();
const profDir = '/tmp/tsnats-prof';
mkdirSync(profDir, { recursive: true });
const srvArgs = ['-a', '127.0.0.1', '-p', String(port)];
const lgArgs = ['-url', `nats://127.0.0.1:${port}`];
let workDir;
if (useTls) {
  workDir = mkdtempSync(join(tmpdir(), 'tsnats-prof-'));
  const { createTestPki } = await import('../../dist/src/testkit/index.js');
  const pki = await createTestPki({ ocspUrl: 'http://127.0.0.1:9/ocsp', dir: join(workDir, 'pki') });
  const conf = join(workDir, 'tls.conf');
  const q = JSON.stringify;
  writeFileSync(conf, `tls {\n  cert_file: ${q(pki.serverMustStaple.bundleFile)}\n  key_file: ${q(pki.serverMustStaple.keyFile)}\n  timeout: 5\n}\nocsp: false\n`);
  srvArgs.push('-c', conf);
  lgArgs.splice(0, 2, '-url', `tls://127.0.0.1:${port}`, '-ca', pki.caFile);
}
const child = serverCmd
  ? spawn(serverCmd, srvArgs, { stdio: ['ignore', 'ignore', 'inherit'] })
  : spawn(process.execPath, [...(noProf ? [] : ['--cpu-prof', `--cpu-prof-dir=${profDir}`]), 'bin/tsnats', ...srvArgs], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
await waitPort(port);
const cpu0 = cpuTimes(child.pid);
const lg = spawn(findLoadgen(), [...SCENARIOS[scenario], ...lgArgs, '-dur', dur], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
lg.stdout.on('data', (d) => (out += d));
await new Promise((r) => lg.on('close', r));
const cpu1 = cpuTimes(child.pid);
const user = cpu1[0] - cpu0[0];
const sys = cpu1[1] - cpu0[1];
const t0 = Date.now();
child.kill('SIGINT');
await new Promise((r) => child.on('close', r));
if (workDir) rmSync(workDir, { recursive: true, force: true });

const res = JSON.parse(out);
const msgs = res.mode === 'reqrep' ? res.requests * 2 : res.mode === 'pub' ? res.sent : res.received;
const summary = {
  scenario: useTls ? `tls_${scenario}` : scenario,
  pub_rate: res.pub_rate !== undefined ? Math.round(res.pub_rate) : undefined,
  sub_rate: res.sub_rate !== undefined ? Math.round(res.sub_rate) : undefined,
  rate: res.rate !== undefined ? Math.round(res.rate) : undefined,
  p50_us: res.p50_us,
  p99_us: res.p99_us,
  lost: res.lost,
  subs_closed: res.subs_closed,
  server_cpu_s: +(user + sys).toFixed(2),
  user_s: +user.toFixed(2),
  sys_s: +sys.toFixed(2),
  cpu_s_per_M: msgs > 0 ? +(((user + sys) / msgs) * 1e6).toFixed(3) : undefined,
};
console.log(JSON.stringify(summary));
if (!serverCmd && !noProf) {
  const files = readdirSync(profDir)
    .map((n) => join(profDir, n))
    .filter((p) => p.endsWith('.cpuprofile') && statSync(p).mtimeMs >= t0 - 60000)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (files[0]) {
    console.log(`profile: ${files[0]}`);
    console.log(summarize(JSON.parse(readFileSync(files[0], 'utf8')), top));
  }
}
