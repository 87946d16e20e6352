// Leaf connections INTO an operator-mode hub (tsnats, and nats-server 2.9.10 as the reference):
// spokes (tsnats and nats-server) with a remote `credentials` file. The leaf is bound to the user
// JWT's account (registered through the resolver as a client login): messages flow with the
// hub's users of that account and never reach another account. Refused as nats-server refuses
// them: an unknown account, a user whose `allowed_connection_types` exclude LEAFNODE, an expired
// user JWT, a revoked user (hub log: the debug reason and `authentication error`; the spoke gets
// `-ERR 'Authorization Violation'`). A user JWT that expires while connected closes the leaf.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { credsAuthenticator } from '@nats-io/transport-node';
import { createAccount, createUser } from '@nats-io/nkeys';
import { ConfigError, parseConfigText } from '../../src/config/index.js';
import { client, collect, leafz, NATS_SERVER, SKIP_NATS, sleep, startNode, until, type Kind, type LNode } from '../leafnodes/harness.js';
import { account, memoryConf, nowSec, operator, user } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnats-leaf-hub-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const KINDS: Kind[] = ['tsnats', 'nats-server'];

function credsFile(name: string, creds: Uint8Array): string {
  const f = join(dir, `${name}-${Math.random().toString(36).slice(2)}.creds`);
  writeFileSync(f, creds);
  return f;
}

async function spokeTo(kind: Kind, hub: LNode, name: string, creds: string): Promise<LNode> {
  return startNode(kind, { name, extra: 'debug: true', leaf: `remotes: [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}", credentials: "${creds}" } ]` });
}

describe('leaf connections into an operator-mode hub', { skip: SKIP_NATS }, () => {
  for (const hubKind of KINDS) {
    for (const spokeKind of KINDS) {
      it(`${hubKind} hub, ${spokeKind} spoke: bound to the JWT's account, isolated from others`, { timeout: 30000 }, async () => {
        const op = await operator();
        const a = await account(op.kp, {}, { name: 'A' });
        const b = await account(op.kp, {}, { name: 'B' });
        const leafUser = await user(a.kp, { allowed_connection_types: ['LEAFNODE'] } as never);
        const hubA = await user(a.kp);
        const hubB = await user(b.kp);
        const hub = await startNode(hubKind, { name: 'hub', extra: `${memoryConf(op, [a, b])}\ndebug: true`, leaf: 'listen: "127.0.0.1:-1"' });
        const spoke = await spokeTo(spokeKind, hub, 'spoke', credsFile('leaf', leafUser.creds));
        try {
          await until(async () => (await leafz(hub)).leafnodes === 1, 8000, 'the leaf on the hub');
          assert.equal((await leafz(hub)).leafs![0]!.account, a.pub, 'bound to the user JWT account');
          const ca = await client(hub, { authenticator: credsAuthenticator(hubA.creds) });
          const cb = await client(hub, { authenticator: credsAuthenticator(hubB.creds) });
          const sc = await client(spoke);
          const upA = ca.subscribe('up');
          const upB = cb.subscribe('up');
          const down = sc.subscribe('down');
          await ca.flush();
          await cb.flush();
          await sc.flush();
          await sleep(500); // interest crosses the leaf
          for (let i = 0; i < 3; i++) {
            sc.publish('up', `u${i}`);
            ca.publish('down', `d${i}`);
            cb.publish('down', `x${i}`);
          }
          assert.deepEqual(await collect(upA, 3, 3000), ['u0', 'u1', 'u2']);
          assert.deepEqual(await collect(down, 3, 3000), ['d0', 'd1', 'd2'], 'only account A reaches the spoke');
          assert.deepEqual(await collect(upB, 1, 300), [], 'account B sees nothing from the leaf');
          await ca.close();
          await cb.close();
          await sc.close();
        } finally {
          await spoke.stop();
          await hub.stop();
        }
      });

      it(`${hubKind} hub, ${spokeKind} spoke: bad credentials refused (unknown account, STANDARD only, expired, revoked)`, { timeout: 40000 }, async () => {
        const revokedKp = createUser();
        const op = await operator();
        const a = await account(op.kp, { revocations: { [revokedKp.getPublicKey()]: nowSec() + 60 } } as never, { name: 'A' });
        const cases: Array<{ what: string; creds: Uint8Array; debug: RegExp }> = [
          { what: 'unknown account', creds: (await user(createAccount())).creds, debug: /Account JWT lookup error/ },
          { what: 'STANDARD only', creds: (await user(a.kp, { allowed_connection_types: ['STANDARD'] } as never)).creds, debug: /Connection type not allowed/ },
          { what: 'expired', creds: (await user(a.kp, {}, { exp: nowSec() - 10 })).creds, debug: /User JWT no longer valid/ },
          { what: 'revoked', creds: (await user(a.kp, {}, { kp: revokedKp })).creds, debug: /User authentication revoked/ },
        ];
        const hub = await startNode(hubKind, { name: 'hub', extra: `${memoryConf(op, [a])}\ndebug: true`, leaf: 'listen: "127.0.0.1:-1"' });
        try {
          for (const c of cases) {
            const spoke = await spokeTo(spokeKind, hub, 'spoke', credsFile(c.what.replace(/ /g, '-'), c.creds));
            try {
              await until(() => /authentication error/.test(hub.log()) && c.debug.test(hub.log()), 8000, `${c.what}: hub refusal logged`);
              await until(() => /Authorization Violation/.test(spoke.log()), 8000, `${c.what}: the spoke is told`);
              assert.equal((await leafz(hub)).leafnodes, 0, `${c.what}: no leaf`);
            } finally {
              await spoke.stop();
            }
          }
        } finally {
          await hub.stop();
        }
      });
    }

    it(`${hubKind} hub: an account claim update revoking the leaf's user closes the leaf`, { timeout: 30000 }, async () => {
      const sysKp = createAccount();
      const op = await operator({ system_account: sysKp.getPublicKey() });
      const sys = await account(op.kp, {}, { name: 'SYS', kp: sysKp });
      const a = await account(op.kp, {}, { name: 'A' });
      const u = await user(a.kp);
      const sysUser = await user(sys.kp);
      const hub = await startNode(hubKind, { name: 'hub', extra: `${memoryConf(op, [sys, a])}\ndebug: true`, leaf: 'listen: "127.0.0.1:-1"' });
      const spoke = await startNode('nats-server', {
        name: 'spoke',
        leaf: `remotes: [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}", credentials: "${credsFile('rev', u.creds)}" } ]`,
      });
      try {
        await until(async () => (await leafz(hub)).leafnodes === 1, 8000, 'the leaf on the hub');
        const sc = await client(hub, { authenticator: credsAuthenticator(sysUser.creds) });
        const a2 = await account(op.kp, { revocations: { [u.pub]: nowSec() + 5 } } as never, { name: 'A', kp: a.kp });
        const r = (await sc.request(`$SYS.REQ.ACCOUNT.${a.pub}.CLAIMS.UPDATE`, a2.jwt, { timeout: 3000 })).json<Record<string, unknown>>();
        assert.deepEqual(r.data, { account: a.pub, code: 200, message: 'jwt updated' });
        await until(() => /User Authentication Revoked/.test(spoke.log()), 5000, 'the spoke is told');
        await until(async () => (await leafz(hub)).leafnodes === 0, 5000, 'the leaf is gone');
        await sc.close();
      } finally {
        await spoke.stop();
        await hub.stop();
      }
    });

    it(`${hubKind} hub: over websocket the connection type is LEAFNODE_WS`, { timeout: 30000 }, async () => {
      const op = await operator();
      const a = await account(op.kp, {}, { name: 'A' });
      const wsUser = await user(a.kp, { allowed_connection_types: ['LEAFNODE_WS'] } as never);
      const tcpUser = await user(a.kp, { allowed_connection_types: ['LEAFNODE'] } as never);
      const hub = await startNode(hubKind, {
        name: 'hub',
        extra: `${memoryConf(op, [a])}\ndebug: true\nwebsocket { listen: "127.0.0.1:-1", no_tls: true }`,
        leaf: 'listen: "127.0.0.1:-1"',
      });
      const ws = (f: string): string => `remotes: [ { url: "ws://127.0.0.1:${hub.wsPort}", credentials: "${f}" } ]`;
      const bad = await startNode('nats-server', { name: 'bad', leaf: ws(credsFile('tcp', tcpUser.creds)) });
      try {
        await until(() => /Connection type not allowed/.test(hub.log()), 8000, 'LEAFNODE-only user refused over websocket');
        await until(() => /Authorization Violation/.test(bad.log()), 8000, 'the spoke is told');
      } finally {
        await bad.stop();
      }
      const good = await startNode('nats-server', { name: 'good', leaf: ws(credsFile('ws', wsUser.creds)) });
      try {
        await until(async () => (await leafz(hub)).leafnodes === 1, 8000, 'LEAFNODE_WS user accepted');
        assert.equal((await leafz(hub)).leafs![0]!.account, a.pub);
      } finally {
        await good.stop();
        await hub.stop();
      }
    });

    it(`${hubKind} hub: the account JWT's leaf limit refuses a second leaf (maximum account active connections exceeded)`, { timeout: 30000 }, async () => {
      const op = await operator();
      const a = await account(op.kp, { limits: { leaf: 1 } } as never, { name: 'A' });
      const u = await user(a.kp);
      const hub = await startNode(hubKind, { name: 'hub', extra: `${memoryConf(op, [a])}\ndebug: true`, leaf: 'listen: "127.0.0.1:-1"' });
      const remote = `remotes: [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}", credentials: "${credsFile('lim', u.creds)}" } ]`;
      const first = await startNode('nats-server', { name: 'first', leaf: remote });
      let second: LNode | undefined;
      try {
        await until(async () => (await leafz(hub)).leafnodes === 1, 8000, 'the first leaf');
        second = await startNode('nats-server', { name: 'second', leaf: remote });
        // Not an authorization violation: nats-server's reportErrRegisterAccount for a JWT leaf.
        await until(() => /Leafnode Error 'maximum account active connections exceeded'/.test(second!.log()), 8000, 'the second spoke is refused');
        assert.match(hub.log(), /Leafnode connection closed: Maximum Account Connections Exceeded/);
        assert.equal((await leafz(hub)).leafnodes, 1);
      } finally {
        await second?.stop();
        await first.stop();
        await hub.stop();
      }
    });

    for (const spokeKind of KINDS) {
      it(`${hubKind} hub, ${spokeKind} spoke in operator mode: the remote's account key is resolved and bound`, { timeout: 30000 }, async () => {
        const op = await operator();
        const a = await account(op.kp, {}, { name: 'A' });
        const leafUser = await user(a.kp);
        const hubA = await user(a.kp);
        const spokeA = await user(a.kp);
        const hub = await startNode(hubKind, { name: 'hub', extra: `${memoryConf(op, [a])}\ndebug: true`, leaf: 'listen: "127.0.0.1:-1"' });
        const spoke = await startNode(spokeKind, {
          name: 'spoke',
          extra: memoryConf(op, [a]),
          leaf: `remotes: [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}", account: ${a.pub}, credentials: "${credsFile('opspoke', leafUser.creds)}" } ]`,
        });
        try {
          await until(async () => (await leafz(hub)).leafnodes === 1, 8000, 'the leaf on the hub');
          await until(async () => (await leafz(spoke)).leafs?.[0]?.account === a.pub, 5000, 'the spoke binds the account');
          const hc = await client(hub, { authenticator: credsAuthenticator(hubA.creds) });
          const sc = await client(spoke, { authenticator: credsAuthenticator(spokeA.creds) });
          const up = hc.subscribe('up');
          await hc.flush();
          await sleep(500);
          for (let i = 0; i < 3; i++) sc.publish('up', `u${i}`);
          assert.deepEqual(await collect(up, 3, 3000), ['u0', 'u1', 'u2']);
          await hc.close();
          await sc.close();
        } finally {
          await spoke.stop();
          await hub.stop();
        }
      });
    }

    it(`${hubKind} hub: a leaf whose user JWT expires is closed`, { timeout: 30000 }, async () => {
      const op = await operator();
      const a = await account(op.kp, {}, { name: 'A' });
      const u = await user(a.kp, {}, { exp: nowSec() + 3 });
      const hub = await startNode(hubKind, { name: 'hub', extra: `${memoryConf(op, [a])}\ndebug: true`, leaf: 'listen: "127.0.0.1:-1"' });
      const spoke = await startNode('nats-server', {
        name: 'spoke',
        leaf: `remotes: [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}", credentials: "${credsFile('exp', u.creds)}" } ]`,
      });
      try {
        await until(async () => (await leafz(hub)).leafnodes === 1, 8000, 'the leaf on the hub');
        await until(() => /User Authentication Expired/.test(spoke.log()), 10000, 'the spoke is told');
        await until(() => /Authentication Expired/.test(hub.log()), 3000, 'hub closes the leaf');
      } finally {
        await spoke.stop();
        await hub.stop();
      }
    });
  }
});

describe('leafnodes configuration in operator mode (nats-server validateLeafNode)', () => {
  const cases: Array<[string, (acc: string) => string, string]> = [
    ['leaf users', () => 'leafnodes { port: -1, authorization { users: [ { user: l, password: l } ] } }', 'operator mode does not allow specifying user in leafnode config'],
    ['a remote without an account key', () => 'leafnodes { remotes: [ { url: "nats-leaf://127.0.0.1:7422" } ] }', 'operator mode requires account nkeys in remotes.'],
    ['a remote with an account name', () => 'leafnodes { remotes: [ { url: "nats-leaf://127.0.0.1:7422", account: A } ] }', 'operator mode requires account nkeys in remotes.'],
    ['a leaf authorization account that is not a key', () => 'leafnodes { port: -1, authorization { user: l, password: l, account: A } }', 'operator mode and non account nkeys are incompatible'],
  ];
  for (const [what, leaf, want] of cases) {
    it(`refuses ${what} as nats-server`, { skip: SKIP_NATS, timeout: 15000 }, async () => {
      const op = await operator();
      const a = await account(op.kp, {}, { name: 'A' });
      const text = `${memoryConf(op, [a])}\n${leaf(a.pub)}\n`;
      let err: unknown;
      try {
        parseConfigText(text, 'o.conf', { env: {} });
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof ConfigError, 'a ConfigError');
      assert.ok(err.errors.some((e) => e.reason.startsWith(want)), err.message);
      const d = mkdtempSync(join(tmpdir(), 'leafop-'));
      try {
        writeFileSync(join(d, 'x.conf'), text);
        const r = spawnSync(NATS_SERVER!, ['-c', join(d, 'x.conf')], { encoding: 'utf8', timeout: 5000 });
        assert.ok(`${r.stdout}${r.stderr}`.includes(want), `${r.stdout}${r.stderr}`);
      } finally {
        rmSync(d, { recursive: true, force: true });
      }
    });
  }

  it('accepts remotes bound to account keys and a leaf listener', async () => {
    const op = await operator();
    const a = await account(op.kp, {}, { name: 'A' });
    const o = parseConfigText(`${memoryConf(op, [a])}\nleafnodes { port: -1, remotes: [ { url: "nats-leaf://127.0.0.1:7422", account: ${a.pub} } ] }\n`, 'o.conf', { env: {} }).options;
    assert.equal(o.leafnodes!.remotes[0]!.account, a.pub);
  });
});
