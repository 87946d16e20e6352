// Leaf behaviours against nats-server 2.9.10 and tsnats: reconnect after the hub restarts,
// authorization, deny_imports/deny_exports, loop detection, and the raw protocol of the hub
// (INFO fields, CONNECT checks, LS+/LMSG queue filtering).

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { SKIP_NATS, client, collect, freePort, leafz, sleep, startNode, until, waitLeafInterest, waitLeafs, type Kind, type LNode } from './harness.js';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});
async function node(kind: Kind, spec: Parameters<typeof startNode>[1]): Promise<LNode> {
  const n = await startNode(kind, spec);
  let stopped = false;
  const stop = n.stop;
  n.stop = async () => {
    if (stopped) return;
    stopped = true;
    await stop();
  };
  cleanups.push(() => n.stop());
  return n;
}

describe('leaf: reconnect after the hub restarts', { skip: SKIP_NATS }, () => {
  for (const [hubKind, spokeKind] of [
    ['nats-server', 'tsnats'],
    ['tsnats', 'nats-server'],
    ['tsnats', 'tsnats'],
  ] as Array<[Kind, Kind]>) {
    it(`${spokeKind} spoke reconnects to a restarted ${hubKind} hub`, async () => {
      const lp = await freePort();
      let hub = await node(hubKind, { name: 'HUB', leaf: `listen: "127.0.0.1:${lp}"` });
      const spoke = await node(spokeKind, { name: 'SPOKE', leaf: `reconnect: 1\nremotes: [ { url: "nats-leaf://127.0.0.1:${lp}" } ]` });
      await waitLeafs(hub, 1);
      const sc = await client(spoke);
      const sub = sc.subscribe('after.restart');
      await sc.flush();
      await hub.stop();
      await until(async () => (await leafz(spoke)).leafnodes === 0, 4000, 'spoke sees the leaf gone');
      hub = await node(hubKind, { name: 'HUB', leaf: `listen: "127.0.0.1:${lp}"` });
      await waitLeafs(hub, 1, 8000);
      await waitLeafInterest(hub, 'after.restart');
      const hc = await client(hub);
      hc.publish('after.restart', 'back');
      assert.deepEqual(await collect(sub, 1), ['back']);
      await hc.close();
      await sc.close();
      if (spokeKind === 'tsnats') assert.match(spoke.log(), /Leafnode connection closed: .* account: \$G/);
      await spoke.stop();
      await hub.stop();
    });
  }
});

describe('leaf: authorization', { skip: SKIP_NATS }, () => {
  for (const [hubKind, spokeKind] of [
    ['nats-server', 'tsnats'],
    ['tsnats', 'nats-server'],
  ] as Array<[Kind, Kind]>) {
    it(`${hubKind} hub refuses a ${spokeKind} spoke with a bad password, accepts the right one`, async () => {
      const hub = await node(hubKind, { name: 'HUB', leaf: 'listen: "127.0.0.1:-1"\nauthorization { user: lu, password: lp }' });
      const bad = await node(spokeKind, { name: 'BAD', leaf: `remotes: [ { url: "nats-leaf://lu:wrong@127.0.0.1:${hub.leafPort}" } ]` });
      await until(() => /Authorization Violation/.test(bad.log()) || /Authorization Violation|authentication error/.test(hub.log()), 5000, 'auth failure');
      assert.equal((await leafz(hub)).leafnodes, 0);
      await bad.stop();
      const good = await node(spokeKind, { name: 'GOOD', leaf: `remotes: [ { url: "nats-leaf://lu:lp@127.0.0.1:${hub.leafPort}" } ]` });
      await waitLeafs(hub, 1);
      await good.stop();
      await hub.stop();
    });
  }
});

describe('leaf: deny_imports and deny_exports on the remote', { skip: SKIP_NATS }, () => {
  for (const [hubKind, spokeKind] of [
    ['nats-server', 'tsnats'],
    ['tsnats', 'nats-server'],
    ['tsnats', 'tsnats'],
  ] as Array<[Kind, Kind]>) {
    it(`${hubKind} hub, ${spokeKind} spoke`, async () => {
      const hub = await node(hubKind, { name: 'HUB', leaf: 'listen: "127.0.0.1:-1"' });
      const spoke = await node(spokeKind, {
        name: 'SPOKE',
        leaf: `remotes: [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}", deny_imports: ["priv.>"], deny_exports: "secret.>" } ]`,
      });
      await waitLeafs(hub, 1);
      const hc = await client(hub);
      const sc = await client(spoke);
      // Exports: the spoke's publishes on secret.> never reach the hub.
      const hs = hc.subscribe('secret.x');
      const ho = hc.subscribe('open.x');
      await hc.flush();
      await until(async () => ((await leafz(spoke, true)).leafs?.[0]?.subscriptions_list as string[] | undefined ?? []).includes('open.x'), 5000, 'open.x on spoke');
      sc.publish('secret.x', 'no');
      sc.publish('open.x', 'yes');
      assert.deepEqual(await collect(ho, 1), ['yes']);
      assert.deepEqual(await collect(hs, 1, 300), []);
      // Imports: the hub's publishes on priv.> never reach the spoke.
      const sp = sc.subscribe('priv.x');
      const so = sc.subscribe('pub.x');
      await sc.flush();
      await waitLeafInterest(hub, 'pub.x');
      hc.publish('priv.x', 'no');
      hc.publish('pub.x', 'yes');
      assert.deepEqual(await collect(so, 1), ['yes']);
      assert.deepEqual(await collect(sp, 1, 300), []);
      await hc.close();
      await sc.close();
      await spoke.stop();
      await hub.stop();
    });
  }
});

describe('leaf: loop detection', { skip: SKIP_NATS }, () => {
  for (const [aKind, bKind] of [
    ['tsnats', 'tsnats'],
    ['tsnats', 'nats-server'],
  ] as Array<[Kind, Kind]>) {
    it(`${aKind} <-> ${bKind} soliciting each other: "Loop detected"`, async () => {
      const pa = await freePort();
      const pb = await freePort();
      const a = await node(aKind, { name: 'A', leaf: `listen: "127.0.0.1:${pa}"\nremotes: [ { url: "nats-leaf://127.0.0.1:${pb}" } ]` });
      const b = await node(bKind, { name: 'B', leaf: `listen: "127.0.0.1:${pb}"\nremotes: [ { url: "nats-leaf://127.0.0.1:${pa}" } ]` });
      await until(() => /Loop detected for leafnode account="\$G"/.test(a.log() + b.log()), 8000, 'loop detected');
      await b.stop();
      await a.stop();
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Raw protocol against the hub

class Raw {
  buf = '';
  readonly sock: Socket;
  constructor(port: number) {
    this.sock = netConnect({ host: '127.0.0.1', port });
    this.sock.on('data', (d) => (this.buf += d.toString('latin1')));
    this.sock.on('error', () => undefined);
  }
  send(s: string): void {
    this.sock.write(s);
  }
  async waitFor(re: RegExp, ms = 3000): Promise<RegExpExecArray> {
    const end = Date.now() + ms;
    for (;;) {
      const m = re.exec(this.buf);
      if (m) return m;
      if (Date.now() > end) throw new Error(`timed out waiting for ${re} in ${JSON.stringify(this.buf.slice(-500))}`);
      await sleep(10);
    }
  }
  close(): void {
    this.sock.destroy();
  }
}

for (const kind of ['nats-server', 'tsnats'] as Kind[]) {
  describe(`leaf: raw protocol against a ${kind} hub`, { skip: SKIP_NATS }, () => {
    it('first INFO, CONNECT {} → connect_info INFO, LS+ $LDS, PING; LS+/LMSG queue filtering; no echo', async () => {
      const hub = await node(kind, { name: 'HUB', leaf: 'listen: "127.0.0.1:-1"' });
      const hc = await client(hub);
      let plain = 0;
      let queued = 0;
      hc.subscribe('in.p', { callback: () => void plain++ });
      hc.subscribe('in.q', { queue: 'qq', callback: () => void queued++ });
      await hc.flush();
      const r = new Raw(hub.leafPort);
      const m = await r.waitFor(/^INFO (\{.*\}) \r\n/);
      const info = JSON.parse(m[1]!) as Record<string, unknown>;
      assert.equal(info.auth_required, true);
      assert.equal(info.info_on_connect, true);
      assert.ok((info.client_id as number) > 0);
      assert.equal(typeof info.nonce, 'string');
      assert.deepEqual(info.leafnode_urls, [`127.0.0.1:${hub.leafPort}`]);
      r.send('CONNECT {}\r\n');
      const m2 = await r.waitFor(/INFO (\{[^\r]*"connect_info":true[^\r]*\}) \r\n/);
      const i2 = JSON.parse(m2[1]!) as Record<string, unknown>;
      assert.equal(i2.remote_account, '$G');
      assert.equal(i2.nonce, undefined);
      await r.waitFor(/LS\+ \$LDS\.[A-Za-z0-9]{22}\r\n/);
      await r.waitFor(/LS\+ in\.p\r\n/);
      await r.waitFor(/LS\+ in\.q qq 1\r\n/);
      await r.waitFor(/PING\r\n/, 3000);
      // Plain and queue messages from the leaf.
      r.send('LMSG in.p 2\r\nhi\r\nLMSG in.q 2\r\nno\r\nLMSG in.q | qq 2\r\nok\r\n');
      await until(() => plain === 1 && queued === 1, 2000, 'deliveries');
      await sleep(100);
      assert.equal(queued, 1);
      // Interest from the leaf: a publish goes there as LMSG, queues listed; no echo of its own.
      r.send('LS+ out.x\r\nLS+ out.x g1 3\r\n');
      await sleep(100);
      hc.publish('out.x', 'a', { reply: 'r1' });
      await r.waitFor(/LMSG out\.x \+ r1 g1 1\r\na\r\n/);
      r.buf = '';
      r.send('LMSG out.x 1\r\nz\r\nPING\r\n');
      await r.waitFor(/PONG\r\n/);
      assert.doesNotMatch(r.buf, /LMSG out\.x/);
      r.close();
      await hc.close();
      await hub.stop();
    });

    it('same cluster name refused; a second leaf with the same name and cluster evicts the first', async () => {
      const cp = await freePort();
      const hub = await node(kind, { name: 'HUB', leaf: 'listen: "127.0.0.1:-1"', extra: `cluster { name: C1, listen: "127.0.0.1:${cp}" }` });
      const same = new Raw(hub.leafPort);
      await same.waitFor(/^INFO /);
      same.send('CONNECT {"cluster":"C1","name":"X"}\r\n');
      await same.waitFor(/-ERR 'remote leafnode has same cluster name'\r\n/);
      same.close();
      const first = new Raw(hub.leafPort);
      await first.waitFor(/^INFO /);
      first.send('CONNECT {"cluster":"LC","name":"DUP","server_id":"S1"}\r\n');
      await first.waitFor(/connect_info/);
      const second = new Raw(hub.leafPort);
      await second.waitFor(/^INFO /);
      second.send('CONNECT {"cluster":"LC","name":"DUP","server_id":"S2"}\r\n');
      await first.waitFor(/-ERR 'Duplicate Remote LeafNode Connection'\r\n/);
      await second.waitFor(/connect_info/);
      first.close();
      second.close();
      await hub.stop();
    });

    it('min_version: an older spoke gets the INFO, the error, and is closed', async () => {
      const hub = await node(kind, { name: 'HUB', leaf: 'listen: "127.0.0.1:-1"\nmin_version: "2.9.11"' });
      const r = new Raw(hub.leafPort);
      await r.waitFor(/^INFO /);
      r.send('CONNECT {"version":"2.9.10"}\r\n');
      await r.waitFor(/"connect_info":true/);
      await r.waitFor(/-ERR 'connection rejected since minimum version required is "2\.9\.11"'\r\n/);
      const ok = new Raw(hub.leafPort);
      await ok.waitFor(/^INFO /);
      ok.send('CONNECT {"version":"2.9.11"}\r\n');
      await ok.waitFor(/LS\+ \$LDS\./);
      assert.doesNotMatch(ok.buf, /-ERR/);
      r.close();
      ok.close();
      await hub.stop();
    });

    it('CONNECT with lang → "attempted to connect to leaf node port"; no CONNECT → Authentication Timeout', async () => {
      const hub = await node(kind, { name: 'HUB', leaf: 'listen: "127.0.0.1:-1"\nauthorization { user: a, password: b, timeout: 0.5 }' });
      const r = new Raw(hub.leafPort);
      await r.waitFor(/^INFO /);
      r.send('CONNECT {"lang":"go","user":"a","pass":"b"}\r\n');
      await r.waitFor(/-ERR 'attempted to connect to leaf node port'\r\n/);
      r.close();
      const t = new Raw(hub.leafPort);
      await t.waitFor(/^INFO /);
      await t.waitFor(/-ERR 'Authentication Timeout'\r\n/, 3000);
      t.close();
      const l = new Raw(hub.leafPort);
      const m = await l.waitFor(/^INFO /);
      void m;
      l.send('CONNECT {"user":"a","pass":"b"}\r\n');
      const lds = await l.waitFor(/LS\+ (\$LDS\.[A-Za-z0-9]{22})\r\n/);
      l.send(`LS+ ${lds[1]}\r\n`);
      await l.waitFor(/-ERR 'Loop detected for leafnode account="\$G"\. Delaying attempt to reconnect for 30s'\r\n/);
      l.close();
      await hub.stop();
    });
  });
}

describe('leaf: /varz and /leafz shapes as nats-server', { skip: SKIP_NATS }, () => {
  it('same `leaf` section and empty /leafz for the same configuration', async () => {
    const got: string[] = [];
    for (const kind of ['nats-server', 'tsnats'] as Kind[]) {
      const n = await node(kind, { name: 'H', leaf: 'listen: "127.0.0.1:-1"\nremotes: [ { url: "nats-leaf://127.0.0.1:1", deny_imports: ["a"], deny_exports: "b" } ]' });
      const v = (await (await fetch(`${n.monitor}/varz`)).json()) as { leaf: Record<string, unknown>; leafnodes: number };
      const z = (await (await fetch(`${n.monitor}/leafz`)).json()) as Record<string, unknown>;
      got.push(JSON.stringify({ leaf: { ...v.leaf, port: 0 }, leafnodes: v.leafnodes, leafz: { leafnodes: z.leafnodes, leafs: z.leafs } }));
      await n.stop();
    }
    assert.equal(got[1], got[0]);
  });
});

describe('leaf: hub log lines as nats-server', { skip: SKIP_NATS }, () => {
  it('created / JetStream not extended / closed: the same INF lines for a nats-server spoke that comes and goes', async () => {
    const got: string[] = [];
    for (const kind of ['nats-server', 'tsnats'] as Kind[]) {
      const h = await node(kind, { name: 'H', leaf: 'listen: "127.0.0.1:-1"' });
      const s = await node('nats-server', { name: 'S', leaf: `remotes: [ { url: "nats-leaf://127.0.0.1:${h.leafPort}" } ]` });
      await waitLeafs(h, 1);
      await sleep(200);
      await s.stop();
      await until(async () => (await leafz(h)).leafnodes === 0, 3000, 'leaf gone');
      await sleep(100);
      got.push(
        h
          .log()
          .split('\n')
          .filter((l) => /\[(INF|ERR|WRN)\] .*lid:/.test(l))
          .map((l) => l.replace(/^.*?\[(INF|ERR|WRN)\] \S+ - lid:\d+ - /, '[$1] '))
          .join('\n'),
      );
      await h.stop();
    }
    assert.equal(got[1], got[0]);
    assert.match(got[0]!, /Leafnode connection created \n.*JetStream Not Extended.*\n.*Leafnode connection closed: Client Closed account: \$G/);
  });
});
