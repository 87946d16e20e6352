// Hostile leaf peers against a tsnats hub: junk and mutated protocol bytes, an LS+ flood, a peer
// that stops reading. The server must answer as nats-server (error + close of that connection
// only), keep memory bounded and keep serving its clients.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { client, leafz, sleep, startNode, until, type LNode } from './harness.js';

let hub: LNode | undefined;
after(async () => {
  await hub?.stop();
});

function open(port: number): Promise<{ s: Socket; buf: () => string }> {
  return new Promise((resolve) => {
    let b = '';
    const s = netConnect({ host: '127.0.0.1', port }, () => resolve({ s, buf: () => b }));
    s.on('data', (d) => (b += d.toString('latin1')));
    s.on('error', () => undefined);
  });
}

describe('leaf: hostile peers against a tsnats hub', () => {
  it('junk, mutated ops and bad arguments close only that connection; clients keep working', async () => {
    hub = await startNode('tsnats', { name: 'HUB', leaf: 'listen: "127.0.0.1:-1"', extra: 'max_pending: 2097152' });
    const nc = await client(hub);
    const sub = nc.subscribe('alive');
    const inputs = [
      'CONNECT {not json}\r\n',
      'CONNECT {}\r\nLS+\r\n',
      'CONNECT {}\r\nLS+ a b\r\n',
      'CONNECT {}\r\nLMSG foo x\r\n',
      'CONNECT {}\r\nLMSG foo 3\r\nabcdef\r\n',
      'CONNECT {}\r\nRMSG $G foo 1\r\nx\r\n',
      'CONNECT {}\r\nLMSG foo * q 1\r\nx\r\n',
      'LS+ early\r\n',
      'CONNECT {}\r\nSUB foo 1\r\n',
      'CONNECT []\r\n',
    ];
    for (let i = 0; i < 20; i++) inputs.push(`CONNECT {}\r\n${randomBytes(64 + i * 16).toString('latin1')}\r\n`);
    for (const inp of inputs) {
      const c = await open(hub.leafPort);
      c.s.write(inp);
      await sleep(30);
      c.s.destroy();
    }
    await until(async () => (await leafz(hub!)).leafnodes === 0, 3000, 'junk connections closed');
    nc.publish('alive', 'yes');
    const it = sub[Symbol.asyncIterator]();
    const m = await Promise.race([it.next(), sleep(2000).then(() => null)]);
    assert.ok(m && !m.done && m.value.string() === 'yes');
    await nc.close();
  });

  it('an LS+ flood is held as subscriptions and released on close', async () => {
    const c = await open(hub!.leafPort);
    let lines = 'CONNECT {}\r\n';
    for (let i = 0; i < 20000; i++) lines += `LS+ flood.${i}\r\n`;
    c.s.write(lines);
    await until(async () => ((await leafz(hub!)).leafs?.[0]?.subscriptions as number | undefined) === 20000, 5000, '20000 leaf subscriptions');
    c.s.destroy();
    await until(async () => (await leafz(hub!)).leafnodes === 0, 3000, 'flooding leaf closed');
    const v = (await (await fetch(`${hub!.monitor}/varz`)).json()) as { subscriptions: number };
    assert.ok(v.subscriptions < 100, `subscriptions left: ${v.subscriptions}`);
  });

  it('a leaf that stops reading is closed as a slow consumer (bounded memory)', async () => {
    const c = await open(hub!.leafPort);
    c.s.write('CONNECT {}\r\nLS+ big\r\n');
    await until(async () => (await leafz(hub!)).leafnodes === 1, 3000, 'leaf registered');
    c.s.pause();
    const nc = await client(hub!);
    const payload = new Uint8Array(32 * 1024);
    for (let i = 0; i < 2000 && (await leafz(hub!)).leafnodes === 1; i++) {
      for (let k = 0; k < 50; k++) nc.publish('big', payload);
      await nc.flush();
    }
    await until(async () => (await leafz(hub!)).leafnodes === 0, 5000, 'slow leaf closed');
    assert.match(hub!.log(), /Slow Consumer Detected|Leafnode connection closed/);
    c.s.destroy();
    await nc.close();
  });
});
