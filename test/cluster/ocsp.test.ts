// OCSP stapling on route TLS between tsnats and nats-server 2.9.10: tsnats staples on accepted
// routes and verifies the staple of the peers it dials (a revoked peer is refused).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestPki, startResponder, type IssuedCert, type TestPki, type TestResponder } from '../../src/testkit/index.js';
import { SKIP_NATS, client, routeUrl, routez, sleep, startNode, until, waitRoutes, type Kind, type Node } from './harness.js';

let pki: TestPki;
let responder: TestResponder;
let good: IssuedCert;
let good2: IssuedCert;
let revoked: IssuedCert;

before(async () => {
  responder = await startResponder();
  pki = await createTestPki({ ocspUrl: responder.url });
  responder.setIssuer(pki.root, pki.responder);
  good = await pki.issue('route-good', { mustStaple: true });
  good2 = await pki.issue('route-good2', { mustStaple: true });
  revoked = await pki.issue('route-revoked', { mustStaple: true });
  responder.setStatus(revoked.serialHex, 'revoked');
});
after(async () => {
  await responder?.close();
  await pki?.cleanup();
});

function tlsBlock(c: IssuedCert): string {
  return `tls { cert_file: "${c.certFile}", key_file: "${c.keyFile}", ca_file: "${pki.caFile}", timeout: 2 }`;
}

async function crosses(a: Node, b: Node): Promise<void> {
  const ca = await client(a);
  const cb = await client(b);
  let got = '';
  cb.subscribe('o', { callback: (_e, m) => void (got = m.string()) });
  await cb.flush();
  await sleep(200);
  ca.publish('o', 'stapled');
  await until(() => got === 'stapled', 3000, 'message over the stapled route');
  await ca.close();
  await cb.close();
}

describe('OCSP staples on routes (mode must, Must-Staple certificates)', () => {
  for (const kb of ['tsnats', 'nats-server'] as Kind[]) {
    it(`${kb} dials tsnats: tsnats staples, the dialer verifies; messages cross`, { skip: SKIP_NATS && kb === 'nats-server' ? SKIP_NATS : false }, async () => {
      let a: Node | undefined;
      let b: Node | undefined;
      try {
        a = await startNode('tsnats', { name: 'A', cluster: tlsBlock(good), extra: 'ocsp { mode: must }' });
        assert.match(a.log(), /OCSP Stapling enabled for Router connections/);
        b = await startNode(kb, { name: 'B', cluster: tlsBlock(good2), extra: 'ocsp { mode: must }' + '\n', routes: [routeUrl(a)] });
        await waitRoutes([a, b], 1);
        await crosses(a, b);
        assert.doesNotMatch(b.log(), /handshake error/);
      } finally {
        await b?.stop();
        await a?.stop();
      }
    });
  }

  for (const kb of ['tsnats', 'nats-server'] as Kind[]) {
    it(`${kb} refuses a tsnats peer that staples a revoked status`, { skip: SKIP_NATS && kb === 'nats-server' ? SKIP_NATS : false }, async () => {
      let a: Node | undefined;
      let b: Node | undefined;
      try {
        // auto + Must-Staple: stapled, but a revoked status does not stop the server.
        a = await startNode('tsnats', { name: 'A', cluster: tlsBlock(revoked), extra: 'ocsp { mode: auto }' });
        b = await startNode(kb, { name: 'B', cluster: tlsBlock(good2), extra: 'ocsp { mode: must }', routes: [routeUrl(a)] });
        await until(() => /TLS route handshake error: .*bad status for OCSP Staple from Router client: revoked/.test(b!.log()), 6000, 'revoked staple refused');
        assert.equal((await routez(b)).num_routes, 0);
        assert.equal((await routez(a)).num_routes, 0);
      } finally {
        await b?.stop();
        await a?.stop();
      }
    });
  }

  it('tsnats refuses a nats-server peer that staples a revoked status', { skip: SKIP_NATS }, async () => {
    let a: Node | undefined;
    let b: Node | undefined;
    try {
      a = await startNode('nats-server', { name: 'A', cluster: tlsBlock(revoked), extra: 'ocsp { mode: auto }' });
      b = await startNode('tsnats', { name: 'B', cluster: tlsBlock(good2), extra: 'ocsp { mode: must }', routes: [routeUrl(a)] });
      await until(() => /TLS route handshake error: bad status for OCSP Staple from Router client: revoked/.test(b!.log()), 6000, 'revoked staple refused');
      assert.equal((await routez(b)).num_routes, 0);
    } finally {
      await b?.stop();
      await a?.stop();
    }
  });

  it('knowingly differs: nats-server in must mode refuses tsnats as a dialer (Node cannot send a client staple)', { skip: SKIP_NATS }, async () => {
    let a: Node | undefined;
    let b: Node | undefined;
    try {
      a = await startNode('nats-server', { name: 'A', cluster: tlsBlock(good), extra: 'ocsp { mode: must }' });
      b = await startNode('tsnats', { name: 'B', cluster: tlsBlock(good2), extra: 'ocsp { mode: must }', routes: [routeUrl(a)] });
      await until(() => /Router client missing OCSP Staple/.test(a!.log()), 6000, 'nats-server wants a client staple');
    } finally {
      await b?.stop();
      await a?.stop();
    }
  });
});
