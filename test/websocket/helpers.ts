// Websocket test helpers: tsnats (in-process) and nats-server 2.9.10 (child process) started with
// the same `websocket {}` block, and a raw websocket peer (request, masked frames, frame reader).

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src/index.js';
import { NATS_SERVER } from '../wire/harness.js';

export { NATS_SERVER, SKIP_NATS_SERVER } from '../wire/harness.js';

export interface WsTarget {
  name: 'tsnats' | 'nats-server';
  port: number;
  wsPort: number;
  monitor?: string;
  log(): string;
  stop(): Promise<void>;
  ts?: RunningServer;
  dir: string;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function startTs(conf: string): Promise<WsTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'tsnats-ws-'));
  const f = join(dir, 'server.conf');
  writeFileSync(f, `host: 127.0.0.1\nport: -1\nports_file_dir: "${dir}"\n${conf}\n`);
  const lines: string[] = [];
  const ts = await startServer({ configFile: f, log: { write: (l) => void lines.push(l), colors: false, debug: true } });
  return {
    name: 'tsnats',
    port: ts.port,
    wsPort: ts.server.websocket?.port ?? 0,
    monitor: ts.server.monitor.urls()[0],
    log: () => lines.join(''),
    stop: async () => {
      await ts.close();
      rmSync(dir, { recursive: true, force: true });
    },
    ts,
    dir,
  };
}

export async function startGo(conf: string): Promise<WsTarget> {
  if (!NATS_SERVER) throw new Error('nats-server not installed');
  const dir = mkdtempSync(join(tmpdir(), 'natsd-ws-'));
  const f = join(dir, 'server.conf');
  writeFileSync(f, `host: 127.0.0.1\nport: -1\nports_file_dir: "${dir}"\n${conf}\n`);
  const child: ChildProcess = spawn(NATS_SERVER, ['-c', f, '-D'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const pf = join(dir, `nats-server_${child.pid}.ports`);
  for (let i = 0; i < 150 && !existsSync(pf); i++) await sleep(30);
  if (!existsSync(pf)) {
    child.kill('SIGKILL');
    throw new Error(`nats-server did not start: ${log}`);
  }
  await sleep(20);
  const ports = JSON.parse(readFileSync(pf, 'utf8')) as { nats: string[]; monitoring?: string[]; websocket?: string[] };
  return {
    name: 'nats-server',
    port: Number(new URL(ports.nats[0]!).port),
    wsPort: Number(new URL(ports.websocket![0]!).port),
    monitor: ports.monitoring?.[0],
    log: () => log,
    stop: async () => {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(3000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
    dir,
  };
}

export function start(name: 'tsnats' | 'nats-server', conf: string): Promise<WsTarget> {
  return name === 'tsnats' ? startTs(conf) : startGo(conf);
}

// ---- raw peer ---------------------------------------------------------------------------------

export interface Frame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** A raw TCP peer that records everything received and parses server frames. */
export class RawPeer {
  data = Buffer.alloc(0);
  closed = false;
  private waiters: Array<() => void> = [];

  private constructor(readonly sock: Socket) {
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

  static open(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `pred` holds (or the peer closed / timeout). */
  async until(pred: () => boolean, ms = 3000): Promise<boolean> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (this.closed || Date.now() > end) return pred();
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), sleep(Math.max(1, end - Date.now()))]);
    }
    return true;
  }

  write(b: Buffer | string): void {
    this.sock.write(b);
  }

  /** The HTTP response head (status line + headers) and the bytes after it. */
  async response(ms = 3000): Promise<{ status: number; head: string; headers: Map<string, string>; rest: Buffer }> {
    await this.until(() => this.data.includes('\r\n\r\n'), ms);
    const i = this.data.indexOf('\r\n\r\n');
    if (i < 0) throw new Error(`no HTTP response (got ${JSON.stringify(this.data.toString('latin1'))}, closed=${this.closed})`);
    const head = this.data.subarray(0, i).toString('latin1');
    const headers = new Map<string, string>();
    for (const l of head.split('\r\n').slice(1)) {
      const c = l.indexOf(':');
      headers.set(l.slice(0, c).toLowerCase(), l.slice(c + 1).trim());
    }
    const rest = this.data.subarray(i + 4);
    this.data = rest;
    return { status: Number(head.split(' ')[1]), head, headers, rest };
  }

  /** Reads the body of an error response (Content-Length). */
  async body(len: number): Promise<string> {
    await this.until(() => this.data.length >= len);
    return this.data.subarray(0, len).toString('latin1');
  }

  /** Parses complete server frames received so far (consumes them). */
  frames(): Frame[] {
    const out: Frame[] = [];
    for (;;) {
      const d = this.data;
      if (d.length < 2) break;
      let len = d[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (d.length < 4) break;
        len = d.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (d.length < 10) break;
        len = Number(d.readBigUInt64BE(2));
        off = 10;
      }
      const masked = (d[1]! & 0x80) !== 0;
      if (masked) off += 4;
      if (d.length < off + len) break;
      out.push({ fin: (d[0]! & 0x80) !== 0, rsv1: (d[0]! & 0x40) !== 0, opcode: d[0]! & 0x0f, masked, payload: Buffer.from(d.subarray(off, off + len)) });
      this.data = d.subarray(off + len);
    }
    return out;
  }

  /** Collects frames until `pred` over all of them holds. */
  async framesUntil(pred: (all: Frame[]) => boolean, ms = 3000): Promise<Frame[]> {
    const all: Frame[] = [];
    const end = Date.now() + ms;
    for (;;) {
      all.push(...this.frames());
      if (pred(all) || this.closed || Date.now() > end) {
        all.push(...this.frames());
        return all;
      }
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), sleep(50)]);
    }
  }

  close(): void {
    this.sock.destroy();
  }
}

export function upgradeRequest(port: number, o: { method?: string; headers?: Record<string, string | undefined>; path?: string } = {}): string {
  const h: Record<string, string | undefined> = {
    Host: `127.0.0.1:${port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    ...o.headers,
  };
  let s = `${o.method ?? 'GET'} ${o.path ?? '/'} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(h)) if (v !== undefined) s += `${k}: ${v}\r\n`;
  return s + '\r\n';
}

/** A client frame, masked unless `mask: false`. */
export function frame(opcode: number, payload: Buffer | string, o: { fin?: boolean; rsv1?: boolean; mask?: boolean } = {}): Buffer {
  const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const mask = o.mask !== false;
  const b0 = (o.fin === false ? 0 : 0x80) | (o.rsv1 ? 0x40 : 0) | opcode;
  let hdr: Buffer;
  if (p.length <= 125) hdr = Buffer.from([b0, p.length]);
  else if (p.length < 65536) {
    hdr = Buffer.alloc(4);
    hdr[0] = b0;
    hdr[1] = 126;
    hdr.writeUInt16BE(p.length, 2);
  } else {
    hdr = Buffer.alloc(10);
    hdr[0] = b0;
    hdr[1] = 127;
    hdr.writeBigUInt64BE(BigInt(p.length), 2);
  }
  if (!mask) return Buffer.concat([hdr, p]);
  hdr[1] = hdr[1]! | 0x80;
  const key = randomBytes(4);
  const m = Buffer.from(p);
  for (let i = 0; i < m.length; i++) m[i] = m[i]! ^ key[i & 3]!;
  return Buffer.concat([hdr, key, m]);
}

/** Opens a raw peer and completes the upgrade (the INFO frame is left in `data`). */
export async function upgraded(port: number, headers: Record<string, string | undefined> = {}): Promise<RawPeer> {
  const p = await RawPeer.open(port);
  p.write(upgradeRequest(port, { headers }));
  const r = await p.response();
  if (r.status !== 101) throw new Error(`upgrade failed: ${r.head}`);
  return p;
}

/** Concatenated payloads of data frames, as text. */
export function text(frames: Frame[]): string {
  return Buffer.concat(frames.filter((f) => f.opcode === 1 || f.opcode === 2 || f.opcode === 0).map((f) => f.payload)).toString('latin1');
}
