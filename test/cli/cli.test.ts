// The tsnats command (bin/tsnats): flags, -t, exit statuses, signals, pid and ports files.
// Outputs are compared with nats-server's (name replaced) when it is installed.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { client, NATS_SERVER, SKIP_NATS_SERVER, sleep } from '../wire/harness.js';
import { TSNATS_VERSION } from '../../src/server/info.js';

const BIN = resolve('bin/tsnats');
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsnats-cli-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[], cwd = dir): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 10000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function runNats(args: string[], cwd = dir): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(NATS_SERVER!, args, { cwd, encoding: 'utf8', timeout: 10000 });
  return { status: r.status, stdout: r.stdout.replaceAll('nats-server', 'tsnats'), stderr: r.stderr.replaceAll('nats-server', 'tsnats') };
}

interface Proc {
  child: ChildProcess;
  log: () => string;
  exit: Promise<number | null>;
  port: number;
  portsFile: string;
}

/** Starts bin/tsnats with a config and waits for its ports file. */
async function startCli(confText: string, name = `s${Date.now()}`): Promise<Proc> {
  const conf = join(dir, `${name}.conf`);
  writeFileSync(conf, `host: 127.0.0.1\nport: -1\nports_file_dir: "${dir}"\n${confText}\n`);
  const child = spawn(process.execPath, [BIN, '-c', conf], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const portsFile = join(dir, `tsnats_${child.pid}.ports`);
  for (let i = 0; i < 200 && !existsSync(portsFile); i++) await sleep(25);
  if (!existsSync(portsFile)) {
    child.kill('SIGKILL');
    throw new Error(`tsnats did not start: ${log}`);
  }
  const ports = JSON.parse(readFileSync(portsFile, 'utf8')) as { nats: string[] };
  return { child, log: () => log, exit, port: Number(new URL(ports.nats[0]!).port), portsFile };
}

async function waitLog(p: Proc, text: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!p.log().includes(text)) {
    if (Date.now() > end) throw new Error(`log never had ${JSON.stringify(text)}:\n${p.log()}`);
    await sleep(20);
  }
}

describe('cli: informational flags', () => {
  it('-v prints the version', () => {
    const r = run(['-v']);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, `tsnats: v${TSNATS_VERSION}\n`);
  });

  it('-h prints usage on stdout and exits 0', () => {
    const r = run(['-h']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^\nUsage: tsnats \[options\]\n/);
  });

  it('an unknown flag prints the error and usage, status 0 (as nats-server)', () => {
    const r = run(['--bogus']);
    assert.equal(r.status, 0);
    assert.equal(r.stderr, 'flag provided but not defined: -bogus\n');
    assert.match(r.stdout, /Usage: tsnats/);
  });
});

describe('cli: subcommands', () => {
  it('`tsnats ocsp` dispatches to the OCSP operator tooling', () => {
    const h = run(['ocsp', 'help']);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /tsnats ocsp check --cert/);
    const r = run(['ocsp', 'check']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--cert <file> is required/);
  });
});

describe('cli: -t and configuration errors', () => {
  it('-t on a valid file', () => {
    writeFileSync(join(dir, 'good.conf'), 'port: 4222\n');
    const r = run(['-t', '-c', 'good.conf']);
    assert.equal(r.status, 0);
    assert.equal(r.stderr, 'tsnats: configuration file good.conf is valid\n');
  });

  it('-t on a bad file: position, status 1', () => {
    writeFileSync(join(dir, 'bad.conf'), 'port: 4222\nfoo: 1\n');
    const r = run(['-t', '-c', 'bad.conf']);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'tsnats: bad.conf:2:1: unknown field "foo"\n\n');
  });

  it('running with a bad file fails the same way', () => {
    const r = run(['-c', 'bad.conf']);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'tsnats: bad.conf:2:1: unknown field "foo"\n\n');
  });

  it('-t without -c', () => {
    const r = run(['-t']);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'tsnats: must specify [-c, --config] option to check configuration file syntax\n');
  });

  it('same output and status as nats-server', { skip: SKIP_NATS_SERVER }, () => {
    for (const args of [['-t', '-c', 'good.conf'], ['-t', '-c', 'bad.conf'], ['-c', 'bad.conf'], ['-t'], ['--bogus']]) {
      const a = run(args);
      const b = runNats(args);
      assert.equal(a.status, b.status, args.join(' '));
      assert.equal(a.stderr, b.stderr, args.join(' '));
    }
  });
});

describe('cli: running server', () => {
  it('start-up lines, ports and pid files, SIGTERM exits 0 and removes them', async () => {
    const pidFile = join(dir, 'server.pid');
    const p = await startCli(`pid_file: "${pidFile}"\nhttp: "127.0.0.1:-1"`);
    assert.equal(readFileSync(pidFile, 'utf8'), String(p.child.pid));
    const ports = JSON.parse(readFileSync(p.portsFile, 'utf8')) as Record<string, string[]>;
    assert.deepEqual(Object.keys(ports), ['nats', 'monitoring']);
    assert.match(ports.nats![0]!, /^nats:\/\/127\.0\.0\.1:\d+$/);
    const log = p.log();
    for (const re of [
      /^\[\d+\] \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d{6} \[INF\] Starting tsnats$/m,
      /\[INF\] {3}Version: {2}\S+$/m,
      /\[INF\] {3}ID: {7}N[A-Z2-7]{55}$/m,
      /\[INF\] Using configuration file: /m,
      /\[INF\] Starting http monitor on 127\.0\.0\.1:\d+$/m,
      /\[INF\] Listening for client connections on 127\.0\.0\.1:\d+$/m,
      /\[INF\] Server is ready$/m,
    ]) {
      assert.match(log, re);
    }
    const c = await client(p.port);
    await c.roundTrip();
    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0);
    assert.equal(existsSync(p.portsFile), false);
    assert.equal(existsSync(pidFile), false);
    assert.match(p.log(), /\[INF\] Initiating Shutdown\.\.\.\n.*\[INF\] Server Exiting\.\.\n$/s);
    assert.equal(await c.waitClosed(), true);
  });

  it('SIGINT exits 0', async () => {
    const p = await startCli('');
    p.child.kill('SIGINT');
    assert.equal(await p.exit, 0);
  });

  it('SIGHUP reloads users; a broken file is refused and the server keeps running', async () => {
    const name = 'reload';
    const p = await startCli('authorization { users: [ {user: a, password: one} ] }', name);
    const conf = join(dir, `${name}.conf`);
    try {
      writeFileSync(conf, `host: 127.0.0.1\nport: -1\nports_file_dir: "${dir}"\nauthorization { users: [ {user: a, password: two} ] }\n`);
      p.child.kill('SIGHUP');
      await waitLog(p, 'Reloaded server configuration');
      assert.match(p.log(), /\[INF\] Reloaded: authorization users\n/);
      const c = await client(p.port, '{"user":"a","pass":"two","verbose":false}');
      await c.roundTrip();
      c.close();
      writeFileSync(conf, `host: 127.0.0.1\nport: -1\nports_file_dir: "${dir}"\nbogus_key: 1\n`);
      p.child.kill('SIGHUP');
      await waitLog(p, 'Failed to reload server configuration:');
      assert.match(p.log(), /\[ERR\] Failed to reload server configuration: .*reload\.conf:4:1: unknown field "bogus_key"/);
      writeFileSync(conf, `host: 127.0.0.1\nport: 1\nports_file_dir: "${dir}"\n`);
      p.child.kill('SIGHUP');
      await waitLog(p, 'config reload not supported for Port');
      const c2 = await client(p.port, '{"user":"a","pass":"two","verbose":false}');
      await c2.roundTrip();
      c2.close();
    } finally {
      p.child.kill('SIGTERM');
      assert.equal(await p.exit, 0);
    }
  });

  it('--signal reload=<pidfile> and --signal ldm=<pid>', async () => {
    const pidFile = join(dir, 'sig.pid');
    const p = await startCli(`pid_file: "${pidFile}"\nlame_duck_duration: "30s"\nlame_duck_grace_period: "100ms"`, 'sig');
    const r = run(['--signal', `reload=${pidFile}`]);
    assert.equal(r.status, 0, r.stderr);
    await waitLog(p, 'Reloaded server configuration');
    const c = await client(p.port);
    await c.roundTrip();
    const r2 = run(['--signal', `ldm=${p.child.pid}`]);
    assert.equal(r2.status, 0, r2.stderr);
    await waitLog(p, 'Entering lame duck mode, stop accepting new clients');
    assert.equal(await p.exit, 0);
    assert.equal(await c.waitClosed(), true);
  });
});
