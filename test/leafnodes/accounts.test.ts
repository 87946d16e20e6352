// Accounts over leaf connections (issue 14): a remote's `account` binds the solicited connection
// to that local account; on the hub a leaf is bound to the account of the user it authenticated
// as (leafnodes authorization users with `account`, or users of accounts {}). LS+/LMSG go to and
// come from that account only; logs, /leafz, the connect_info INFO and loop detection name it.
// Every scenario runs tsnats and nats-server 2.9.10 in both roles (nats-server ↔ nats-server is
// the reference).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { ConfigError, parseConfigText } from '../../src/config/index.js';
import { NATS_SERVER, SKIP_NATS, client, collect, freePort, leafz, sleep, startNode, until, waitLeafInterest, waitLeafs, type Kind, type LNode } from './harness.js';

const PAIRS: Array<[Kind, Kind]> = [
  ['tsnats', 'tsnats'],
  ['nats-server', 'tsnats'],
  ['tsnats', 'nats-server'],
  ['nats-server', 'nats-server'],
];

const ACCOUNTS = `accounts {
  A { users: [ { user: a, password: a } ] }
  B { users: [ { user: b, password: b } ] }
}`;

const as = (u: string) => ({ user: u, pass: u });

async function leafzAcc(n: LNode, acc: string): Promise<{ leafnodes: number; leafs: Array<Record<string, unknown>> | null }> {
  return (await (await fetch(`${n.monitor}/leafz?acc=${encodeURIComponent(acc)}`)).json()) as { leafnodes: number; leafs: Array<Record<string, unknown>> | null };
}

for (const [hubKind, spokeKind] of PAIRS) {
  describe(`leaf accounts: ${hubKind} hub <- ${spokeKind} spoke, remote bound to A, hub leaf user bound to A`, { skip: SKIP_NATS && (hubKind !== 'tsnats' || spokeKind !== 'tsnats') ? SKIP_NATS : false }, () => {
    let hub: LNode;
    let spoke: LNode;
    const conns: NatsConnection[] = [];
    const conn = async (n: LNode, u: string): Promise<NatsConnection> => {
      const c = await client(n, as(u));
      conns.push(c);
      return c;
    };

    before(async () => {
      hub = await startNode(hubKind, {
        name: 'HUB',
        extra: ACCOUNTS,
        leaf: 'listen: "127.0.0.1:-1"\nauthorization { users: [ { user: la, password: la, account: A }, { user: lb, password: lb, account: B } ] }',
      });
      spoke = await startNode(spokeKind, {
        name: 'SPOKE',
        extra: ACCOUNTS,
        leaf: `remotes: [ { url: "nats-leaf://la:la@127.0.0.1:${hub.leafPort}", account: A } ]`,
      });
      await waitLeafs(hub, 1);
      await waitLeafs(spoke, 1);
    });

    after(async () => {
      for (const c of conns) await c.close().catch(() => undefined);
      await spoke?.stop();
      await hub?.stop();
    });

    it('/leafz names the account on both sides and filters by ?acc=', async () => {
      assert.equal((await leafz(hub)).leafs![0]!.account, 'A');
      assert.equal((await leafz(spoke)).leafs![0]!.account, 'A');
      for (const n of [hub, spoke]) {
        const a = await leafzAcc(n, 'A');
        assert.equal(a.leafs?.length, 1, n.kind);
        const b = await leafzAcc(n, 'B');
        assert.equal(b.leafs, null, n.kind);
      }
    });

    it('log lines name the account', async () => {
      assert.match(spoke.log(), /Leafnode connection created for account: A /);
      for (const n of [hub, spoke]) {
        assert.match(n.log(), /JetStream Not Extended, adding deny \[\$JS\.API\.> \$KV\.> \$OBJ\.>\] for account "A"/, n.kind);
      }
    });

    it('spoke A -> hub A, never hub B', async () => {
      const ha = await conn(hub, 'a');
      const hb = await conn(hub, 'b');
      const sa = await conn(spoke, 'a');
      const subA = ha.subscribe('s2h.*');
      const subB = hb.subscribe('s2h.*');
      await ha.flush();
      await hb.flush();
      await waitLeafInterest(spoke, 's2h.*');
      for (let i = 0; i < 3; i++) sa.publish(`s2h.${i}`, `m${i}`);
      await sa.flush();
      assert.deepEqual(await collect(subA, 3), ['m0', 'm1', 'm2']);
      assert.deepEqual(await collect(subB, 1, 300), []);
      subA.unsubscribe();
      subB.unsubscribe();
    });

    it('hub A -> spoke A, never spoke B; hub B publishes do not cross', async () => {
      const ha = await conn(hub, 'a');
      const hb = await conn(hub, 'b');
      const sa = await conn(spoke, 'a');
      const sb = await conn(spoke, 'b');
      const subA = sa.subscribe('h2s.>');
      const subB = sb.subscribe('h2s.>');
      await sa.flush();
      await sb.flush();
      await waitLeafInterest(hub, 'h2s.>');
      hb.publish('h2s.b', 'from-b');
      ha.publish('h2s.a', 'from-a');
      await ha.flush();
      await hb.flush();
      assert.deepEqual(await collect(subA, 2, 800), ['from-a']);
      assert.deepEqual(await collect(subB, 1, 300), []);
      subA.unsubscribe();
      subB.unsubscribe();
    });

    it('request/reply across the leaf stays in A', async () => {
      const ha = await conn(hub, 'a');
      const sa = await conn(spoke, 'a');
      const sb = await conn(spoke, 'b');
      const svc = ha.subscribe('svc.leaf', { callback: (_e, m) => void m.respond(`re:${m.string()}`) });
      await ha.flush();
      await waitLeafInterest(spoke, 'svc.leaf');
      const r = await sa.request('svc.leaf', 'ping', { timeout: 2000 });
      assert.equal(r.string(), 're:ping');
      await assert.rejects(sb.request('svc.leaf', 'ping', { timeout: 1000 }));
      svc.unsubscribe();
    });

    it('the connect_info INFO names the bound account (raw leaf CONNECT as user lb)', async () => {
      const sock = netConnect(hub.leafPort, '127.0.0.1');
      let text = '';
      sock.on('data', (d) => (text += d.toString('latin1')));
      sock.on('error', () => undefined);
      try {
        await until(() => text.includes('\r\n'), 3000, 'first INFO');
        sock.write('CONNECT {"user":"lb","pass":"lb","tls_required":false,"name":"RAW","headers":true}\r\n');
        await until(() => /"connect_info":true/.test(text) && /LS\+ \$LDS\./.test(text), 3000, 'connect_info INFO and LS+');
        assert.match(text, /"remote_account":"B"/);
        // A's loop detection subject is another one than B's: the leaf bound to A (the spoke's)
        // never sees B's.
        await until(async () => (await leafzAcc(hub, 'B')).leafs?.length === 1, 3000, 'leafz B');
      } finally {
        sock.destroy();
      }
      await until(async () => (await leafzAcc(hub, 'B')).leafs === null, 3000, 'raw leaf gone');
    });

    it('closing names the account', async () => {
      await spoke.stop();
      await until(() => /Leafnode connection closed: [^\n]* account: A/.test(hub.log()), 5000, 'hub close line');
      spoke = undefined as unknown as LNode;
    });
  });

  describe(`leaf accounts: ${hubKind} hub <- ${spokeKind} spoke, hub binds by the user of accounts {} (spoke A -> hub B)`, { skip: SKIP_NATS && (hubKind !== 'tsnats' || spokeKind !== 'tsnats') ? SKIP_NATS : false }, () => {
    let hub: LNode;
    let spoke: LNode;
    const conns: NatsConnection[] = [];

    before(async () => {
      hub = await startNode(hubKind, { name: 'HUB', extra: ACCOUNTS, leaf: 'listen: "127.0.0.1:-1"' });
      spoke = await startNode(spokeKind, {
        name: 'SPOKE',
        extra: ACCOUNTS,
        leaf: `remotes: [ { url: "nats-leaf://b:b@127.0.0.1:${hub.leafPort}", account: A } ]`,
      });
      await waitLeafs(hub, 1);
      await waitLeafs(spoke, 1);
    });

    after(async () => {
      for (const c of conns) await c.close().catch(() => undefined);
      await spoke?.stop();
      await hub?.stop();
    });

    it('the hub binds the leaf to B, the spoke to A; messages map A <-> B', async () => {
      assert.equal((await leafz(hub)).leafs![0]!.account, 'B');
      assert.equal((await leafz(spoke)).leafs![0]!.account, 'A');
      const ha = await client(hub, as('a'));
      const hb = await client(hub, as('b'));
      const sa = await client(spoke, as('a'));
      const sb = await client(spoke, as('b'));
      conns.push(ha, hb, sa, sb);
      const inB = hb.subscribe('map.x');
      const inA = ha.subscribe('map.x');
      await hb.flush();
      await ha.flush();
      await waitLeafInterest(spoke, 'map.x');
      sb.publish('map.x', 'spoke-b');
      sa.publish('map.x', 'spoke-a');
      await sa.flush();
      await sb.flush();
      assert.deepEqual(await collect(inB, 2, 800), ['spoke-a']);
      assert.deepEqual(await collect(inA, 1, 300), []);
    });
  });
}

for (const [xKind, yKind] of [
  ['tsnats', 'tsnats'],
  ['tsnats', 'nats-server'],
] as Array<[Kind, Kind]>) {
  describe(`leaf accounts: loop detection per account, ${xKind} <-> ${yKind}`, { skip: SKIP_NATS && yKind !== 'tsnats' ? SKIP_NATS : false }, () => {
    it('two servers soliciting each other in account A detect the loop for account "A"', async () => {
      const auth = 'authorization { users: [ { user: la, password: la, account: A } ] }';
      const px = await freePort();
      const py = await freePort();
      const x = await startNode(xKind, {
        name: 'X',
        extra: ACCOUNTS,
        leaf: `listen: "127.0.0.1:${px}"\n${auth}\nremotes: [ { url: "nats-leaf://la:la@127.0.0.1:${py}", account: A } ]`,
      });
      let y: LNode | undefined;
      try {
        y = await startNode(yKind, {
          name: 'Y',
          extra: ACCOUNTS,
          leaf: `listen: "127.0.0.1:${py}"\n${auth}\nremotes: [ { url: "nats-leaf://la:la@127.0.0.1:${px}", account: A } ]`,
        });
        const yy = y;
        await until(() => /Loop detected for leafnode account="A"/.test(x.log() + yy.log()), 8000, 'loop detected for A');
        for (const n of [x, yy]) assert.doesNotMatch(n.log(), /Loop detected for leafnode account="\$G"/, n.kind);
      } finally {
        await y?.stop();
        await x.stop();
      }
    });
  });
}

const WITH_SYS = `no_system_account: false
system_account: SYS
accounts {
  A { users: [ { user: a, password: a } ] }
  SYS { users: [ { user: sys, password: sys } ] }
}`;

const LIMITED = `accounts {
  A { users: [ { user: a, password: a } ], limits: { max_leafnodes: 1 } }
}`;

for (const [hubKind, spokeKind] of PAIRS) {
  const skip = SKIP_NATS && (hubKind !== 'tsnats' || spokeKind !== 'tsnats') ? SKIP_NATS : false;
  describe(`leaf accounts: ${hubKind} hub <- ${spokeKind} spoke, a remote bound to the system account`, { skip }, () => {
    let hub: LNode;
    let spoke: LNode;
    const conns: NatsConnection[] = [];

    before(async () => {
      hub = await startNode(hubKind, {
        name: 'HUB',
        extra: WITH_SYS,
        leaf: 'listen: "127.0.0.1:-1"\nauthorization { users: [ { user: ls, password: ls, account: SYS }, { user: la, password: la, account: A } ] }',
      });
      spoke = await startNode(spokeKind, {
        name: 'SPOKE',
        extra: WITH_SYS,
        leaf: `remotes: [ { url: "nats-leaf://ls:ls@127.0.0.1:${hub.leafPort}", account: SYS }, { url: "nats-leaf://la:la@127.0.0.1:${hub.leafPort}", account: A } ]`,
      });
      await waitLeafs(hub, 2);
      await waitLeafs(spoke, 2);
    });

    after(async () => {
      for (const c of conns) await c.close().catch(() => undefined);
      await spoke?.stop();
      await hub?.stop();
    });

    it('its log lines and denies; SYS traffic stays in SYS', async () => {
      // nats-server 2.9.10 spokes send their server name as cluster name: `SPOKE/SPOKE` then.
      assert.match(hub.log(), /System Account Connected from SPOKE/);
      assert.match(spoke.log(), /System Account Connected from HUB/);
      for (const n of [hub, spoke]) {
        assert.match(n.log(), /JetStream Not Extended, adding denies \[\$JSC\.> \$NRG\.> \$JS\.API\.> \$KV\.> \$OBJ\.>\]/, n.kind);
        assert.match(n.log(), /JetStream Not Extended, adding deny \[\$JS\.API\.> \$KV\.> \$OBJ\.>\] for account "A"/, n.kind);
      }
      const hs = await client(hub, as('sys'));
      const ha = await client(hub, as('a'));
      const ss = await client(spoke, as('sys'));
      conns.push(hs, ha, ss);
      const inSys = hs.subscribe('sysleaf.>');
      const inA = ha.subscribe('sysleaf.>');
      await hs.flush();
      await ha.flush();
      await waitLeafInterest(spoke, 'sysleaf.>');
      ss.publish('sysleaf.x', 'sys');
      await ss.flush();
      assert.deepEqual(await collect(inSys, 1), ['sys']);
      assert.deepEqual(await collect(inA, 1, 300), []);
      assert.equal(((await leafzAcc(hub, 'SYS')).leafs ?? []).length, 1);
    });
  });

  describe(`leaf accounts: ${hubKind} hub <- ${spokeKind} spoke, max_leafnodes`, { skip }, () => {
    let hub: LNode;
    let spoke: LNode;

    before(async () => {
      hub = await startNode(hubKind, {
        name: 'HUB',
        extra: LIMITED,
        leaf: 'listen: "127.0.0.1:-1"\nauthorization { users: [ { user: la, password: la, account: A } ] }',
      });
      spoke = await startNode(spokeKind, { name: 'SPOKE', extra: LIMITED, leaf: `remotes: [ { url: "nats-leaf://la:la@127.0.0.1:${hub.leafPort}", account: A } ]` });
      await waitLeafs(hub, 1);
      await waitLeafs(spoke, 1);
    });

    after(async () => {
      await spoke?.stop();
      await hub?.stop();
    });

    it('the account limit refuses a second leaf in it (Authorization Violation)', async () => {
      const sock = netConnect(hub.leafPort, '127.0.0.1');
      let text = '';
      let closed = false;
      sock.on('data', (d) => (text += d.toString('latin1')));
      sock.on('close', () => (closed = true));
      sock.on('error', () => undefined);
      try {
        await until(() => text.includes('\r\n'), 3000, 'first INFO');
        sock.write('CONNECT {"user":"la","pass":"la","tls_required":false,"name":"RAW2","headers":true}\r\n');
        await until(() => closed || /-ERR/.test(text), 3000, 'refusal');
        assert.match(text, /-ERR 'Authorization Violation'/);
        assert.equal((await leafzAcc(hub, 'A')).leafs?.length, 1);
      } finally {
        sock.destroy();
      }
    });
  });
}

/** A raw leaf CONNECT as `user` on the hub's leaf port: the `remote_account` it is bound to, or the -ERR. */
async function rawLeafConnect(hub: LNode, user: string): Promise<string> {
  const sock = netConnect(hub.leafPort, '127.0.0.1');
  let text = '';
  sock.on('data', (d) => (text += d.toString('latin1')));
  sock.on('error', () => undefined);
  try {
    await until(() => text.includes('\r\n'), 3000, 'first INFO');
    sock.write(`CONNECT {"user":"${user}","pass":"${user}","tls_required":false,"name":"RAW-${user}","headers":true}\r\n`);
    await until(() => /-ERR '[^']*'/.test(text) || /"remote_account":"[^"]*"/.test(text), 3000, 'answer');
    return (/-ERR '[^']*'/.exec(text) ?? /"remote_account":"[^"]*"/.exec(text))![0];
  } finally {
    sock.destroy();
  }
}

for (const kind of ['tsnats', 'nats-server'] as Kind[]) {
  describe(`leaf accounts: ${kind} hub binds by client users and their connection types`, { skip: kind === 'nats-server' && SKIP_NATS ? SKIP_NATS : false }, () => {
    let hub: LNode;
    before(async () => {
      hub = await startNode(kind, {
        name: 'HUB',
        extra: `accounts {
  A { users: [ { user: la, password: la, allowed_connection_types: [LEAFNODE] }, { user: sa, password: sa, allowed_connection_types: [STANDARD] } ] }
  B { users: [ { user: b, password: b } ] }
}
authorization { users: [ { user: g, password: g } ] }`,
        leaf: 'listen: "127.0.0.1:-1"',
      });
    });
    after(async () => {
      await hub?.stop();
    });

    it('a user of A allowed as LEAFNODE binds to A; one allowed only as STANDARD is refused; $G and B users bind to theirs', async () => {
      assert.equal(await rawLeafConnect(hub, 'la'), '"remote_account":"A"');
      assert.equal(await rawLeafConnect(hub, 'sa'), "-ERR 'Authorization Violation'");
      assert.equal(await rawLeafConnect(hub, 'b'), '"remote_account":"B"');
      assert.equal(await rawLeafConnect(hub, 'g'), '"remote_account":"$G"');
      assert.equal(await rawLeafConnect(hub, 'nobody'), "-ERR 'Authorization Violation'");
    });
  });
}

describe('leaf accounts: configuration', () => {
  const cases: Array<[string, string]> = [
    ['leafnodes { remotes: [ { url: "nats-leaf://127.0.0.1:7422", account: NOPE } ] }', 'cannot find local account "NOPE" specified in leafnode remote'],
    ['leafnodes { port: -1, authorization { users: [ { user: l, password: l, account: NOPE } ] } }', 'cannot find local account "NOPE" specified in leafnode authorization'],
    ['leafnodes { port: -1, authorization { user: l, password: l, account: NOPE } }', 'cannot find local account "NOPE" specified in leafnode authorization'],
  ];
  for (const [leaf, want] of cases) {
    it(`refuses an unknown account as nats-server: ${want}`, { skip: SKIP_NATS }, () => {
      const text = `${ACCOUNTS}\n${leaf}\n`;
      let err: unknown;
      try {
        parseConfigText(text, 'o.conf', { env: {} });
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof ConfigError, 'a ConfigError');
      assert.ok(err.errors.some((e) => e.reason === want), err.message);
      const dir = mkdtempSync(join(tmpdir(), 'leafacc-'));
      try {
        writeFileSync(join(dir, 'x.conf'), text);
        const r = spawnSync(NATS_SERVER!, ['-c', join(dir, 'x.conf')], { encoding: 'utf8', timeout: 5000 });
        assert.ok(`${r.stdout}${r.stderr}`.includes(want), `${r.stdout}${r.stderr}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('accepts known accounts, $G and the default $SYS', () => {
    const o = parseConfigText(
      `${ACCOUNTS}\nleafnodes { port: -1, authorization { users: [ { user: l, password: l, account: A }, { user: m, password: m } ] }, remotes: [ { url: "nats://h", account: B }, { url: "nats://i", account: "$SYS" }, { url: "nats://j", local: "$G" } ] }`,
      'o.conf',
      { env: {} },
    ).options.leafnodes!;
    assert.deepEqual(o.users, [{ user: 'l', password: 'l', account: 'A' }, { user: 'm', password: 'm' }]);
    assert.deepEqual(o.remotes.map((r) => r.account), ['B', '$SYS', '$G']);
  });
});

void sleep;
