// In-process cost of the server's hot path, without sockets or a load generator:
// parse → route (L1 cache, SubjectIndex) → deliver (encode MSG into outbound chunks) → flush.
//
//   node dist/bench/profile/deliver.bench.js [messages] [scenario name or substring]   (build first)
//   node --cpu-prof dist/bench/profile/deliver.bench.js 2000000   (then bench/profile/summarize.mjs)
//
// Clients get a stub socket whose write() only counts bytes, so the numbers are the JavaScript
// cost per published message (what the server can influence), not the kernel's. They are far
// less noisy than the end-to-end benchmark on a shared machine: compare before/after with them,
// then confirm with `npm run bench` or bench/profile/profile.mjs.
import type { Socket } from 'node:net';
import { defaultOptions } from '../../src/config/options.js';
import { Client } from '../../src/server/client.js';
import { Server } from '../../src/server/server.js';

const N = Number(process.argv[2] ?? 1_000_000);
const CHUNK = 64 * 1024;

/** Just enough of net.Socket for Client: writes are counted and dropped. */
class StubSocket {
  remoteAddress = '127.0.0.1';
  remotePort = 40000;
  localAddress = '127.0.0.1';
  localPort = 4222;
  writableLength = 0;
  writableNeedDrain = false;
  destroyed = false;
  writable = true;
  bytes = 0;
  writes = 0;
  write(b: Buffer, done?: () => void): boolean {
    this.bytes += b.length;
    this.writes++;
    if (done) process.nextTick(done); // as Node does when the kernel takes the data at once
    return true;
  }
  cork(): void {}
  uncork(): void {}
  setNoDelay(): void {}
  on(): this {
    return this;
  }
  once(): this {
    return this;
  }
  removeListener(): this {
    return this;
  }
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  destroy(): void {
    this.destroyed = true;
  }
  destroySoon(): void {
    this.destroyed = true;
  }
}

function connect(srv: Server, cid: number, connectJson: string): { c: Client; s: StubSocket } {
  const s = new StubSocket();
  const c = new Client(srv, s as unknown as Socket, cid);
  c.parser.parse(Buffer.from(`CONNECT ${connectJson}\r\n`));
  return { c, s };
}

function chunks(op: string, n: number): Buffer[] {
  const one = Buffer.from(op, 'latin1');
  const all = Buffer.allocUnsafe(one.length * n);
  for (let k = 0; k < n; k++) one.copy(all, k * one.length);
  const out: Buffer[] = [];
  for (let k = 0; k < all.length; k += CHUNK) out.push(all.subarray(k, k + CHUNK));
  return out;
}

interface Scenario {
  name: string;
  size: number;
  subs: number;
  queue?: string;
  reply?: boolean;
}

const SCENARIOS: Scenario[] = [
  { name: 'pub only, 16 B', size: 16, subs: 0 },
  { name: '1 → 1, 16 B', size: 16, subs: 1 },
  { name: '1 → 4 (fan-out), 128 B', size: 128, subs: 4 },
  { name: '1 → queue of 4, 128 B', size: 128, subs: 4, queue: 'q' },
  { name: '1 → 1, 16 B, with reply', size: 16, subs: 1, reply: true },
];

function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function run(sc: Scenario): Promise<void> {
  const srv = new Server(defaultOptions());
  const json = '{"verbose":false,"pedantic":false,"protocol":1,"headers":true,"no_responders":true,"echo":false}';
  const pub = connect(srv, 1, json);
  const subs: StubSocket[] = [];
  for (let i = 0; i < sc.subs; i++) {
    const { c, s } = connect(srv, 2 + i, json);
    c.parser.parse(Buffer.from(sc.queue ? `SUB bench.s ${sc.queue} ${i + 1}\r\n` : `SUB bench.s ${i + 1}\r\n`));
    srv.flushPending();
    subs.push(s);
  }
  const payload = 'x'.repeat(sc.size);
  const op = sc.reply ? `PUB bench.s _INBOX.abcdefghijklmnop.1 ${sc.size}\r\n${payload}\r\n` : `PUB bench.s ${sc.size}\r\n${payload}\r\n`;
  const input = chunks(op, N);
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const t0 = cpuNow();
    for (let i = 0; i < input.length; i++) {
      pub.c.parser.parse(input[i]!);
      srv.flushPending();
      await new Promise((r) => setImmediate(r)); // back to the event loop, as between reads: write callbacks run
    }
    const dt = cpuNow() - t0;
    if (dt < best) best = dt;
  }
  const delivered = sc.subs === 0 ? 0 : sc.queue ? N : N * sc.subs;
  const perPub = (best / N) * 1e9;
  const perDel = delivered > 0 ? `, ${((best / delivered) * 1e9).toFixed(0)} ns per delivery` : '';
  const writes = subs.reduce((a, s) => a + s.writes, 0);
  console.log(`${sc.name.padEnd(28)} ${perPub.toFixed(0).padStart(5)} ns per published message${perDel} (${(N / best / 1e6).toFixed(2)} M msgs/s per CPU-s; ${writes} writes)`);
}

console.log(`node ${process.version}, ${N} messages per round, 64 KiB input chunks, best of 5 rounds`);
// A scenario name given exactly runs that one; otherwise every name containing the argument.
const only = process.argv[3];
const exact = SCENARIOS.some((sc) => sc.name === only);
for (const sc of SCENARIOS) if (only === undefined || (exact ? sc.name === only : sc.name.includes(only))) await run(sc);
