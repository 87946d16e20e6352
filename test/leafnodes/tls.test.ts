// Leaf connections over TLS between tsnats and nats-server 2.9.10 (testkit PKI): the hub sends its
// INFO in clear, then the TLS handshake; the spoke verifies the hub's certificate with `ca_file`.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestPki, type TestPki } from '../../src/testkit/index.js';
import { SKIP_NATS, client, collect, leafz, startNode, until, waitLeafInterest, waitLeafs, type Kind, type LNode } from './harness.js';

let pki: TestPki;
let hubTls = '';
let spokeTls = '';
let otherCa = '';

before(async () => {
  pki = await createTestPki({ ocspUrl: 'http://127.0.0.1:9/' });
  const hub = await pki.issue('leafhub', { ocspUrls: [] });
  const spoke = await pki.issue('leafspoke', { ocspUrls: [] });
  hubTls = `tls { cert_file: "${hub.certFile}", key_file: "${hub.keyFile}", ca_file: "${pki.caFile}", timeout: 2 }`;
  spokeTls = `tls { cert_file: "${spoke.certFile}", key_file: "${spoke.keyFile}", ca_file: "${pki.caFile}", timeout: 2 }`;
  otherCa = `tls { ca_file: "${pki.otherRoot.certFile}", timeout: 2 }`;
});
after(async () => {
  await pki?.cleanup();
});

describe('leaf: TLS', { skip: SKIP_NATS }, () => {
  for (const [hubKind, spokeKind] of [
    ['tsnats', 'nats-server'],
    ['nats-server', 'tsnats'],
    ['tsnats', 'tsnats'],
  ] as Array<[Kind, Kind]>) {
    it(`${spokeKind} spoke -> ${hubKind} hub over TLS; messages cross`, async () => {
      let hub: LNode | undefined;
      let spoke: LNode | undefined;
      try {
        hub = await startNode(hubKind, { name: 'HUB', leaf: `listen: "127.0.0.1:-1"\n${hubTls}` });
        spoke = await startNode(spokeKind, { name: 'SPOKE', leaf: `remotes: [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}", ${spokeTls} } ]` });
        await waitLeafs(hub, 1);
        const hc = await client(hub);
        const sc = await client(spoke);
        const sub = sc.subscribe('sec');
        await sc.flush();
        await waitLeafInterest(hub, 'sec');
        hc.publish('sec', 'over-tls');
        assert.deepEqual(await collect(sub, 1), ['over-tls']);
        const v = (await (await fetch(`${hub.monitor}/varz`)).json()) as { leaf: { tls_required?: boolean } };
        assert.equal(v.leaf.tls_required, true);
        await hc.close();
        await sc.close();
      } finally {
        await spoke?.stop();
        await hub?.stop();
      }
    });
  }

  for (const spokeKind of ['tsnats', 'nats-server'] as Kind[]) {
    it(`a ${spokeKind} spoke that does not trust the hub's CA is refused`, async () => {
      let hub: LNode | undefined;
      let spoke: LNode | undefined;
      try {
        hub = await startNode('tsnats', { name: 'HUB', leaf: `listen: "127.0.0.1:-1"\n${hubTls}` });
        spoke = await startNode(spokeKind, { name: 'SPOKE', leaf: `remotes: [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}", ${otherCa} } ]` });
        await until(() => /TLS leafnode handshake error|handshake error/.test(hub!.log() + spoke!.log()), 5000, 'handshake error');
        assert.equal((await leafz(hub)).leafnodes, 0);
      } finally {
        await spoke?.stop();
        await hub?.stop();
      }
    });
  }
});
