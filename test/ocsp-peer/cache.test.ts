// The OCSP peer response cache (`ocsp_cache`): hits without responder requests, nextUpdate and
// cache_ttl_when_next_update_unset, preserve_revoked, nats-server's cache.json (S2) across restarts,
// single flight for concurrent handshakes with the same certificate.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { s2Decode, s2Encode } from '../../src/ocsp/s2.js';
import { parseOcspResponse } from '../../src/ocsp/index.js';
import { monitorJson, rawClient, setupPeer, sleep, startPeerServer, type PeerEnv } from './helpers.js';
import type { IssuedCert } from '../../src/testkit/index.js';

let env: PeerEnv;
let n = 0;
const fresh = (opts: Parameters<PeerEnv['pki']['issue']>[1] = {}): Promise<IssuedCert> => env.pki.issue(`k${++n}`, { eku: ['clientAuth'], ...opts });
const HTTP = 'http: "127.0.0.1:-1"';
const serial = (c: IssuedCert): string => c.serialHex.replace(/^0+/, '');

before(async () => {
  env = await setupPeer();
});
after(async () => {
  await env.close();
});

describe('S2 framing of cache.json', () => {
  test('decodes a stream written by klauspost/compress/s2 (compressed chunks, repeat offsets)', () => {
    // Produced by s2.NewWriter (Go) from 40 × "tsnats OCSP peer cache S2 fixture 0123456789 " + "abc"×10 + "-end".
    const fx = '/wYAAFMyc1R3TwBGAACSiNvsqg6wdHNuYXRzIE9DU1AgcGVlciBjYWNoZSBTMiBmaXh0dXJlIDAxMjM0NTY3ODkgES0ZAM8FCGFiY2oDAAwtZW5k';
    const want = 'tsnats OCSP peer cache S2 fixture 0123456789 '.repeat(40) + 'abc'.repeat(10) + '-end';
    assert.equal(s2Decode(Buffer.from(fx, 'base64')).toString(), want);
  });

  test('round trip, and corrupt input throws', () => {
    const data = Buffer.from('an OCSP response, more or less'.repeat(100));
    const enc = s2Encode(data);
    assert.equal(enc.toString('base64').slice(0, 14), '/wYAAFMyc1R3Tw', 'nats-server files start like this');
    assert.deepEqual(s2Decode(enc), data);
    const bad = Buffer.from(enc);
    bad[bad.length - 1] ^= 1;
    assert.throws(() => s2Decode(bad), /checksum/);
    assert.throws(() => s2Decode(enc.subarray(0, 20)), /truncated/);
    assert.throws(() => s2Decode(Buffer.from('not s2 at all')), /s2:/);
  });
});

describe('ocsp_cache', () => {
  test('second connect is answered from the cache; /varz ocsp_peer_cache counts as nats-server', async () => {
    const ts = await startPeerServer(env, 'true', HTTP);
    try {
      env.responder.resetRequests();
      env.intResponder.resetRequests();
      assert.equal((await rawClient(ts.port, env.viaInt, env, { useBundle: true })).admitted, true);
      const afterFirst = env.responder.requests.total + env.intResponder.requests.total;
      assert.equal(afterFirst, 2, 'leaf and intermediate each asked once');
      let c = (await monitorJson(ts.server.monitor.port, '/varz')).ocsp_peer_cache as Record<string, number>;
      assert.deepEqual(c, { cache_type: 'local', cache_misses: 2, cached_responses: 2, cached_good_responses: 2 });
      assert.equal((await rawClient(ts.port, env.viaInt, env, { useBundle: true })).admitted, true);
      assert.equal(env.responder.requests.total + env.intResponder.requests.total, afterFirst, 'no responder request');
      c = (await monitorJson(ts.server.monitor.port, '/varz')).ocsp_peer_cache as Record<string, number>;
      assert.deepEqual(c, { cache_type: 'local', cache_hits: 2, cache_misses: 2, cached_responses: 2, cached_good_responses: 2 });
      const z = (await monitorJson(ts.server.monitor.port, '/ocspz')).peer as Record<string, unknown>;
      assert.deepEqual(z.checks, { admitted: 2, refused: 0, warn_only_admitted: 0 });
      assert.equal(z.responder_requests, 2);
      const m = await (await fetch(`http://127.0.0.1:${ts.server.monitor.port}/metrics`)).text();
      assert.match(m, /tsnats_ocsp_peer_checks_total\{result="admitted"\} 2/);
      assert.match(m, /tsnats_ocsp_peer_cache_lookups_total\{result="hit"\} 2/);
      assert.match(m, /tsnats_ocsp_peer_link_results_total\{outcome="good"\} 4/);
    } finally {
      await ts.stop();
    }
  });

  test('ocsp_cache: false asks the responder every time', async () => {
    const c = await fresh();
    const ts = await startPeerServer(env, 'true', 'ocsp_cache: false');
    try {
      env.responder.resetRequests();
      for (let i = 0; i < 3; i++) assert.equal((await rawClient(ts.port, c, env)).admitted, true);
      assert.equal(env.responder.requests.bySerial[serial(c)], 3);
    } finally {
      await ts.stop();
    }
  });

  test('entries expire at nextUpdate', async () => {
    const c = await fresh();
    env.responder.setValidity({ nextUpdateMs: 2000 });
    const ts = await startPeerServer(env, 'true');
    try {
      env.responder.resetRequests();
      assert.equal((await rawClient(ts.port, c, env)).admitted, true);
      assert.equal((await rawClient(ts.port, c, env)).admitted, true);
      assert.equal(env.responder.requests.bySerial[serial(c)], 1);
      await sleep(2100);
      assert.equal((await rawClient(ts.port, c, env)).admitted, true);
      assert.equal(env.responder.requests.bySerial[serial(c)], 2, 'expired entry: asked again');
    } finally {
      env.responder.setValidity({ nextUpdateMs: 3_600_000 });
      await ts.stop();
    }
  });

  test('without nextUpdate, entries live cache_ttl_when_next_update_unset', async () => {
    const c = await fresh();
    env.responder.setFault('no-next-update');
    let ts = await startPeerServer(env, '{ verify: true, cache_ttl_when_next_update_unset: 2 }');
    try {
      env.responder.resetRequests();
      assert.equal((await rawClient(ts.port, c, env)).admitted, true);
      await sleep(2100);
      assert.equal((await rawClient(ts.port, c, env)).admitted, true);
      assert.equal(env.responder.requests.bySerial[serial(c)], 2);
    } finally {
      await ts.stop();
    }
    const d = await fresh();
    ts = await startPeerServer(env, '{ verify: true }');
    try {
      env.responder.resetRequests();
      assert.equal((await rawClient(ts.port, d, env)).admitted, true);
      await sleep(2100);
      assert.equal((await rawClient(ts.port, d, env)).admitted, true);
      assert.equal(env.responder.requests.bySerial[serial(d)], 1, 'default TTL of 1 h: still cached');
    } finally {
      env.responder.setFault(null);
      await ts.stop();
    }
  });

  test('preserve_revoked: an expired revocation keeps refusing while the responder is down', async () => {
    for (const preserve of [true, false]) {
      const c = await fresh();
      env.responder.setStatus(c.serialHex, 'revoked');
      env.responder.setValidity({ nextUpdateMs: 2000 });
      const ts = await startPeerServer(env, '{ verify: true, ca_timeout: 1, allow_when_ca_unreachable: true }', `ocsp_cache { preserve_revoked: ${preserve} }`);
      try {
        assert.equal((await rawClient(ts.port, c, env)).admitted, false);
        await sleep(2100);
        env.responder.setFault({ type: 'http-status', status: 503 });
        assert.equal((await rawClient(ts.port, c, env)).admitted, false, 'first check after expiry: the cached revocation refuses');
        const second = (await rawClient(ts.port, c, env)).admitted;
        assert.equal(second, !preserve, preserve ? 'preserved: still refused' : 'not preserved: the entry is gone, allowed as unreachable');
        if (preserve) assert.ok(ts.logs.some((l) => l.includes('preserved by cache policy')));
        assert.ok(ts.logs.some((l) => l.includes('cached revocation exists so rejecting')));
      } finally {
        env.responder.setFault(null);
        env.responder.setValidity({ nextUpdateMs: 3_600_000 });
        await ts.stop();
      }
    }
  });

  test('cache.json persists across restart in nats-server format; a restarted server admits with the responder down', async () => {
    const c = await fresh();
    const store = join(env.dir, 'persist');
    mkdirSync(store, { recursive: true });
    const extra = `ocsp_cache { local_store: "${store}" }`;
    let ts = await startPeerServer(env, 'true', extra);
    try {
      assert.equal((await rawClient(ts.port, c, env)).admitted, true);
    } finally {
      await ts.stop();
    }
    const file = join(store, 'cache.json');
    assert.ok(existsSync(file));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { subject: string; cached_at: string; resp_status: string; resp_expires: string; resp: string }>;
    const key = (await import('node:crypto')).createHash('sha256').update(c.der).digest('base64');
    const e = json[key]!;
    assert.ok(e, 'keyed by std base64 SHA-256 of the certificate DER');
    assert.equal(e.resp_status, 'good');
    assert.match(e.cached_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(e.resp, /^\/wYAAFMyc1R3Tw/);
    assert.equal(parseOcspResponse(s2Decode(Buffer.from(e.resp, 'base64'))).responses[0]!.status, 'good');

    env.responder.setFault({ type: 'http-status', status: 503 });
    env.responder.resetRequests();
    ts = await startPeerServer(env, 'true', extra);
    try {
      assert.equal((await rawClient(ts.port, c, env)).admitted, true, 'answered from the file');
      assert.equal(env.responder.requests.total, 0);
    } finally {
      env.responder.setFault(null);
      await ts.stop();
    }
  });

  test('a tampered cache.json entry is re-validated and not trusted', async () => {
    const revoked = await fresh();
    const other = await fresh();
    env.responder.setStatus(revoked.serialHex, 'revoked');
    const store = join(env.dir, 'tamper');
    mkdirSync(store, { recursive: true });
    const extra = `ocsp_cache { local_store: "${store}" }`;
    // Learn a good response for `other`, then file it under the revoked certificate's key.
    let ts = await startPeerServer(env, 'true', extra);
    try {
      assert.equal((await rawClient(ts.port, other, env)).admitted, true);
    } finally {
      await ts.stop();
    }
    const file = join(store, 'cache.json');
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const { createHash } = await import('node:crypto');
    const entry = json[createHash('sha256').update(other.der).digest('base64')];
    json[createHash('sha256').update(revoked.der).digest('base64')] = entry;
    writeFileSync(file, JSON.stringify(json));
    ts = await startPeerServer(env, 'true', extra);
    try {
      assert.equal((await rawClient(ts.port, revoked, env)).admitted, false, 'the good answer for another serial is not used');
      assert.ok(ts.logs.some((l) => l.includes('Invalid cached OCSP response for [')));
    } finally {
      await ts.stop();
    }
    // Garbage file: warned, empty cache, still works.
    writeFileSync(file, '{not json');
    ts = await startPeerServer(env, 'true', extra);
    try {
      assert.equal((await rawClient(ts.port, other, env)).admitted, true);
      assert.ok(ts.logs.some((l) => l.includes('Unable to load OCSP peer cache:')));
    } finally {
      await ts.stop();
    }
  });

  test('save_interval writes the file while running', async () => {
    const c = await fresh();
    const store = join(env.dir, 'interval');
    const ts = await startPeerServer(env, 'true', `ocsp_cache { local_store: "${store}", save_interval: 1 }`);
    try {
      assert.equal((await rawClient(ts.port, c, env)).admitted, true);
      const file = join(store, 'cache.json');
      for (let i = 0; i < 30 && !existsSync(file); i++) await sleep(100);
      assert.ok(existsSync(file) && statSync(file).size > 0);
    } finally {
      await ts.stop();
    }
  });

  // PEER_SINGLE_FLIGHT_N=1000 for the issue's figure (slow on a shared 2-core machine).
  const N = Number(process.env.PEER_SINGLE_FLIGHT_N ?? 200);
  test(`single flight: ${N} concurrent handshakes with one certificate make one responder request`, async () => {
    const c = await fresh();
    env.responder.setFault({ type: 'delay', ms: 400 });
    const ts = await startPeerServer(env, 'true', HTTP);
    try {
      env.responder.resetRequests();
      const t0 = performance.now();
      const results = await Promise.all(Array.from({ length: N }, () => rawClient(ts.port, c, env, { timeoutMs: 60000 })));
      assert.equal(results.filter((r) => r.admitted).length, N);
      console.log(`${N} concurrent mTLS connects with one certificate: ${(performance.now() - t0).toFixed(0)} ms, ${env.responder.requests.bySerial[serial(c)]} responder request(s)`);
      assert.equal(env.responder.requests.bySerial[serial(c)], 1);
      const z = (await monitorJson(ts.server.monitor.port, '/ocspz')).peer as { responder_requests: number; single_flight_joins: number; cache: { cache_hits: number } };
      assert.equal(z.responder_requests, 1);
      // Handshakes finishing while the request is in flight join it; later ones hit the cache.
      assert.ok(z.single_flight_joins >= 1);
      assert.equal(z.single_flight_joins + z.cache.cache_hits, N - 1);
    } finally {
      env.responder.setFault(null);
      await ts.stop();
    }
  });
});
