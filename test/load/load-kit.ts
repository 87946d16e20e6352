// Load helpers shared by the CI load tests and the long run (test/load/long.ts): holding many TLS
// connections that asked for a staple, a bounded connect/disconnect churn with a mix of client
// behaviours, a NATS message counter, and the in-process probe of a child server
// (test/load/preload-probe.ts).

import { readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import tls from 'node:tls';
import { probe, sleep, type HeldProbe } from '../hostile/harness.js';

// ---------------------------------------------------------------------------------------------
// Probe of a child server's internals

export interface ProbeSample {
  seq: string;
  live: Record<string, number>;
  active: Record<string, number>;
  heapUsed: number;
  rss: number;
  external: number;
  arrayBuffers: number;
}

let probeSeq = 0;

/** Asks the preload in the child (TSNATS_PROBE_FILE=base) for a sample, after GC. */
export async function sampleChild(base: string, timeoutMs = 10_000): Promise<ProbeSample> {
  const seq = `${process.pid}-${++probeSeq}`;
  writeFileSync(`${base}.req`, seq);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const s = JSON.parse(readFileSync(`${base}.out`, 'utf8')) as ProbeSample;
      if (s.seq === seq) return s;
    } catch {
      // not written yet, or being written
    }
    await sleep(25);
  }
  throw new Error('the child did not answer the probe');
}

// ---------------------------------------------------------------------------------------------
// Many connections

export interface HoldResult {
  held: HeldProbe[];
  failures: string[];
  stapled: number;
  /** Distinct staples seen (normally 1). */
  distinctStaples: number;
  ms: number;
}

/** Loopback source addresses to spread 4-tuples over (127.0.0.1 … 127.0.0.k). */
export function sourceAddress(i: number, spread: number): string | undefined {
  if (spread <= 1) return undefined;
  return `127.0.0.${1 + (i % spread)}`;
}

/** Opens `n` TLS connections (INFO, then TLS asking for a status) and keeps them open. */
export async function holdTlsConnections(port: number, n: number, o: { ca: string; concurrency?: number; spread?: number; timeoutMs?: number }): Promise<HoldResult> {
  const t0 = Date.now();
  const held: HeldProbe[] = [];
  const failures: string[] = [];
  const staples = new Set<string>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      try {
        const p = await probe(port, { ca: o.ca, keep: true, timeoutMs: o.timeoutMs ?? 30_000, localAddress: sourceAddress(i, o.spread ?? 1) });
        held.push(p);
        if (p.staple) staples.add(p.staple.toString('base64'));
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, o.concurrency ?? 50) }, worker));
  return { held, failures, stapled: held.filter((p) => p.staple !== null).length, distinctStaples: staples.size, ms: Date.now() - t0 };
}

export async function closeAll(held: HeldProbe[]): Promise<void> {
  for (const p of held) p.socket.destroy();
  await sleep(10);
}

// ---------------------------------------------------------------------------------------------
// Churn: connect and disconnect in a bounded loop, with a mix of behaviours

export type ChurnKind = 'tls-staple' | 'plain-pubsub' | 'reset-after-info' | 'reset-mid-handshake' | 'garbage' | 'silent-close';

export interface ChurnStats {
  attempts: number;
  byKind: Record<string, number>;
  /** tls-staple rounds that got a staple. */
  stapled: number;
  /** Rounds whose expected outcome did not happen (must stay 0 for tls-staple/plain-pubsub). */
  unexpected: Record<string, number>;
  samples: string[];
  ms: number;
}

const KINDS: ChurnKind[] = ['tls-staple', 'tls-staple', 'plain-pubsub', 'plain-pubsub', 'reset-after-info', 'reset-mid-handshake', 'garbage', 'silent-close'];

function rawConnect(port: number, localAddress?: string): Promise<{ sock: Socket; info: string }> {
  return new Promise((res, rej) => {
    const sock = netConnect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
    let buf = '';
    const t = setTimeout(() => {
      sock.destroy();
      rej(new Error('no INFO'));
    }, 10_000);
    sock.on('error', (e) => {
      clearTimeout(t);
      rej(e);
    });
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n')) {
        clearTimeout(t);
        sock.off('data', onData);
        res({ sock, info: buf });
      }
    };
    sock.on('data', onData);
  });
}

function waitText(sock: Socket, re: RegExp, timeoutMs: number, initial = ''): Promise<boolean> {
  return new Promise((res) => {
    let buf = initial;
    if (re.test(buf)) return res(true);
    const t = setTimeout(() => done(false), timeoutMs);
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      if (re.test(buf)) done(true);
    };
    const onClose = (): void => done(re.test(buf));
    const done = (v: boolean): void => {
      clearTimeout(t);
      sock.off('data', onData);
      sock.off('close', onClose);
      res(v);
    };
    sock.on('data', onData);
    sock.on('close', onClose);
  });
}

async function churnOnce(kind: ChurnKind, port: number, ca: string, localAddress: string | undefined, stats: ChurnStats): Promise<void> {
  const bad = (why: string): void => {
    stats.unexpected[`${kind}: ${why}`] = (stats.unexpected[`${kind}: ${why}`] ?? 0) + 1;
    if (stats.samples.length < 10) stats.samples.push(`${kind}: ${why}`);
  };
  switch (kind) {
    case 'tls-staple': {
      let p: HeldProbe;
      try {
        p = await probe(port, { ca, keep: true, timeoutMs: 15_000, localAddress });
      } catch (e) {
        bad(`handshake failed: ${(e as Error).message}`);
        return;
      }
      if (p.staple) stats.stapled++;
      else bad('no staple');
      const s = p.socket;
      s.write('CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n');
      if (!(await waitText(s, /PONG\r\n/, 10_000))) bad('no PONG');
      s.end();
      s.destroySoon();
      return;
    }
    case 'plain-pubsub': {
      let c: { sock: Socket; info: string };
      try {
        c = await rawConnect(port, localAddress);
      } catch (e) {
        bad(`connect: ${(e as Error).message}`);
        return;
      }
      c.sock.write('CONNECT {"verbose":false,"pedantic":false}\r\nSUB churn.x 1\r\nPUB churn.x 2\r\nhi\r\nPING\r\n');
      if (!(await waitText(c.sock, /MSG churn\.x 1 2\r\nhi\r\n[\s\S]*PONG\r\n/, 10_000))) bad('no MSG/PONG');
      c.sock.write('UNSUB 1\r\n');
      c.sock.end();
      return;
    }
    case 'reset-after-info': {
      try {
        const c = await rawConnect(port, localAddress);
        c.sock.resetAndDestroy();
      } catch (e) {
        bad(`connect: ${(e as Error).message}`);
      }
      return;
    }
    case 'reset-mid-handshake': {
      try {
        const c = await rawConnect(port, localAddress);
        const s = tls.connect({ socket: c.sock, servername: 'localhost', rejectUnauthorized: false, requestOCSP: true } as tls.ConnectionOptions);
        s.on('error', () => undefined);
        await sleep(Math.floor(Math.random() * 3));
        c.sock.resetAndDestroy();
        s.destroy();
      } catch (e) {
        bad(`connect: ${(e as Error).message}`);
      }
      return;
    }
    case 'garbage': {
      try {
        const c = await rawConnect(port, localAddress);
        c.sock.on('error', () => undefined);
        c.sock.write('CONNECT {"verbose":false}\r\nXPUB nonsense\r\n');
        // The server answers -ERR 'Unknown Protocol Operation' and closes.
        if (!(await waitText(c.sock, /-ERR 'Unknown Protocol Operation'/, 10_000))) bad('no -ERR');
        c.sock.destroy();
      } catch (e) {
        bad(`connect: ${(e as Error).message}`);
      }
      return;
    }
    case 'silent-close': {
      try {
        const c = await rawConnect(port, localAddress);
        await sleep(20);
        c.sock.end();
      } catch (e) {
        bad(`connect: ${(e as Error).message}`);
      }
      return;
    }
  }
}

/** Connects and disconnects for `durationMs` with `concurrency` loops (bounded in time and count). */
export async function churn(port: number, o: { ca: string; durationMs: number; concurrency?: number; maxAttempts?: number; spread?: number; kinds?: ChurnKind[] }): Promise<ChurnStats> {
  const t0 = Date.now();
  const stats: ChurnStats = { attempts: 0, byKind: {}, stapled: 0, unexpected: {}, samples: [], ms: 0 };
  const kinds = o.kinds ?? KINDS;
  const max = o.maxAttempts ?? Number.MAX_SAFE_INTEGER;
  const loop = async (): Promise<void> => {
    while (Date.now() - t0 < o.durationMs && stats.attempts < max) {
      const i = stats.attempts++;
      const kind = kinds[i % kinds.length]!;
      stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1;
      await churnOnce(kind, port, o.ca, sourceAddress(i, o.spread ?? 1), stats);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 16 }, loop));
  stats.ms = Date.now() - t0;
  return stats;
}

// ---------------------------------------------------------------------------------------------
// Counting NATS messages on a raw socket (MSG lines and their payloads)

export class MsgCounter {
  count = 0;
  bytes = 0;
  private buf: Buffer = Buffer.alloc(0);
  private need = -1;
  text = '';

  feed(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : (Buffer.concat([this.buf, d]) as Buffer);
    for (;;) {
      if (this.need >= 0) {
        if (this.buf.length < this.need + 2) return;
        this.buf = this.buf.subarray(this.need + 2);
        this.need = -1;
        this.count++;
        continue;
      }
      const nl = this.buf.indexOf('\r\n');
      if (nl < 0) return;
      const line = this.buf.subarray(0, nl).toString('latin1');
      this.buf = this.buf.subarray(nl + 2);
      if (line.startsWith('MSG ')) {
        const size = Number(line.slice(line.lastIndexOf(' ') + 1));
        this.bytes += size;
        this.need = size;
      } else if (this.text.length < 100_000) this.text += line + '\n';
    }
  }
}
