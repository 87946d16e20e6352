// System account probes for the events tests: the same scenario against tsnats and nats-server
// 2.9.10. A probe watches `$SYS.>` and sends `$SYS.REQ...` requests as a system account user with
// nats.js; `internalProbe` is a second internal client on tsnats' system account index (for tests
// that look at the queueing itself).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startServer, type RunningServer } from '../../src/index.js';
import { IndexBus } from '../../src/server/events/bus.js';
import { accountsView } from '../../src/server/events/accounts-view.js';
import { startNatsServer, type Running } from '../wire/harness.js';

export interface SysMsg {
  subject: string;
  reply?: string;
  text: string;
  json?: Record<string, unknown>;
}

export interface SysProbe {
  /** Everything seen on `$SYS.>` so far. */
  readonly seen: SysMsg[];
  /** Sends a request and collects the answers arriving within `waitMs`. */
  request(subject: string, body?: string, waitMs?: number): Promise<SysMsg[]>;
  /** Waits until a message on a subject matching `re` has been seen (returns it). */
  waitFor(re: RegExp, ms?: number): Promise<SysMsg>;
  close(): Promise<void>;
}

function parse(subject: string, reply: string | undefined, text: string): SysMsg {
  const m: SysMsg = { subject, text };
  if (reply) m.reply = reply;
  try {
    const j = JSON.parse(text) as unknown;
    if (j && typeof j === 'object' && !Array.isArray(j)) m.json = j as Record<string, unknown>;
  } catch {
    /* not JSON */
  }
  return m;
}

async function waitFor(seen: SysMsg[], re: RegExp, ms: number): Promise<SysMsg> {
  const end = Date.now() + ms;
  for (;;) {
    const m = seen.find((x) => re.test(x.subject));
    if (m) return m;
    if (Date.now() > end) throw new Error(`no message on ${re} within ${ms} ms; seen: ${seen.map((x) => x.subject).join(', ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let inboxSeq = 0;

/** A nats.js system account user (user `sys`, password `x`). */
export async function natsProbe(port: number, user = 'sys', pass = 'x'): Promise<SysProbe & { nc: NatsConnection }> {
  const nc = await connect({ port, user, pass, reconnect: false });
  const seen: SysMsg[] = [];
  const sub = nc.subscribe('$SYS.>');
  void (async () => {
    for await (const m of sub) seen.push(parse(m.subject, m.reply, m.string()));
  })();
  await nc.flush();
  return {
    nc,
    seen,
    async request(subject, body = '', waitMs = 400) {
      const inbox = `_INBOX.probe.${++inboxSeq}`;
      const got: SysMsg[] = [];
      const s = nc.subscribe(inbox);
      void (async () => {
        for await (const m of s) got.push(parse(m.subject, m.reply, m.string()));
      })();
      nc.publish(subject, body, { reply: inbox });
      await nc.flush();
      await new Promise((r) => setTimeout(r, waitMs));
      s.unsubscribe();
      return got;
    },
    waitFor: (re, ms = 3000) => waitFor(seen, re, ms),
    async close() {
      await nc.close().catch(() => undefined);
    },
  };
}

/** A second internal client on tsnats' system account index. */
export function internalProbe(rs: RunningServer): SysProbe {
  const s = rs.server;
  const view = accountsView(s);
  const sys = view.systemAccount!;
  const bus = new IndexBus(
    () => view.index(sys)!,
    () => s.flushPending(),
    (m) => {
      throw new Error(m);
    },
  );
  const seen: SysMsg[] = [];
  bus.subscribe('$SYS.>', (subject, reply, _h, d) => seen.push(parse(subject, reply, d.toString())));
  return {
    seen,
    async request(subject, body = '', waitMs = 400) {
      const inbox = `_INBOX.probe.${++inboxSeq}`;
      const got: SysMsg[] = [];
      const sub = bus.subscribe(inbox, (sj, reply, _h, d) => got.push(parse(sj, reply, d.toString())));
      bus.publish(subject, inbox, body);
      await new Promise((r) => setTimeout(r, waitMs));
      sub.unsubscribe();
      return got;
    },
    waitFor: (re, ms = 3000) => waitFor(seen, re, ms),
    async close() {
      bus.close();
    },
  };
}

export interface SysTarget {
  name: 'tsnats' | 'nats-server';
  port: number;
  monitor: string;
  serverId: string;
  probe: SysProbe;
  ts?: RunningServer;
  stop(): Promise<void>;
}

/** Accounts block with a system account user (`sys`/`x`) and account A (`a`/`a`). */
export const SYS_CONF = `accounts {
  SYS { users: [{user: sys, password: x}] }
  A { users: [{user: a, password: a}] }
}
system_account: SYS
`;

/** tsnats with SYS_CONF (plus `extra`) and a system account user probe. */
export async function startTsnatsSys(extra = '', accounts = SYS_CONF): Promise<SysTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'tsnats-sys-'));
  const f = join(dir, 'server.conf');
  writeFileSync(f, `host: 127.0.0.1\nport: -1\nhttp: "127.0.0.1:-1"\n${accounts}${extra}\n`);
  const ts = await startServer({ configFile: f });
  const probe = await natsProbe(ts.port);
  return {
    name: 'tsnats',
    port: ts.port,
    monitor: ts.server.monitor.urls()[0]!,
    serverId: ts.server.serverId,
    probe,
    ts,
    async stop() {
      await ts.close();
      // (The probe reads what the server sent before it closed, e.g. the SHUTDOWN event.)
      await sleep(100);
      await probe.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startNatsServerSys(extra = '', accounts = SYS_CONF): Promise<SysTarget> {
  const r: Running = await startNatsServer(`http: "127.0.0.1:-1"\n${accounts}${extra}`);
  const probe = await natsProbe(r.port);
  const varz = (await (await fetch(`${r.monitor}/varz`)).json()) as { server_id: string };
  return {
    name: 'nats-server',
    port: r.port,
    monitor: r.monitor!,
    serverId: varz.server_id,
    probe,
    async stop() {
      await r.stop();
      await sleep(100);
      await probe.close();
    },
  };
}

/** Keys of an object, recursively for nested objects (`a.b`), arrays by their first element (`a[].b`). */
export function keyPaths(v: unknown, prefix = ''): string[] {
  if (v === null || typeof v !== 'object') return [];
  if (Array.isArray(v)) return v.length > 0 ? keyPaths(v[0], `${prefix}[]`) : [];
  const out: string[] = [];
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const p = prefix ? `${prefix}.${k}` : k;
    out.push(p);
    out.push(...keyPaths(x, p));
  }
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
