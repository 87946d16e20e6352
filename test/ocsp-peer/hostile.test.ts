// The hostile responder corpus (test/support/hostile-corpus.ts) replayed against peer checking:
// every case a refusal for stapling (or an authentic revoked/unknown answer) must refuse the peer;
// the tolerated cases admit it. Memory stays bounded (100 MB bodies included).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startResponder } from '../../src/testkit/index.js';
import { HOSTILE_CORPUS, prepareSigners, type CorpusSigners } from '../support/hostile-corpus.js';
import { rawClient, setupPeer, startPeerServer, type PeerEnv, type Ts } from './helpers.js';

let env: PeerEnv;
let signers: CorpusSigners;
let ts: Ts;
before(async () => {
  env = await setupPeer();
  signers = await prepareSigners(env.pki);
  ts = await startPeerServer(env, '{ verify: true, ca_timeout: 1 }', 'ocsp_cache: false');
});
after(async () => {
  await ts?.stop();
  await env.close();
});

test('hostile responders never get a peer admitted that should not be', async () => {
  const rss0 = process.memoryUsage.rss();
  const failures: string[] = [];
  let i = 0;
  for (const c of HOSTILE_CORPUS) {
    const responder = await startResponder();
    responder.setIssuer(env.pki.root);
    try {
      const aia = c.aia === undefined ? responder.url : typeof c.aia === 'string' ? c.aia : c.aia(responder.url);
      const cert = await env.pki.issue(`hostile-${++i}`, { eku: ['clientAuth'], ocspUrls: [aia] });
      await c.arm({ pki: env.pki, signers, responder, cert });
      const r = await rawClient(ts.port, cert, env, { timeoutMs: 15000 });
      const want = c.expect.kind === 'bounded' || c.expect.kind === 'accepted';
      if (r.admitted !== want) failures.push(`${c.id}: admitted=${r.admitted}, expected ${want}`);
      if (!r.secure) failures.push(`${c.id}: TLS handshake did not complete`);
    } finally {
      await responder.close().catch(() => undefined);
    }
  }
  assert.deepEqual(failures, []);
  const grown = (process.memoryUsage.rss() - rss0) / 1048576;
  assert.ok(grown < 200, `RSS grew by ${grown.toFixed(0)} MB`);
  assert.ok(ts.server.isRunning);
});
