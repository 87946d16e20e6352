// The OCSP peer advisories (nats-server 2.10's `$SYS.SERVER.<id>.OCSP.PEER.CONN.REJECT` and
// `.LINK.INVALID`): a client certificate revoked at the responder is refused, and a system account
// user watching `$SYS.>` (itself admitted with a good certificate) sees the failing link and the
// rejected peer, with nats-server's field names and reasons. nats-server 2.9.10 has no `ocsp_peer`,
// so the shapes are checked against the reference (../shared/reference/nats-ocsp-behavior.md §7.5).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createHash } from 'node:crypto';
import { connect as natsConnect } from '@nats-io/transport-node';
import { natsClient, setupPeer, startPeerServer, type PeerEnv } from '../ocsp-peer/helpers.js';
import { sleep } from './helpers.js';

let env: PeerEnv;
before(async () => {
  env = await setupPeer();
});
after(async () => {
  await env?.close();
});

const SYS = `accounts {
  SYS { users: [{user: sys, password: x}] }
  A { users: [{user: a, password: a}] }
}
system_account: SYS
no_auth_user: a
`;

describe('OCSP peer advisories in the system account', () => {
  test('revoked client: LINK.INVALID (the link, the peer, the reason) then CONN.REJECT (kind Client, "client not OCSP valid")', async () => {
    const revoked = await env.pki.issue('adv-revoked', { eku: ['clientAuth'], subject: 'CN=adv-revoked, O=tsnats testkit' });
    env.responder.setStatus(revoked.serialHex, 'revoked');
    const ts = await startPeerServer(env, 'true', SYS);
    try {
      const sys = await natsConnect({
        servers: `127.0.0.1:${ts.port}`,
        user: 'sys',
        pass: 'x',
        tls: { certFile: env.good.certFile, keyFile: env.good.keyFile, caFile: env.pki.caFile },
        reconnect: false,
      });
      const seen: Array<{ subject: string; json: Record<string, unknown> }> = [];
      const sub = sys.subscribe('$SYS.SERVER.*.OCSP.PEER.>');
      void (async () => {
        for await (const m of sub) seen.push({ subject: m.subject, json: m.json() });
      })();
      await sys.flush();
      const nc = await natsClient(ts.port, revoked, env);
      assert.ok(nc instanceof Error, 'the revoked client is refused');
      for (let i = 0; i < 100 && seen.length < 2; i++) await sleep(20);
      const id = ts.server.serverId;
      assert.deepEqual(
        seen.map((m) => m.subject),
        [`$SYS.SERVER.${id}.OCSP.PEER.LINK.INVALID`, `$SYS.SERVER.${id}.OCSP.PEER.CONN.REJECT`],
      );
      const [link, rej] = [seen[0]!.json, seen[1]!.json];
      assert.deepEqual(Object.keys(link), ['type', 'id', 'timestamp', 'link', 'peer', 'server', 'reason']);
      assert.deepEqual(Object.keys(rej), ['type', 'id', 'timestamp', 'kind', 'peer', 'server', 'reason']);
      assert.equal(link.type, 'io.nats.server.advisory.v1.ocsp_peer_link_invalid');
      assert.equal(rej.type, 'io.nats.server.advisory.v1.ocsp_peer_reject');
      assert.equal(link.reason, 'Invalid OCSP response status: revoked');
      assert.equal(rej.reason, 'client not OCSP valid');
      assert.equal(rej.kind, 'Client');
      const peer = rej.peer as Record<string, string>;
      assert.deepEqual(Object.keys(peer), ['subject', 'issuer', 'fingerprint', 'raw']);
      assert.equal(peer.subject, 'O=tsnats testkit,CN=adv-revoked');
      assert.equal(peer.raw, revoked.der.toString('base64'));
      assert.equal(peer.fingerprint, createHash('sha256').update(revoked.der).digest('base64'));
      assert.ok(peer.issuer.length > 0);
      assert.deepEqual(link.peer, rej.peer, 'the leaf is the failing link');
      assert.deepEqual(link.link, rej.peer);
      assert.equal((rej.server as { id: string }).id, id);
      await sys.close();
    } finally {
      await ts.stop();
    }
  });

  test('good client and warn_only: no advisory', async () => {
    const revoked = await env.pki.issue('adv-warn', { eku: ['clientAuth'] });
    env.responder.setStatus(revoked.serialHex, 'revoked');
    const ts = await startPeerServer(env, '{ verify: true, warn_only: true }', SYS);
    try {
      const sys = await natsConnect({
        servers: `127.0.0.1:${ts.port}`,
        user: 'sys',
        pass: 'x',
        tls: { certFile: env.good.certFile, keyFile: env.good.keyFile, caFile: env.pki.caFile },
        reconnect: false,
      });
      const seen: string[] = [];
      const sub = sys.subscribe('$SYS.SERVER.*.OCSP.PEER.>');
      void (async () => {
        for await (const m of sub) seen.push(m.subject);
      })();
      await sys.flush();
      const nc = await natsClient(ts.port, revoked, env);
      assert.ok(!(nc instanceof Error), 'warn_only admits');
      await nc.close();
      await sleep(200);
      assert.deepEqual(seen, []);
      await sys.close();
    } finally {
      await ts.stop();
    }
  });
});
