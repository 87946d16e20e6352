// A target-agnostic harness: the same scenario runs against tsnats (in-process, from a config file)
// and against the real nats-server binary (spawned with the same config) when it is installed.
//
// Every server binds 127.0.0.1 on a random port (`port: -1`).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/index.js';

/** The nats-server binary, if installed (NATS_SERVER_BIN, /usr/bin, /usr/sbin, /usr/local/bin). */
export function natsServerBin(): string | undefined {
  const cands = [process.env.NATS_SERVER_BIN, '/usr/bin/nats-server', '/usr/sbin/nats-server', '/usr/local/bin/nats-server'];
  for (const c of cands) if (c && existsSync(c)) return c;
  return undefined;
}

export const NATS_SERVER = natsServerBin();
export const SKIP_NATS_SERVER = NATS_SERVER ? false : 'nats-server binary not installed (set NATS_SERVER_BIN): differential run skipped';

export type TargetName = 'tsnats' | 'nats-server';

export interface Running {
  name: TargetName;
  port: number;
  monitor?: string;
  /** Log lines so far. */
  log(): string;
  stop(): Promise<void>;
  /** tsnats only. */
  ts?: RunningServer;
  dir: string;
  confFile: string;
  pid?: number;
}

function mkConf(dir: string, conf: string): string {
  const f = join(dir, 'server.conf');
  writeFileSync(f, `host: 127.0.0.1\nport: -1\n${conf}\n`);
  return f;
}

export async function startTsnats(conf = ''): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'tsnats-wire-'));
  const confFile = mkConf(dir, conf);
  const lines: string[] = [];
  const ts = await startServer({ configFile: confFile, log: { write: (l) => void lines.push(l), colors: false } });
  return {
    name: 'tsnats',
    port: ts.port,
    monitor: ts.server.monitor.urls()[0],
    log: () => lines.join(''),
    stop: async () => {
      await ts.close();
      rmSync(dir, { recursive: true, force: true });
    },
    ts,
    dir,
    confFile,
  };
}

export async function startNatsServer(conf = '', flags: string[] = []): Promise<Running> {
  const bin = NATS_SERVER;
  if (!bin) throw new Error('nats-server not installed');
  const dir = mkdtempSync(join(tmpdir(), 'natsd-wire-'));
  const confFile = mkConf(dir, `ports_file_dir: "${dir}"\n${conf}`);
  const child: ChildProcess = spawn(bin, ['-c', confFile, ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const pf = join(dir, `nats-server_${child.pid}.ports`);
  for (let i = 0; i < 100 && !existsSync(pf); i++) await sleep(30);
  if (!existsSync(pf)) {
    child.kill('SIGKILL');
    throw new Error(`nats-server did not start: ${log}`);
  }
  await sleep(10);
  const ports = JSON.parse(readFileSync(pf, 'utf8')) as { nats: string[]; monitoring?: string[] };
  return {
    name: 'nats-server',
    port: Number(new URL(ports.nats[0]!).port),
    monitor: ports.monitoring?.[0],
    log: () => log,
    stop: async () => {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(3000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
    dir,
    confFile,
    pid: child.pid,
  };
}

export function startTarget(name: TargetName, conf = ''): Promise<Running> {
  return name === 'tsnats' ? startTsnats(conf) : startNatsServer(conf);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A raw client connection that records everything received. */
export class Conn {
  readonly sock: Socket;
  data = Buffer.alloc(0);
  closed = false;
  private waiters: Array<() => void> = [];

  private constructor(sock: Socket) {
    this.sock = sock;
    sock.on('data', (d: Buffer) => {
      this.data = Buffer.concat([this.data, d]);
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => undefined);
  }

  static open(port: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  get text(): string {
    return this.data.toString('latin1');
  }

  send(s: string | Buffer): void {
    this.sock.write(typeof s === 'string' ? Buffer.from(s, 'latin1') : s);
  }

  /** Sends one byte at a time, each in its own write (split reads on the server). */
  async sendSlowly(s: string): Promise<void> {
    const b = Buffer.from(s, 'latin1');
    for (let i = 0; i < b.length; i++) {
      this.sock.write(b.subarray(i, i + 1));
      await sleep(1);
    }
  }

  /** Waits until `pred(text)` holds or the connection closes; throws on timeout. */
  async waitFor(pred: (text: string) => boolean, timeoutMs = 2000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred(this.text)) {
      if (this.closed) return;
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timeout waiting; got ${JSON.stringify(this.text)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  waitText(s: string, timeoutMs = 2000): Promise<void> {
    return this.waitFor((t) => t.includes(s), timeoutMs);
  }

  /** Waits for the INFO line. */
  async info(): Promise<Record<string, unknown>> {
    await this.waitFor((t) => t.includes('\r\n'));
    const line = this.text.slice(0, this.text.indexOf('\r\n') + 2);
    if (!line.startsWith('INFO ') || !line.endsWith(' \r\n')) throw new Error(`bad INFO line: ${JSON.stringify(line)}`);
    return JSON.parse(line.slice(5, -3)) as Record<string, unknown>;
  }

  /** Everything after the first (INFO) line. */
  get afterInfo(): string {
    const t = this.text;
    const i = t.indexOf('\r\n');
    return i < 0 ? '' : t.slice(i + 2);
  }

  async waitClosed(timeoutMs = 2000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < end) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, end - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.closed;
  }

  /** Sends PING and waits for a PONG after everything else (a barrier). */
  async roundTrip(timeoutMs = 2000): Promise<void> {
    const n = (this.text.match(/PONG\r\n/g) ?? []).length;
    this.send('PING\r\n');
    await this.waitFor((t) => (t.match(/PONG\r\n/g) ?? []).length > n, timeoutMs);
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Opens a connection, waits for INFO and sends `connect` (default: verbose off). */
export async function client(port: number, connectJson: string = '{"verbose":false,"pedantic":false}'): Promise<Conn> {
  const c = await Conn.open(port);
  await c.info();
  if (connectJson) c.send(`CONNECT ${connectJson}\r\n`);
  return c;
}

/** Normalised INFO: field order and types, with run-specific values masked. */
export function infoShape(info: Record<string, unknown>): Array<[string, string]> {
  const masked = new Set(['server_id', 'server_name', 'version', 'go', 'port', 'client_id', 'host', 'client_ip']);
  return Object.entries(info).map(([k, v]) => [k, masked.has(k) ? typeof v : JSON.stringify(v)]);
}
