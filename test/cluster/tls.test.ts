// Mutual TLS on routes between tsnats and nats-server 2.9.10 (certificates from the testkit PKI).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestPki, type TestPki } from '../../src/testkit/index.js';
import { SKIP_NATS, client, routeUrl, routez, sleep, startNode, until, waitRoutes, type Kind, type Node } from './harness.js';

let pki: TestPki;
let tlsBlock = '';
let otherTls = '';

before(async () => {
  pki = await createTestPki({ ocspUrl: 'http://127.0.0.1:9/' });
  const route = await pki.issue('route', { ocspUrls: [] });
  const other = await pki.issue('other', { issuer: pki.otherRoot, ocspUrls: [] });
  tlsBlock = `tls { cert_file: "${route.certFile}", key_file: "${route.keyFile}", ca_file: "${pki.caFile}", timeout: 2 }`;
  otherTls = `tls { cert_file: "${other.certFile}", key_file: "${other.keyFile}", ca_file: "${pki.otherRoot.certFile}", timeout: 2 }`;
});
after(async () => {
  await pki?.cleanup();
});

describe('TLS routes', () => {
  for (const [ka, kb] of [
    ['tsnats', 'tsnats'],
    ['tsnats', 'nats-server'],
    ['nats-server', 'tsnats'],
  ] as Array<[Kind, Kind]>) {
    it(`${kb} dials ${ka} over mutual TLS; messages cross`, { skip: SKIP_NATS && (ka === 'nats-server' || kb === 'nats-server') ? SKIP_NATS : false }, async () => {
      let a: Node | undefined;
      let b: Node | undefined;
      try {
        a = await startNode(ka, { name: 'A', cluster: tlsBlock });
        b = await startNode(kb, { name: 'B', cluster: tlsBlock, routes: [routeUrl(a)] });
        await waitRoutes([a, b], 1);
        const ca = await client(a);
        const cb = await client(b);
        let got = '';
        cb.subscribe('t', { callback: (_e, m) => void (got = m.string()) });
        await cb.flush();
        await sleep(200);
        ca.publish('t', 'secure');
        await until(() => got === 'secure', 3000, 'message over TLS route');
        await ca.close();
        await cb.close();
      } finally {
        await b?.stop();
        await a?.stop();
      }
    });
  }

  it('a peer whose certificate is from another CA is refused', async () => {
    let a: Node | undefined;
    let b: Node | undefined;
    try {
      a = await startNode('tsnats', { name: 'A', cluster: tlsBlock });
      b = await startNode('tsnats', { name: 'B', cluster: otherTls, routes: [routeUrl(a)] });
      await until(() => /TLS route handshake error/.test(a!.log() + b!.log()), 5000, 'handshake error');
      assert.equal((await routez(a)).num_routes, 0);
    } finally {
      await b?.stop();
      await a?.stop();
    }
  });
});
