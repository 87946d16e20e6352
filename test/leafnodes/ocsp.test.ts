// OCSP stapling on leaf TLS as nats-server 2.9.10: a tsnats hub staples on accepted leaf
// connections (a nats-server spoke in mode `must` verifies it), a tsnats spoke whose certificate is
// stapled requires a good staple from its hub (a revoked hub is refused).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestPki, startResponder, type IssuedCert, type TestPki, type TestResponder } from '../../src/testkit/index.js';
import { SKIP_NATS, client, collect, leafz, startNode, until, waitLeafInterest, waitLeafs, type LNode } from './harness.js';

let pki: TestPki;
let responder: TestResponder;
let good: IssuedCert;
let good2: IssuedCert;
let revoked: IssuedCert;

before(async () => {
  responder = await startResponder();
  pki = await createTestPki({ ocspUrl: responder.url });
  responder.setIssuer(pki.root, pki.responder);
  good = await pki.issue('leaf-good', { mustStaple: true });
  good2 = await pki.issue('leaf-good2', { mustStaple: true });
  revoked = await pki.issue('leaf-revoked', { mustStaple: true });
  responder.setStatus(revoked.serialHex, 'revoked');
});
after(async () => {
  await responder?.close();
  await pki?.cleanup();
});

function tlsBlock(c: IssuedCert): string {
  return `tls { cert_file: "${c.certFile}", key_file: "${c.keyFile}", ca_file: "${pki.caFile}", timeout: 2 }`;
}

describe('leaf: OCSP stapling (Must-Staple certificates)', () => {
  it('nats-server spoke (mode must) accepts the staple of a tsnats hub; messages cross', { skip: SKIP_NATS }, async () => {
    let hub: LNode | undefined;
    let spoke: LNode | undefined;
    try {
      hub = await startNode('tsnats', { name: 'HUB', leaf: `listen: "127.0.0.1:-1"\n${tlsBlock(good)}`, extra: 'ocsp { mode: must }' });
      assert.match(hub.log(), /OCSP Stapling enabled for Leafnode connections/);
      const oz = (await (await fetch(`${hub.monitor}/ocspz?listener=leafnode`)).json()) as { num_certificates: number; certificates?: Array<{ listeners: string[] }> };
      assert.equal(oz.num_certificates, 1);
      spoke = await startNode('nats-server', {
        name: 'SPOKE',
        leaf: `remotes: [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}", ${tlsBlock(good2)} } ]`,
        extra: 'ocsp { mode: must }',
      });
      await waitLeafs(hub, 1, 8000);
      const hc = await client(hub);
      const sc = await client(spoke);
      const sub = sc.subscribe('o');
      await sc.flush();
      await waitLeafInterest(hub, 'o');
      hc.publish('o', 'stapled');
      assert.deepEqual(await collect(sub, 1), ['stapled']);
      assert.doesNotMatch(spoke.log(), /handshake error/);
      await hc.close();
      await sc.close();
    } finally {
      await spoke?.stop();
      await hub?.stop();
    }
  });

  it('tsnats spoke with a stapled certificate verifies the hub staple: good accepted, revoked refused', async () => {
    let hub: LNode | undefined;
    let bad: LNode | undefined;
    let spoke: LNode | undefined;
    try {
      hub = await startNode('tsnats', { name: 'HUB', leaf: `listen: "127.0.0.1:-1"\n${tlsBlock(good)}`, extra: 'ocsp { mode: must }' });
      spoke = await startNode('tsnats', {
        name: 'SPOKE',
        leaf: `remotes: [ { url: "nats-leaf://127.0.0.1:${hub.leafPort}", ${tlsBlock(good2)} } ]`,
        extra: 'ocsp { mode: must }',
      });
      await waitLeafs(hub, 1, 8000);
      // auto + Must-Staple: the hub staples its revoked status (and keeps running).
      bad = await startNode('tsnats', { name: 'BAD', leaf: `listen: "127.0.0.1:-1"\n${tlsBlock(revoked)}`, extra: 'ocsp { mode: auto }' });
      const s2 = await startNode('tsnats', {
        name: 'S2',
        leaf: `remotes: [ { url: "nats-leaf://127.0.0.1:${bad.leafPort}", ${tlsBlock(good2)} } ]`,
        extra: 'ocsp { mode: must }',
      });
      try {
        await until(() => /TLS leafnode handshake error: .*bad status for OCSP Staple from Leafnode server: revoked/.test(s2.log()), 6000, 'revoked staple refused');
        assert.equal((await leafz(s2)).leafnodes, 0);
      } finally {
        await s2.stop();
      }
    } finally {
      await spoke?.stop();
      await bad?.stop();
      await hub?.stop();
    }
  });
});
