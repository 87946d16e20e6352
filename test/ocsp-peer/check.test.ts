// ocsp_peer: which client certificates get a NATS session. Real TLS clients (raw node:tls after the
// plaintext INFO, and the official nats.js client) against tsnats with a programmable responder.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setupPeer, startPeerServer, rawClient, natsClient, sleep, type PeerEnv } from './helpers.js';
import type { IssuedCert } from '../../src/testkit/index.js';

let env: PeerEnv;
let n = 0;
/** A fresh client certificate (so no cached answer interferes), issued by root unless told. */
async function fresh(opts: Parameters<PeerEnv['pki']['issue']>[1] = {}): Promise<IssuedCert> {
  return env.pki.issue(`c${++n}`, { eku: ['clientAuth'], ...opts });
}

before(async () => {
  env = await setupPeer();
});
after(async () => {
  await env.close();
});

describe('ocsp_peer decisions', () => {
  test('good: admitted (raw TLS and nats.js), request/reply works', async () => {
    const ts = await startPeerServer(env, 'true');
    try {
      const r = await rawClient(ts.port, env.good, env);
      assert.equal(r.admitted, true, r.received);
      const nc = await natsClient(ts.port, env.good, env);
      assert.ok(!(nc instanceof Error), String(nc));
      const sub = nc.subscribe('svc');
      void (async () => {
        for await (const m of sub) m.respond('pong');
      })();
      const reply = await nc.request('svc', 'ping', { timeout: 2000 });
      assert.equal(reply.string(), 'pong');
      await nc.close();
      assert.ok(ts.logs.some((l) => l.includes(`OCSP verify pass for [${'O=tsnats testkit,CN=peer-client'}]`)));
    } finally {
      await ts.stop();
    }
  });

  test('revoked: refused before any session; what it published is never delivered', async () => {
    const revoked = await fresh();
    env.responder.setStatus(revoked.serialHex, 'revoked');
    const ts = await startPeerServer(env, 'true');
    try {
      const watcher = await natsClient(ts.port, env.good, env);
      assert.ok(!(watcher instanceof Error));
      const got: string[] = [];
      const sub = watcher.subscribe('leak');
      void (async () => {
        for await (const m of sub) got.push(m.string());
      })();
      await watcher.flush();
      const r = await rawClient(ts.port, revoked, env, {
        payload: 'CONNECT {"verbose":true,"pedantic":false}\r\nPUB leak 6\r\nsecret\r\nPING\r\n',
      });
      assert.equal(r.secure, true, 'Node completes the TLS handshake (documented difference)');
      assert.equal(r.admitted, false);
      assert.equal(r.received, '', 'no +OK, no PONG, no -ERR: the connection never got a session');
      await watcher.flush();
      await sleep(200);
      assert.deepEqual(got, []);
      const nc = await natsClient(ts.port, revoked, env);
      assert.ok(nc instanceof Error, 'nats.js with the revoked certificate cannot connect');
      assert.ok(ts.logs.some((l) => l.includes('TLS handshake error: client not OCSP valid')));
      assert.ok(ts.logs.some((l) => l.includes('with CA status [revoked]')));
      await watcher.close();
    } finally {
      await ts.stop();
    }
  });

  test('revoked is admitted when ocsp_peer is false, absent or verify: false', async () => {
    const revoked = await fresh();
    env.responder.setStatus(revoked.serialHex, 'revoked');
    for (const v of ['false', undefined, '{ verify: false }']) {
      const ts = await startPeerServer(env, v);
      try {
        const r = await rawClient(ts.port, revoked, env);
        assert.equal(r.admitted, true, `ocsp_peer: ${v}`);
      } finally {
        await ts.stop();
      }
    }
  });

  test('unknown: refused by default, admitted with unknown_is_good', async () => {
    const c = await fresh();
    env.responder.setStatus(c.serialHex, 'unknown');
    let ts = await startPeerServer(env, '{ verify: true }', 'ocsp_cache: false');
    try {
      assert.equal((await rawClient(ts.port, c, env)).admitted, false);
      assert.ok(ts.logs.some((l) => l.includes('with CA status [unknown]')));
    } finally {
      await ts.stop();
    }
    ts = await startPeerServer(env, '{ verify: true, unknown_is_good: true }', 'ocsp_cache: false');
    try {
      assert.equal((await rawClient(ts.port, c, env)).admitted, true);
    } finally {
      await ts.stop();
    }
  });

  test('responder down: refused, admitted with allow_when_ca_unreachable', async () => {
    const c = await fresh({ ocspUrls: ['http://127.0.0.1:1/'] });
    let ts = await startPeerServer(env, '{ verify: true, ca_timeout: 1 }');
    try {
      assert.equal((await rawClient(ts.port, c, env)).admitted, false);
      assert.ok(ts.logs.some((l) => l.includes('Attempt to obtain OCSP response from CA responder for [')));
    } finally {
      await ts.stop();
    }
    ts = await startPeerServer(env, '{ verify: true, ca_timeout: 1, allow_when_ca_unreachable: true }');
    try {
      assert.equal((await rawClient(ts.port, c, env)).admitted, true);
      assert.ok(ts.logs.some((l) => l.includes('but AllowWhenCAUnreachable set; no cached revocation so allowing')));
    } finally {
      await ts.stop();
    }
  });

  test('responder answering HTTP 500: unreachable (refused), first URL down then a good one: admitted', async () => {
    const c = await fresh();
    env.responder.setFault({ type: 'http-status', status: 500 });
    let ts = await startPeerServer(env, '{ verify: true, ca_timeout: 1 }', 'ocsp_cache: false');
    try {
      assert.equal((await rawClient(ts.port, c, env)).admitted, false);
    } finally {
      env.responder.setFault(null);
      await ts.stop();
    }
    const two = await fresh({ ocspUrls: ['http://127.0.0.1:1/', env.responder.url] });
    ts = await startPeerServer(env, '{ verify: true, ca_timeout: 1 }');
    try {
      assert.equal((await rawClient(ts.port, two, env)).admitted, true);
    } finally {
      await ts.stop();
    }
  });

  test('warn_only: a revoked client is admitted with a warning', async () => {
    const revoked = await fresh();
    env.responder.setStatus(revoked.serialHex, 'revoked');
    const ts = await startPeerServer(env, '{ verify: true, warn_only: true }');
    try {
      assert.equal((await rawClient(ts.port, revoked, env)).admitted, true);
      assert.ok(ts.logs.some((l) => l.includes('but WarnOnly is true so allowing')));
    } finally {
      await ts.stop();
    }
  });

  test('strict validation: wrong serial, unauthorised signer, bad signature, expired response are refused', async () => {
    const faults = [
      { fault: 'wrong-serial' as const, log: 'Could not parse OCSP CA response' },
      { fault: { type: 'wrong-signer' as const, signer: env.pki.responderNoEku, embed: true }, log: 'Invalid OCSP response delegation' },
      { fault: 'bad-signature' as const, log: 'Could not parse OCSP CA response' },
      { fault: 'expired' as const, log: 'but not current' },
      { fault: 'future-this-update' as const, log: 'but not current' },
      { fault: 'garbage' as const, log: 'Could not parse OCSP CA response' },
    ];
    for (const f of faults) {
      const c = await fresh();
      env.responder.setFault(f.fault);
      // allow_when_ca_unreachable must not turn an invalid answer into an admission.
      const ts = await startPeerServer(env, '{ verify: true, allow_when_ca_unreachable: true }');
      try {
        const r = await rawClient(ts.port, c, env);
        assert.equal(r.admitted, false, JSON.stringify(f.fault));
        assert.ok(ts.logs.some((l) => l.includes(f.log)), `${JSON.stringify(f.fault)}: ${f.log}`);
      } finally {
        env.responder.setFault(null);
        await ts.stop();
      }
    }
  });

  test('delegated responder with OCSPSigning EKU is accepted', async () => {
    const c = await fresh();
    env.responder.setSigner(env.pki.responder, true);
    const ts = await startPeerServer(env, 'true');
    try {
      assert.equal((await rawClient(ts.port, c, env)).admitted, true);
    } finally {
      env.responder.setSigner(null);
      await ts.stop();
    }
  });

  test('intermediate chain: every link checked; a revoked or unknown intermediate refuses its leaves', async () => {
    const ts = await startPeerServer(env, '{ verify: true }', 'ocsp_cache: false');
    try {
      env.intResponder.resetRequests();
      env.responder.resetRequests();
      assert.equal((await rawClient(ts.port, env.viaInt, env, { useBundle: true })).admitted, true);
      assert.equal(env.intResponder.requests.total >= 1, true, 'leaf checked with the intermediate responder');
      assert.equal(env.responder.requests.bySerial[env.pki.intermediate.serialHex.replace(/^0+/, '')] >= 1, true, 'intermediate checked with the root responder');
      env.responder.setStatus(env.pki.intermediate.serialHex, 'revoked');
      assert.equal((await rawClient(ts.port, env.viaInt, env, { useBundle: true })).admitted, false);
      env.responder.setStatus(env.pki.intermediate.serialHex, 'unknown');
      assert.equal((await rawClient(ts.port, env.viaInt, env, { useBundle: true })).admitted, false);
      const nc = await natsClient(ts.port, env.viaInt, env, true);
      assert.ok(nc instanceof Error);
      env.responder.setStatus(env.pki.intermediate.serialHex, 'good');
      env.intResponder.setStatus(env.viaInt.serialHex, 'revoked');
      assert.equal((await rawClient(ts.port, env.viaInt, env, { useBundle: true })).admitted, false);
      env.intResponder.setStatus(env.viaInt.serialHex, 'good');
      assert.equal((await rawClient(ts.port, env.viaInt, env, { useBundle: true })).admitted, true);
    } finally {
      await ts.stop();
    }
  });

  test('a certificate without an OCSP responder URL is admitted (nothing to check)', async () => {
    const c = await fresh({ ocspUrls: [] });
    const ts = await startPeerServer(env, 'true');
    try {
      assert.equal((await rawClient(ts.port, c, env)).admitted, true);
      assert.ok(ts.logs.some((l) => l.includes('Chain [0] has no OCSP eligible links, thus peer is valid')));
    } finally {
      await ts.stop();
    }
  });

  test('re-check: a connected client revoked later is closed once its cached answer expires', async () => {
    const c = await fresh();
    env.responder.setValidity({ nextUpdateMs: 2000 });
    const ts = await startPeerServer(env, 'true');
    try {
      const nc = await natsClient(ts.port, c, env);
      assert.ok(!(nc instanceof Error));
      const other = await natsClient(ts.port, env.good, env);
      assert.ok(!(other instanceof Error));
      const gate = ts.server.ocspPeer!;
      assert.equal(await gate.recheck(), 0, 'still good');
      env.responder.setStatus(c.serialHex, 'revoked');
      assert.equal(await gate.recheck(), 0, 'the cached good answer is still current');
      await sleep(2100);
      assert.equal(await gate.recheck(), 1);
      const err = await nc.closed();
      assert.ok(nc.isClosed(), String(err));
      assert.equal(other.isClosed(), false, 'other clients are untouched');
      assert.ok(ts.logs.some((l) => l.includes('is now revoked: closing connection')));
      await other.close();
    } finally {
      env.responder.setValidity({ nextUpdateMs: 3_600_000 });
      await ts.stop();
    }
  });
});
