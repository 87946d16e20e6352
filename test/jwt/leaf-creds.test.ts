// A leaf node remote with `credentials` (a .creds file) joining a nats-server 2.9.10 hub in
// operator mode — how a leaf joins a hosted NATS system: the spoke (tsnats, and nats-server as
// the reference) signs the hub's nonce with the seed and sends the user JWT; messages flow between
// the spoke's clients and the hub's users of that account, both ways. A creds file of an unknown
// account is refused by the hub (no leaf).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { credsAuthenticator } from '@nats-io/transport-node';
import { createAccount } from '@nats-io/nkeys';
import { client, collect, leafz, SKIP_NATS, sleep, startNode, until, type Kind } from '../leafnodes/harness.js';
import { account, memoryConf, operator, user } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'tsnats-leaf-creds-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('leaf remote credentials to an operator-mode nats-server hub', { skip: SKIP_NATS }, () => {
  for (const spokeKind of ['tsnats', 'nats-server'] as Kind[]) {
    it(`${spokeKind} spoke: messages flow both ways; an unknown account's creds are refused`, { timeout: 30000 }, async () => {
      const op = await operator();
      const a = await account(op.kp);
      const leafUser = await user(a.kp);
      const hubUser = await user(a.kp);
      const stranger = await user(createAccount());
      const good = join(dir, `${spokeKind}-leaf.creds`);
      const bad = join(dir, `${spokeKind}-stranger.creds`);
      writeFileSync(good, leafUser.creds);
      writeFileSync(bad, stranger.creds);
      const hub = await startNode('nats-server', { name: 'hub', extra: memoryConf(op, [a]), leaf: 'listen: "127.0.0.1:-1"' });
      const spoke = await startNode(spokeKind, { name: 'spoke', leaf: `remotes: [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}", credentials: "${good}" } ]` });
      const spoke2 = await startNode(spokeKind, { name: 'spoke2', leaf: `remotes: [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}", credentials: "${bad}" } ]` });
      try {
        await until(async () => (await leafz(hub)).leafnodes === 1, 8000, 'the leaf on the hub');
        const hc = await client(hub, { authenticator: credsAuthenticator(hubUser.creds) });
        const sc = await client(spoke);
        const toHub = hc.subscribe('up');
        const toSpoke = sc.subscribe('down');
        await hc.flush();
        await sc.flush();
        await sleep(500); // interest crosses the leaf
        for (let i = 0; i < 3; i++) {
          sc.publish('up', `u${i}`);
          hc.publish('down', `d${i}`);
        }
        assert.deepEqual(await collect(toHub, 3, 3000), ['u0', 'u1', 'u2']);
        assert.deepEqual(await collect(toSpoke, 3, 3000), ['d0', 'd1', 'd2']);
        await hc.close();
        await sc.close();
        await sleep(500);
        assert.equal((await leafz(hub)).leafnodes, 1, 'the stranger spoke is not connected');
      } finally {
        await spoke2.stop();
        await spoke.stop();
        await hub.stop();
      }
    });
  }
});
