// Helpers for the JetStream tests: tsnats (in process, or as a child process) and nats-server
// 2.9.10 started side by side with JetStream, raw API requests and transcript normalisation.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect, type NatsConnection, type Msg } from '@nats-io/transport-node';
import { startServer } from '../../src/index.js';

export const NATS_SERVER = ['/usr/bin/nats-server', '/usr/sbin/nats-server', process.env.NATS_SERVER_BIN].find((p) => p && existsSync(p));
export const SKIP_GO = NATS_SERVER ? false : 'nats-server not installed';
export const BIN = resolve('bin/tsnats');

export type Kind = 'tsnats' | 'nats-server';
export const KINDS: Kind[] = NATS_SERVER ? ['tsnats', 'nats-server'] : ['tsnats'];

export interface JsServer {
  kind: Kind;
  url: string;
  dir: string;
  close(): Promise<void>;
}

/** A JetStream server of either kind with a fresh store directory. */
export async function startJs(kind: Kind, extra: { dir?: string; domain?: string } = {}): Promise<JsServer> {
  const dir = extra.dir ?? mkdtempSync(join(tmpdir(), `js-${kind}-`));
  const owned = extra.dir === undefined;
  if (kind === 'tsnats') {
    const r = await startServer({ options: { jetstream: true, storeDir: dir, ...(extra.domain ? { jetstreamConfig: { domain: extra.domain } } : {}) } });
    return {
      kind,
      url: r.url,
      dir,
      close: async () => {
        await r.close();
        if (owned) rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const args = ['-a', '127.0.0.1', '-p', '-1', '-js', '-sd', dir];
  const p = await spawnProc(NATS_SERVER!, args);
  return {
    kind,
    url: `nats://127.0.0.1:${p.port}`,
    dir,
    close: async () => {
      await p.kill();
      if (owned) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Proc {
  child: ChildProcess;
  port: number;
  out(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns a server process and waits for `Server is ready`. */
export async function spawnProc(cmd: string, args: string[], timeoutMs = 15_000): Promise<Proc> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  let exited = false;
  const done = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())));
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (!exited) child.kill(signal);
    await Promise.race([done, sleep(5000)]);
    if (!exited) child.kill('SIGKILL');
    await done;
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (/Server is ready/.test(out)) {
      const m = /Listening for client connections on [^\s]*:(\d+)/.exec(out);
      return { child, port: Number(m?.[1] ?? 0), out: () => out, kill };
    }
    if (exited) break;
    await sleep(20);
  }
  await kill('SIGKILL');
  throw new Error(`${cmd} did not start: ${out}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function conn(url: string): Promise<NatsConnection> {
  return connect({ servers: url, reconnect: false });
}

/** A raw reply: JSON body, or a status, or TIMEOUT (silence). */
export type Reply = { json: Record<string, unknown> } | { status: string; headers: Record<string, string> } | 'TIMEOUT' | { raw: string; headers?: Record<string, string> };

export function describeMsg(m: Msg): Reply {
  if (m.headers && m.data.length === 0 && m.headers.code > 0) {
    const headers: Record<string, string> = {};
    for (const [k, v] of m.headers) headers[k] = v.join(',');
    return { status: `${m.headers.code} ${m.headers.description}`, headers };
  }
  const s = new TextDecoder().decode(m.data);
  try {
    return { json: JSON.parse(s) };
  } catch {
    if (m.headers) {
      // a message with headers (direct get): keep them, in order, without the timestamp
      const headers: Record<string, string> = {};
      for (const [k, v] of m.headers) headers[k] = k === 'Nats-Time-Stamp' ? 'time' : v.join(',');
      return { raw: s, headers } as Reply;
    }
    return { raw: s };
  }
}

/** One request/reply (no-responders and silence both come back as values). */
export async function req(nc: NatsConnection, subject: string, body?: unknown, timeoutMs = 500): Promise<Reply> {
  const payload = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  try {
    const m = await nc.request(subject, payload, { timeout: timeoutMs });
    return describeMsg(m);
  } catch (e) {
    const msg = (e as Error).message;
    if (/timeout/i.test(msg)) return 'TIMEOUT';
    if (/no responders/i.test(msg) || (e as { code?: string }).code === '503') return { status: '503 No Responders', headers: {} };
    throw e;
  }
}

/** Collects messages on a fresh inbox for `ms` after sending a request with that inbox as reply. */
export async function collect(nc: NatsConnection, subject: string, body: string, ms: number, hdrs?: Record<string, string>): Promise<Reply[]> {
  const inbox = `_INBOX.${Math.random().toString(36).slice(2)}`;
  const out: Reply[] = [];
  const sub = nc.subscribe(inbox, {
    callback: (_e, m) => {
      out.push(describeMsg(m));
    },
  });
  const { headers } = await import('@nats-io/transport-node');
  const h = hdrs ? headers() : undefined;
  if (h && hdrs) for (const [k, v] of Object.entries(hdrs)) h.set(k, v);
  nc.publish(subject, body, { reply: inbox, headers: h });
  await nc.flush();
  await sleep(ms);
  sub.unsubscribe();
  return out;
}

const VOLATILE = new Set(['created', 'first_ts', 'last_ts', 'time', 'last_active', 'timestamp', 'id', 'server_id', 'now']);

/** Drops values that legitimately differ between two runs (times, ids, generated names). */
export function norm(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(norm);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (VOLATILE.has(k)) o[k] = typeof x;
      else o[k] = norm(x);
    }
    return o;
  }
  if (typeof v === 'string' && /^\$JS\.ACK\./.test(v)) return v.split('.').slice(0, 7).join('.');
  return v;
}
