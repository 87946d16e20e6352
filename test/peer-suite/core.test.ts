// Client-suite scenarios through the launcher contract (test/peer-suite/launcher.ts), run
// identically against tsnats and nats-server (the nats-server half only when it is installed).
// Each scenario is what the official JavaScript client's core tests do with a launched server:
// connect to the ports file URL, messaging, drain, restart on the same port, lame duck mode,
// reload with changed auth, auth errors, max_payload, websocket, monitoring, the ports file.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import WebSocket from 'ws';
import { connect } from '@nats-io/transport-node';
import { headers, wsconnect, type NatsConnection, type Status } from '@nats-io/nats-core';
import { flavors, NatsServer } from './launcher.js';

(globalThis as unknown as { WebSocket: unknown }).WebSocket ??= WebSocket;

const te = new TextEncoder();
const td = new TextDecoder();

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, rej) => (t = setTimeout(() => rej(new Error(`timeout: ${what}`)), ms)))]).finally(() => clearTimeout(t));
}

/** Resolves with the first status of `type` the connection reports. */
function waitStatus(nc: NatsConnection, type: Status['type']): Promise<Status> {
  return (async () => {
    for await (const s of nc.status()) if (s.type === type) return s;
    throw new Error(`status iterator ended before ${type}`);
  })();
}

for (const flavor of flavors()) {
  describe(`peer suite (${flavor})`, () => {
    const cleanup: Array<() => Promise<unknown>> = [];
    after(async () => {
      for (const f of cleanup.reverse()) await f().catch(() => undefined);
    });
    async function server(conf: Parameters<typeof NatsServer.start>[1] = {}, args?: string[]): Promise<NatsServer> {
      const s = await NatsServer.start(flavor, conf, { args });
      cleanup.push(() => s.stop());
      return s;
    }
    async function client(opts: Parameters<typeof connect>[0]): Promise<NatsConnection> {
      const nc = await connect(opts);
      cleanup.push(() => nc.close());
      return nc;
    }

    test('ports file: named nats-server_<pid>.ports, nats/monitoring/websocket URLs, removed at SIGTERM', async () => {
      const s = await NatsServer.start(flavor);
      assert.ok(s.portsFile.endsWith(`/nats-server_${s.pid}.ports`));
      assert.ok(existsSync(s.portsFile));
      assert.match(s.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
      assert.match(s.monitoringUrl!, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(s.websocketUrl!, /^ws:\/\/127\.0\.0\.1:\d+$/);
      const varz = (await s.monitor('varz')) as { port: number; tags: string[]; websocket: { port: number } };
      assert.equal(varz.port, s.port);
      assert.deepEqual(varz.tags, ['peer:suite', `flavor:${flavor}`]);
      assert.equal(varz.websocket.port, Number(new URL(s.websocketUrl!).port));
      s.signal('SIGTERM');
      await s.waitExit();
      // nats-server exits 1 after SIGTERM (signal.go); the harness only cares that it is gone.
      assert.equal(existsSync(s.portsFile), false, 'ports file removed at shutdown');
      await s.stop();
    });

    test('flags only (nats.go-style launch): -a -p -1 -m -1 --ports_file_dir, no config file', async () => {
      const s = await NatsServer.start(flavor, {}, { flagsOnly: true, args: ['-a', '127.0.0.1', '-p', '-1', '-m', '-1'] });
      cleanup.push(() => s.stop());
      assert.deepEqual(Object.keys(s.ports), ['nats', 'monitoring']);
      assert.match(s.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
      const nc = await client({ servers: s.url });
      const r = nc.subscribe('flags', { max: 1 });
      nc.publish('flags', 'ok');
      for await (const m of r) assert.equal(m.string(), 'ok');
      const varz = (await s.monitor('varz')) as { port: number; http_port: number };
      assert.equal(varz.port, s.port);
      // both servers report the configured value (-1), not the port picked: the ports file has it
      assert.equal(varz.http_port, -1);
    });

    test('-DV and the config file: connect to the ports file URL, pub/sub, queue, request/reply, headers', async () => {
      const s = await server({}, ['-DV']);
      const nc = await client({ servers: s.url });
      const nc2 = await client({ servers: s.url });
      // pub/sub across connections
      const sub = nc.subscribe('peer.>', { max: 2 });
      await nc.flush();
      nc2.publish('peer.a', 'one');
      nc2.publish('peer.b.c', 'two');
      const got: string[] = [];
      for await (const m of sub) got.push(`${m.subject}=${m.string()}`);
      assert.deepEqual(got, ['peer.a=one', 'peer.b.c=two']);
      // queue group: each message to exactly one member
      const counts = [0, 0];
      const q1 = nc.subscribe('work', { queue: 'q', callback: () => void counts[0]!++ });
      const q2 = nc2.subscribe('work', { queue: 'q', callback: () => void counts[1]!++ });
      await Promise.all([nc.flush(), nc2.flush()]);
      for (let i = 0; i < 50; i++) nc.publish('work');
      await nc.flush();
      await Promise.all([nc.flush(), nc2.flush()]);
      const deadline = Date.now() + 3000;
      while (counts[0]! + counts[1]! < 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(counts[0]! + counts[1]!, 50);
      q1.unsubscribe();
      q2.unsubscribe();
      // request/reply with headers
      nc2.subscribe('svc.echo', {
        callback: (_e, m) => {
          const h = headers();
          h.set('X-Echo', m.headers?.get('X-In') ?? '');
          m.respond(te.encode(m.string().toUpperCase()), { headers: h });
        },
      });
      await nc2.flush();
      const h = headers();
      h.set('X-In', 'hdr-value');
      const r = await nc.request('svc.echo', 'hello', { timeout: 2000, headers: h });
      assert.equal(td.decode(r.data), 'HELLO');
      assert.equal(r.headers?.get('X-Echo'), 'hdr-value');
      // no responders
      await assert.rejects(nc.request('svc.nobody', '', { timeout: 2000 }), /no responders/i);
      // -DV: protocol tracing reaches the log
      assert.ok(s.logs.some((l) => /\[TRC\].*<<- \[SUB /.test(l)), 'trace lines with -DV');
      assert.ok(s.logs.some((l) => /\[DBG\]/.test(l)), 'debug lines with -DV');
    });

    test('drain: pending messages are delivered, then the connection closes', async () => {
      const s = await server();
      const nc = await client({ servers: s.url });
      const pub = await client({ servers: s.url });
      let n = 0;
      const sub = nc.subscribe('drain.x', { callback: () => void n++ });
      await nc.flush();
      for (let i = 0; i < 200; i++) pub.publish('drain.x', 'm');
      await pub.flush();
      const closed = nc.closed();
      await nc.drain();
      assert.equal(await closed, undefined);
      assert.equal(sub.isClosed(), true);
      assert.equal(n, 200);
      assert.equal(nc.isClosed(), true);
    });

    test('reconnect after the server restarts on the same port', async () => {
      let s = await NatsServer.start(flavor);
      cleanup.push(() => s.stop());
      const nc = await client({ servers: s.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
      const reconnected = waitStatus(nc, 'reconnect');
      const sub = nc.subscribe('after.restart', { max: 1 });
      await nc.flush();
      const oldPort = s.port;
      s = await s.restart();
      assert.equal(s.port, oldPort);
      await within(reconnected, 10_000, 'reconnect');
      const other = await client({ servers: s.url });
      // the subscription was replayed on the new server
      await nc.flush();
      other.publish('after.restart', 'back');
      await other.flush();
      for await (const m of sub) assert.equal(m.string(), 'back');
    });

    test('lame duck mode (SIGUSR2): the client gets the ldm status, new clients are refused, SIGTERM ends it', async () => {
      // lame_duck_duration has a 30 s minimum in both servers; the scenario stops after the ldm event
      const s = await server({ lame_duck_duration: '30s', lame_duck_grace_period: '10s' });
      const nc = await client({ servers: s.url, maxReconnectAttempts: 0 });
      const ldm = waitStatus(nc, 'ldm');
      s.signal('SIGUSR2');
      await within(ldm, 5000, 'ldm status');
      await s.waitLog(/Entering lame duck mode/);
      // the client listener is closed in lame duck mode
      await assert.rejects(connect({ servers: s.url, reconnect: false, timeout: 2000 }));
      s.signal('SIGTERM'); // ignored during lame duck mode by nats-server; the grace period keeps it up
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(nc.isClosed(), false, 'existing client kept during the grace period');
      s.signal('SIGINT');
      await s.waitExit(10_000);
      assert.equal(existsSync(s.portsFile), false);
    });

    test('reload (SIGHUP) with changed auth: old credentials refused, new ones accepted', async () => {
      const s = await server({ authorization: { users: [{ user: 'a', password: 'pa' }] } });
      const nc = await client({ servers: s.url, user: 'a', pass: 'pa', maxReconnectAttempts: 0 });
      assert.equal(nc.isClosed(), false);
      const closed = nc.closed();
      await s.reload({ authorization: { users: [{ user: 'b', password: 'pb' }] } });
      assert.ok(s.logs.some((l) => l.includes('Reloaded server configuration')));
      // a user removed by the reload is disconnected
      await within(closed, 5000, 'removed user disconnected');
      await assert.rejects(connect({ servers: s.url, user: 'a', pass: 'pa', reconnect: false }), /authorization violation/i);
      const nb = await client({ servers: s.url, user: 'b', pass: 'pb' });
      await nb.flush();
    });

    test('reload (SIGHUP) tightening permissions: the denied subscription is removed and reported to the client', async () => {
      const allowAll = { users: [{ user: 'u', password: 'p' }] };
      const s = await server({ authorization: allowAll });
      const nc = await client({ servers: s.url, user: 'u', pass: 'p' });
      const pub = await client({ servers: s.url, user: 'u', pass: 'p' });
      const errors: string[] = [];
      let got = 0;
      nc.subscribe('perm.x', { callback: (e) => (e ? void errors.push(e.message) : void got++) });
      await nc.flush();
      pub.publish('perm.x');
      await pub.flush();
      await nc.flush();
      await s.reload({ authorization: { users: [{ user: 'u', password: 'p', permissions: { subscribe: { deny: ['perm.>'] } } }] } });
      for (const end = Date.now() + 5000; errors.length === 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
      assert.match(errors[0] ?? '', /permissions violation for subscription to "perm\.x"/i);
      pub.publish('perm.x');
      await pub.flush();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(got, 1, 'nothing delivered after the reload removed the subscription');
      assert.equal(nc.isClosed(), false, 'the connection stays open');
    });

    test('auth errors: bad password, missing token, and the server keeps serving', async () => {
      const s = await server({ authorization: { token: 's3cret' } });
      await assert.rejects(connect({ servers: s.url, token: 'wrong', reconnect: false }), /authorization violation/i);
      await assert.rejects(connect({ servers: s.url, reconnect: false }), /authorization violation/i);
      const nc = await client({ servers: s.url, token: 's3cret' });
      const r = nc.subscribe('ok', { max: 1 });
      nc.publish('ok', 'fine');
      for await (const m of r) assert.equal(m.string(), 'fine');
    });

    test('max_payload: announced in INFO, enforced by the client, oversize raw PUB closes the connection', async () => {
      const s = await server({ max_payload: 1024 });
      const nc = await client({ servers: s.url });
      assert.equal(nc.info?.max_payload, 1024);
      assert.throws(() => nc.publish('big', new Uint8Array(2000)), /max_payload|payload/i);
      nc.publish('fits', new Uint8Array(1024));
      await nc.flush();
      // a client that ignores the limit gets -ERR 'Maximum Payload Violation'
      const { Socket } = await import('node:net');
      const sock = new Socket();
      const text = await within(
        new Promise<string>((resolve, reject) => {
          let buf = '';
          sock.on('data', (b) => (buf += b.toString()));
          // the server may reset the socket after its -ERR: keep what arrived
          sock.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? resolve(buf) : reject(e)));
          sock.on('close', () => resolve(buf));
          sock.connect(s.port, '127.0.0.1', () => sock.write('CONNECT {"verbose":false}\r\nPUB big 2000\r\n'));
        }),
        5000,
        'raw client closed',
      );
      assert.match(text, /-ERR 'Maximum Payload Violation'/);
    });

    test('websocket client via the ports file websocket URL, talking with a TCP client', async () => {
      const s = await server();
      const ws = await wsconnect({ servers: s.websocketUrl! });
      cleanup.push(() => ws.close());
      const nc = await client({ servers: s.url });
      nc.subscribe('ws.echo', { callback: (_e, m) => void m.respond(te.encode(`tcp:${m.string()}`)) });
      await nc.flush();
      const r = await ws.request('ws.echo', 'from-ws', { timeout: 2000 });
      assert.equal(r.string(), 'tcp:from-ws');
      const sub = ws.subscribe('to.ws', { max: 1 });
      await ws.flush();
      nc.publish('to.ws', 'hi');
      for await (const m of sub) assert.equal(m.string(), 'hi');
      const connz = (await s.monitor('connz')) as { num_connections: number };
      assert.equal(connz.num_connections, 2);
    });

    test('monitoring endpoints the harness polls: /varz /healthz /connz /subsz /routez', async () => {
      const s = await server({ server_name: `mon-${flavor}` });
      const nc = await client({ servers: s.url, name: 'peer-client' });
      nc.subscribe('mon.a');
      await nc.flush();
      const varz = (await s.monitor('varz')) as Record<string, unknown>;
      assert.equal(varz.server_name, `mon-${flavor}`);
      assert.equal(varz.host, '127.0.0.1');
      assert.equal(varz.connections, 1);
      assert.equal(typeof varz.server_id, 'string');
      const health = (await s.monitor('healthz')) as { status: string };
      assert.equal(health.status, 'ok');
      const connz = (await s.monitor('connz?subs=1')) as { connections: Array<{ name: string; subscriptions_list: string[] }> };
      assert.equal(connz.connections[0]!.name, 'peer-client');
      assert.deepEqual(connz.connections[0]!.subscriptions_list, ['mon.a']);
      // nats-server also counts the system account's internal subscriptions here (44 in 2.9.10)
      const subsz = (await s.monitor('subsz')) as { num_subscriptions: number };
      assert.ok(subsz.num_subscriptions >= 1);
      const routez = (await s.monitor('routez')) as { routes: unknown[] | null; num_routes?: number };
      assert.equal(routez.num_routes ?? 0, 0);
    });
  });
}
