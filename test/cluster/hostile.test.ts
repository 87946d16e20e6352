// Bad input on the cluster port: garbage, a client on the route port, oversized RMSG, RS+ floods,
// a peer that stops reading. Each closes only that connection; the server keeps working.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { SKIP_NATS, client, routez, sleep, startNode, until, type Kind, type Node } from './harness.js';

interface Fake {
  sock: Socket;
  text(): string;
  closed(): boolean;
  send(s: string): void;
}

function fakePeer(port: number, register = true, id = 'NFAKEPEER'): Fake {
  const sock = netConnect(port, '127.0.0.1');
  let buf = '';
  let closed = false;
  sock.on('data', (d) => (buf += d.toString('latin1')));
  sock.on('close', () => (closed = true));
  sock.on('error', () => undefined);
  if (register) {
    sock.write(`CONNECT {"echo":true,"verbose":false,"pedantic":false,"tls_required":false,"headers":true,"name":"${id}","cluster":"C1","lnoc":true}\r\n`);
    sock.write(`INFO {"server_id":"${id}","server_name":"${id}","version":"2.9.10","proto":2,"host":"127.0.0.1","port":1,"headers":true,"max_payload":1048576,"cluster":"C1","lnoc":true}\r\n`);
  }
  return { sock, text: () => buf, closed: () => closed, send: (s) => void sock.write(s) };
}

/** The server still routes client traffic. */
async function alive(n: Node): Promise<void> {
  const c = await client(n);
  const r = c.subscribe('alive', { max: 1 });
  c.publish('alive', 'ok');
  for await (const m of r) assert.equal(m.string(), 'ok');
  await c.close();
}

for (const kind of ['tsnats', 'nats-server'] as Kind[]) {
  describe(`hostile route peers against ${kind}`, { skip: kind === 'nats-server' && SKIP_NATS ? SKIP_NATS : false }, () => {
    let a: Node;
    before(async () => {
      a = await startNode(kind, { name: 'A', extra: 'max_pending: 4MB\nwrite_deadline: "1s"' });
    });
    after(async () => {
      await a?.stop();
    });

    it('garbage gets -ERR Unknown Protocol Operation and a close', async () => {
      const f = fakePeer(a.clusterPort, false);
      f.send('HELLO WORLD\r\n');
      await until(() => f.closed(), 3000, 'close');
      assert.match(f.text(), /-ERR 'Unknown Protocol Operation'/);
      await alive(a);
    });

    it('a client on the route port gets the 2.9.10 error', async () => {
      const f = fakePeer(a.clusterPort, false);
      f.send('CONNECT {"lang":"node","verbose":false}\r\n');
      await until(() => f.closed(), 3000, 'close');
      assert.match(f.text(), /-ERR 'attempted to connect to route port'/);
      await until(() => /Router connection closed: Incorrect Port/.test(a.log()), 3000, 'close log');
    });

    it('registers, gets RS+ for local interest, RMSG for publishes; nothing echoed back (one hop)', async () => {
      const c = await client(a);
      const got: string[] = [];
      c.subscribe('in.x', { callback: (_e, m) => void got.push(m.string()) });
      c.subscribe('in.q', { queue: 'qq', callback: (_e, m) => void got.push(`q:${m.string()}`) });
      await c.flush();
      const f = fakePeer(a.clusterPort);
      await until(() => /RS\+ \$G in\.x\r\n/.test(f.text()) && /RS\+ \$G in\.q qq 1\r\n/.test(f.text()), 3000, 'interest');
      f.send('RS+ $G out.y\r\n');
      f.send('RMSG $G in.x 2\r\nhi\r\nRMSG $G in.q 2\r\nno\r\nRMSG $G in.q | qq 2\r\nqq\r\nRMSG $G out.y 3\r\nbad\r\n');
      await until(() => got.length >= 2, 3000, 'routed deliveries');
      await sleep(100);
      assert.deepEqual(got.sort(), ['hi', 'q:qq']);
      c.publish('out.y', 'yes');
      await c.flush();
      await until(() => f.text().includes('RMSG $G out.y 3\r\nyes\r\n'), 3000, 'RMSG to the fake peer');
      assert.ok(!f.text().includes('bad'), 'a routed message is not sent back to a route');
      f.sock.destroy();
      await c.close();
    });

    if (kind === 'tsnats') {
      it('an oversized RMSG closes the route', async () => {
        const f = fakePeer(a.clusterPort, true, 'NFAKEBIG');
        f.send('RMSG $G foo 9999999999\r\n');
        await until(() => f.closed(), 3000, 'close');
        await alive(a);
      });

      it('an RS+ flood is absorbed and removed in bulk when the route closes', async () => {
        const f = fakePeer(a.clusterPort, true, 'NFAKEFLOOD');
        const n = 50_000;
        const lines: string[] = [];
        for (let i = 0; i < n; i++) lines.push(`RS+ $G flood.${i}\r\n`);
        f.send(lines.join(''));
        await until(async () => (await routez(a)).routes.some((r) => r.subscriptions === n), 10_000, 'all remote subs');
        await alive(a);
        f.sock.destroy();
        await until(async () => (await routez(a)).num_routes === 0, 5000, 'route gone');
        assert.equal(a.ts!.server.numSubscriptions, 0);
      });

      it('a peer that stops reading stalls publishers, then is closed; the rest keeps working', async () => {
        const f = fakePeer(a.clusterPort, true, 'NFAKESTUCK');
        f.send('RS+ $G stuck\r\n');
        await until(async () => (await routez(a)).routes.some((r) => r.subscriptions === 1), 3000, 'interest');
        f.sock.pause();
        const c = await client(a);
        const payload = new Uint8Array(64 * 1024);
        for (let i = 0; i < 600; i++) c.publish('stuck', payload);
        await c.flush().catch(() => undefined);
        await until(() => /Router connection closed: Write Error/.test(a.log()), 15_000, 'route closed for not reading');
        await c.close();
        await alive(a);
        f.sock.destroy();
      });
    }
  });
}
