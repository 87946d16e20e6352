// Parser throughput: `node dist/bench/parser.bench.js [messages]`.
// Parses N small PUBs fed in 64 KiB chunks (cut at arbitrary byte positions, so some control lines
// and payloads straddle chunks), with a handler that only counts. Also times MSG header encoding.
import { ProtocolParser } from '../src/protocol/parser.js';
import type { ProtocolHandler } from '../src/protocol/handler.js';
import { writeMsgHeader } from '../src/protocol/encode.js';

const N = Number(process.argv[2] ?? 1_000_000);
const CHUNK = 64 * 1024;

class Counter implements ProtocolHandler {
  pubs = 0;
  bytes = 0;
  onConnect(): void {}
  onPub(subject: string, _reply: string | undefined, _h: number, _data: Buffer, start: number, end: number): void {
    this.pubs++;
    this.bytes += end - start + subject.length;
  }
  onSub(): void {}
  onUnsub(): void {}
  onPing(): void {}
  onPong(): void {}
  onInfo(): void {}
  onOk(): void {}
  onErr(): void {}
  onViolation(kind: string): void {
    throw new Error(`violation ${kind}`);
  }
}

function stream(op: string, n: number): Buffer[] {
  const one = Buffer.from(op, 'latin1');
  const all = Buffer.allocUnsafe(one.length * n);
  for (let k = 0; k < n; k++) one.copy(all, k * one.length);
  const chunks: Buffer[] = [];
  for (let k = 0; k < all.length; k += CHUNK) chunks.push(all.subarray(k, k + CHUNK));
  return chunks;
}

function run(label: string, op: string): void {
  const chunks = stream(op, N);
  const bytes = op.length * N;
  const r = measure(() => {
    const h = new Counter();
    const p = new ProtocolParser(h);
    for (const c of chunks) p.parse(c);
    if (h.pubs !== N) throw new Error(`parsed ${h.pubs} of ${N}`);
  });
  console.log(
    `${label.padEnd(34)} ${(N / r.cpu / 1e6).toFixed(2)} M msgs/s per CPU-second (${(N / r.wall / 1e6).toFixed(2)} M/s wall), ${(bytes / r.cpu / 2 ** 20).toFixed(0)} MiB/s`,
  );
}

/**
 * Runs `fn` 9 times (the first 2 warm up the JIT) and returns the median CPU time (user + system of
 * this process, which is steadier than wall time on a shared machine) and the median wall time.
 */
function measure(fn: () => void): { cpu: number; wall: number } {
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let round = 0; round < 9; round++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fn();
    const w = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    if (round >= 2) {
      cpu.push((c.user + c.system) / 1e6);
      wall.push(w);
    }
  }
  const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]!;
  return { cpu: med(cpu), wall: med(wall) };
}

function encodeBench(): void {
  const out = Buffer.allocUnsafe(64 * 1024);
  let off = 0;
  const r = measure(() => {
    for (let k = 0; k < N; k++) {
      if (off > out.length - 128) off = 0;
      off += writeMsgHeader(out, off, 'foo.bar.baz', '12', k & 1 ? '_INBOX.abcdefgh.1234' : undefined, 16);
    }
  });
  console.log(`${'encode MSG header lines'.padEnd(34)} ${(N / r.cpu / 1e6).toFixed(2)} M lines/s per CPU-second`);
}

console.log(`node ${process.version}, ${N} messages per round, ${CHUNK / 1024} KiB chunks`);
run('PUB foo.bar 16 (16 B payload)', 'PUB foo.bar 16\r\n0123456789abcdef\r\n');
run('PUB with reply (16 B)', 'PUB foo.bar _INBOX.abcdefgh.1234 16\r\n0123456789abcdef\r\n');
run('PUB 128 B payload', `PUB foo.bar 128\r\n${'x'.repeat(128)}\r\n`);
run('HPUB 12 B hdr + 16 B', 'HPUB foo.bar 12 28\r\nNATS/1.0\r\n\r\n0123456789abcdef\r\n');
run('pub lowercase, LF only (16 B)', 'pub foo.bar 16\n0123456789abcdef\r\n');
encodeBench();
