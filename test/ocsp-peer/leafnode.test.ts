// ocsp_peer in the leaf node `tls {}` blocks (nats-server 2.10+): the hub listener checks the
// certificates spokes present (needs `verify: true`), a remote checks the hub's certificate chain
// after the TLS handshake it dials. Real peers: tsnats and nats-server 2.9.10 (as spoke and as hub;
// 2.9.10 has no ocsp_peer, so it is only ever the peer being checked), the testkit PKI and its
// programmable OCSP responder.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfigText } from '../../src/config/index.js';
import type { IssuedCert } from '../../src/testkit/index.js';
import { SKIP_NATS, client, collect, leafz, startNode, until, waitLeafInterest, waitLeafs, type Kind, type LNode } from '../leafnodes/harness.js';
import { setupPeer, sleep, type PeerEnv } from './helpers.js';

let env: PeerEnv;
let n = 0;
const issue = (o: Parameters<PeerEnv['pki']['issue']>[1] = {}): Promise<IssuedCert> => env.pki.issue(`leafpeer${++n}`, o);
const tlsOf = (c: IssuedCert, more = ''): string =>
  `tls { cert_file: "${c.certFile}", key_file: "${c.keyFile}", ca_file: "${env.pki.caFile}", timeout: 2${more ? `, ${more}` : ''} }`;
// No response cache on disk (the default local store is relative to the working directory).
const NO_CACHE = 'ocsp_cache: false';

before(async () => {
  env = await setupPeer();
});
after(async () => {
  await env.close();
});

async function hubWithPeer(hubCert: IssuedCert, peer: string): Promise<LNode> {
  return startNode('tsnats', { name: 'HUB', extra: NO_CACHE, leaf: `listen: "127.0.0.1:-1"\n${tlsOf(hubCert, `verify: true, ocsp_peer: ${peer}`)}` });
}
function spokeOf(kind: Kind, hub: LNode, cert: IssuedCert, more = ''): Promise<LNode> {
  return startNode(kind, {
    name: 'SPOKE',
    extra: kind === 'tsnats' ? NO_CACHE : '',
    leaf: `reconnect: 1\nremotes: [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}", ${tlsOf(cert, more)} } ]`,
  });
}

/** A message published on `from` reaches a subscriber on `to` (interest propagated first). */
async function crosses(from: LNode, to: LNode, interestOn: LNode, subject: string): Promise<void> {
  const fc = await client(from);
  const tc = await client(to);
  try {
    const sub = tc.subscribe(subject);
    await tc.flush();
    await waitLeafInterest(interestOn, subject);
    fc.publish(subject, 'hello');
    assert.deepEqual(await collect(sub, 1), ['hello']);
  } finally {
    await fc.close();
    await tc.close();
  }
}

describe('ocsp_peer on the leaf hub listener (spokes\' certificates)', { skip: SKIP_NATS }, () => {
  for (const kind of ['tsnats', 'nats-server'] as Kind[]) {
    test(`${kind} spoke with a good certificate is admitted, messages flow; revoked is refused`, async () => {
      const hubCert = await issue();
      const good = await issue({ eku: ['clientAuth', 'serverAuth'] });
      const revoked = await issue({ eku: ['clientAuth', 'serverAuth'] });
      env.responder.setStatus(revoked.serialHex, 'revoked');
      const hub = await hubWithPeer(hubCert, 'true');
      let spoke: LNode | undefined;
      try {
        spoke = await spokeOf(kind, hub, good);
        await waitLeafs(hub, 1);
        await crosses(hub, spoke, hub, 'peer.good');
        const v = (await (await fetch(`${hub.monitor}/varz`)).json()) as { leaf: Record<string, unknown> };
        assert.equal(v.leaf.tls_ocsp_peer_verify, true);
        assert.equal(v.leaf.tls_verify, true);
        await spoke.stop();
        spoke = undefined;
        await waitLeafs(hub, 0);

        spoke = await spokeOf(kind, hub, revoked);
        await until(() => /TLS leafnode handshake error: client not OCSP valid/.test(hub.log()), 6000, 'refusal');
        // It retries (reconnect 1 s) and is refused each time; never registered.
        await until(() => (hub.log().match(/client not OCSP valid/g) ?? []).length >= 2, 6000, 'second refusal');
        assert.equal((await leafz(hub)).leafnodes, 0);
        const hc = await client(hub);
        const sc = await client(spoke);
        const got: string[] = [];
        const sub = sc.subscribe('peer.leak', { callback: (_e, m) => void got.push(m.string()) });
        await sc.flush();
        hc.publish('peer.leak', 'secret');
        await hc.flush();
        await sleep(300);
        assert.deepEqual(got, [], 'no message crosses to a refused spoke');
        sub.unsubscribe();
        await hc.close();
        await sc.close();
      } finally {
        await spoke?.stop();
        await hub.stop();
      }
    });
  }

  test('responder down: refused without allow_when_ca_unreachable, admitted with it', async () => {
    const hubCert = await issue();
    // AIA to a closed port: no responder answers.
    const unreachable = await issue({ ocspUrls: ['http://127.0.0.1:9/'] });
    for (const [peer, admitted] of [
      ['{ verify: true, ca_timeout: 0.5 }', false],
      ['{ verify: true, ca_timeout: 0.5, allow_when_ca_unreachable: true }', true],
    ] as Array<[string, boolean]>) {
      const hub = await hubWithPeer(hubCert, peer);
      let spoke: LNode | undefined;
      try {
        spoke = await spokeOf('tsnats', hub, unreachable);
        if (admitted) {
          await waitLeafs(hub, 1);
          await crosses(spoke, hub, spoke, 'peer.down');
        } else {
          await until(() => /client not OCSP valid/.test(hub.log()), 6000, 'refusal');
          assert.equal((await leafz(hub)).leafnodes, 0);
        }
      } finally {
        await spoke?.stop();
        await hub.stop();
      }
    }
  });

  test('a connected spoke whose certificate becomes revoked is closed by the re-check', async () => {
    env.responder.setValidity({ nextUpdateMs: 2000 });
    const hubCert = await issue();
    const c = await issue();
    const hub = await hubWithPeer(hubCert, 'true');
    let spoke: LNode | undefined;
    try {
      spoke = await spokeOf('tsnats', hub, c);
      await waitLeafs(hub, 1);
      const gate = hub.ts!.server.ocspPeer!;
      assert.equal(await gate.recheck(), 0, 'still good');
      env.responder.setStatus(c.serialHex, 'revoked');
      await sleep(2100);
      assert.equal(await gate.recheck(), 1);
      assert.match(hub.log(), /is now revoked: closing connection/);
      assert.match(hub.log(), /Leafnode connection closed: Credentials Revoked/);
      await until(() => /client not OCSP valid/.test(hub.log()), 6000, 'the reconnect is refused');
      assert.equal((await leafz(hub)).leafnodes, 0);
    } finally {
      env.responder.setValidity({ nextUpdateMs: 3_600_000 });
      await spoke?.stop();
      await hub.stop();
    }
  });
});

describe('ocsp_peer on a leaf remote (the hub\'s certificate)', { skip: SKIP_NATS }, () => {
  for (const kind of ['tsnats', 'nats-server'] as Kind[]) {
    test(`${kind} hub: revoked certificate refused by the tsnats spoke, good admitted`, async () => {
      const goodHub = await issue();
      const revokedHub = await issue();
      env.responder.setStatus(revokedHub.serialHex, 'revoked');
      const spokeCert = await issue();
      for (const [hubCert, ok] of [
        [revokedHub, false],
        [goodHub, true],
      ] as Array<[IssuedCert, boolean]>) {
        const hub = await startNode(kind, { name: 'HUB', leaf: `listen: "127.0.0.1:-1"\n${tlsOf(hubCert)}` });
        let spoke: LNode | undefined;
        try {
          spoke = await spokeOf('tsnats', hub, spokeCert, 'ocsp_peer: true');
          if (ok) {
            await waitLeafs(spoke, 1);
            await crosses(spoke, hub, spoke, 'peer.remote');
            const v = (await (await fetch(`${spoke.monitor}/varz`)).json()) as { leaf: { remotes: Array<Record<string, unknown>> } };
            assert.equal(v.leaf.remotes[0]!.tls_ocsp_peer_verify, true);
          } else {
            await until(() => /TLS leafnode handshake error: server not OCSP valid/.test(spoke!.log()), 6000, 'refusal');
            // Retried with the reconnect interval, refused each time; no CONNECT reached the hub.
            await until(() => (spoke!.log().match(/server not OCSP valid/g) ?? []).length >= 2, 6000, 'retry');
            assert.equal((await leafz(spoke)).leafnodes, 0);
            assert.equal((await leafz(hub)).leafnodes, 0);
          }
        } finally {
          await spoke?.stop();
          await hub.stop();
        }
      }
    });
  }
});

describe('ocsp_peer on a leaf remote dialling wss://', { skip: SKIP_NATS }, () => {
  for (const kind of ['tsnats', 'nats-server'] as Kind[]) {
    test(`${kind} hub on wss: revoked certificate refused after the upgrade, good admitted`, async () => {
      const goodHub = await issue();
      const revokedHub = await issue();
      env.responder.setStatus(revokedHub.serialHex, 'revoked');
      for (const [hubCert, ok] of [
        [revokedHub, false],
        [goodHub, true],
      ] as Array<[IssuedCert, boolean]>) {
        const hub = await startNode(kind, {
          name: 'HUB',
          leaf: 'listen: "127.0.0.1:-1"',
          extra: `websocket { listen: "127.0.0.1:-1", tls { cert_file: "${hubCert.certFile}", key_file: "${hubCert.keyFile}" } }`,
        });
        let spoke: LNode | undefined;
        try {
          spoke = await startNode('tsnats', {
            name: 'SPOKE',
            extra: NO_CACHE,
            leaf: `reconnect: 1\nremotes: [ { url: "wss://127.0.0.1:${hub.wsPort}", tls { ca_file: "${env.pki.caFile}", ocsp_peer: true } } ]`,
          });
          if (ok) {
            await waitLeafs(spoke, 1, 8000);
            await crosses(spoke, hub, spoke, 'peer.wss');
          } else {
            await until(() => /TLS leafnode handshake error: server not OCSP valid/.test(spoke!.log()), 6000, 'refusal');
            await until(() => (spoke!.log().match(/server not OCSP valid/g) ?? []).length >= 2, 6000, 'retry');
            assert.equal((await leafz(hub)).leafnodes, 0);
          }
        } finally {
          await spoke?.stop();
          await hub.stop();
        }
      }
    });
  }
});

describe('ocsp_peer in leaf tls blocks: configuration', () => {
  const parse = (text: string) => parseConfigText(text, 'p.conf', { checkFiles: false });
  test('the hub listener needs verify: true (file:line:col); a remote needs nothing', () => {
    let err: unknown;
    try {
      parse('leafnodes {\n  port: 7422\n  tls {\n    cert_file: c\n    key_file: k\n    ocsp_peer: true\n  }\n}\n');
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.message, 'p.conf:6:5: OCSP peer verification for client connections requires TLS verify (mTLS) to be enabled');
    const hub = parse('leafnodes {\n  port: 7422\n  tls {\n    cert_file: c\n    key_file: k\n    verify: true\n    ocsp_peer { verify: true, ca_timeout: 0.5 }\n  }\n}\n');
    assert.equal(hub.options.leafnodes!.tls?.ocspPeer?.caTimeoutMs, 500);
    const remote = parse('leafnodes {\n  remotes: [ { url: "nats-leaf://127.0.0.1:7422", tls { ocsp_peer: true } } ]\n}\n');
    assert.equal(remote.options.leafnodes!.remotes[0]!.tls?.ocspPeer?.verify, true);
  });
});
