// Stapling in the running server, in-process: every mode × certificate kind, start-up outcome
// (ready, or the exact nats-server start-up error), and what a real client sees in TLS 1.2 and
// 1.3 (INFO first, handshake_first, allow_non_tls), on the HTTPS monitor, with SNI, with issuer
// lookup from the bundle or ca_file, with `urls` failover and with strict validation.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from '../../src/index.js';
import { ocspStaplingHook } from '../../src/server/ocsp.js';
import { after, before, describe, it } from 'node:test';
import type { IssuedCert } from '../../src/testkit/index.js';
import { startResponder, type TestResponder } from '../../src/testkit/index.js';
import { conf, ocspBlock, probe, setup, startTs, startTsOutcome, type Env, type Ts } from './helpers.js';

let E: Env;
before(async () => {
  E = await setup();
  E.responder.setStatus(E.pki.serverRevoked.serialHex, 'revoked');
});
after(async () => {
  await E?.close();
});

type Kind = 'ms-aia' | 'no-ms' | 'ms-noaia-url' | 'revoked';
type ModeForm = 'absent' | 'ocsp: true' | 'auto' | 'must' | 'always' | 'never' | 'ocsp: false';

const KINDS: Kind[] = ['ms-aia', 'no-ms', 'ms-noaia-url', 'revoked'];
const MODES: ModeForm[] = ['absent', 'ocsp: true', 'auto', 'must', 'always', 'never', 'ocsp: false'];

function certOf(k: Kind): IssuedCert {
  return k === 'ms-aia' ? E.pki.serverMustStaple : k === 'no-ms' ? E.pki.server : k === 'ms-noaia-url' ? E.pki.serverMustStapleNoAia : E.pki.serverRevoked;
}

function ocspText(m: ModeForm, k: Kind): string | undefined {
  if (m === 'absent') return undefined;
  if (m === 'ocsp: true' || m === 'ocsp: false') return m;
  return ocspBlock(m, k === 'ms-noaia-url' ? [E.responder.url] : []);
}

/** Expected outcome, per the seed and nats-server's table. */
function expected(m: ModeForm, k: Kind): { start: 'ok' | string; staple: 'good' | 'revoked' | null } {
  const path = certOf(k).certFile;
  const off = m === 'never' || m === 'ocsp: false';
  if (off) return { start: 'ok', staple: null };
  const isAuto = m === 'absent' || m === 'ocsp: true' || m === 'auto';
  if (k === 'no-ms') return { start: 'ok', staple: m === 'always' ? 'good' : null };
  if (k === 'ms-noaia-url' && (m === 'absent' || m === 'ocsp: true')) {
    return { start: `bad OCSP status update for certificate at '${path}': no available ocsp servers`, staple: null };
  }
  if (k === 'revoked') {
    if (isAuto) return { start: 'ok', staple: 'revoked' };
    return { start: `found existing OCSP status for certificate at '${path}': revoked`, staple: null };
  }
  return { start: 'ok', staple: 'good' };
}

describe('modes × certificate kinds × TLS 1.2/1.3 (tsnats in-process, programmable responder)', () => {
  for (const k of KINDS) {
    for (const m of MODES) {
      const exp = () => expected(m, k);
      it(`${m} / ${k}`, async () => {
        const cert = certOf(k);
        const e = exp();
        const out = await startTsOutcome(E.dir, conf({ cert, caFile: E.pki.caFile, ocsp: ocspText(m, k) }));
        if (e.start !== 'ok') {
          if (out.ok) await out.ts.stop();
          assert.equal(out.ok, false, 'start-up refused');
          if (!out.ok) assert.equal(out.error, e.start);
          return;
        }
        assert.ok(out.ok, out.ok ? '' : `start-up failed: ${out.error}`);
        if (!out.ok) return;
        const ts = out.ts;
        try {
          const ready = ts.logs.findIndex((l) => l.includes('Server is ready'));
          const enabled = ts.logs.findIndex((l) => l.includes('OCSP Stapling enabled for Client connections'));
          if (e.staple) assert.ok(enabled >= 0 && enabled < ready, 'notice logged before ready');
          else assert.equal(enabled, -1, 'no stapling notice');
          if ((m === 'never' || m === 'ocsp: false') && k !== 'no-ms') {
            assert.ok(ts.logs.some((l) => l.includes(`[WRN] Certificate at '${cert.certFile}' has MustStaple but OCSP is disabled`)));
          }
          for (const tls13 of [false, true]) {
            const p = await probe(ts.port, { ca: E.pki.root.certPem, tls13 });
            assert.equal(p.protocol, tls13 ? 'TLSv1.3' : 'TLSv1.2');
            assert.equal(p.serial, cert.serialHex.replace(/^0+/, ''));
            if (e.staple === null) assert.equal(p.staple, null, 'no staple');
            else {
              assert.ok(p.staple, 'a staple');
              assert.equal(p.staple.status, e.staple);
              assert.equal(p.staple.serial, p.serial, 'staple is for the served certificate');
            }
          }
        } finally {
          await ts.stop();
        }
      });
    }
  }
});

describe('every accepted TLS handshake carries the staple', () => {
  let ts: Ts;
  after(async () => ts?.stop());

  it('INFO first, handshake_first, allow_non_tls, HTTPS monitor', async () => {
    const cert = E.pki.serverMustStaple;
    // INFO first + HTTPS monitor
    ts = await startTs(E.dir, conf({ cert, caFile: E.pki.caFile }), { monitor: true });
    const monitorPort = Number(new URL(ts.server.monitor.urls()[0]!).port);
    for (const tls13 of [false, true]) {
      const p = await probe(ts.port, { ca: E.pki.root.certPem, tls13 });
      assert.equal(p.staple?.status, 'good');
      assert.match(p.info, /"tls_required":true/);
      const h = await probe(monitorPort, { ca: E.pki.root.certPem, tls13, direct: true });
      assert.equal(h.staple?.status, 'good', 'HTTPS monitor staples');
      assert.equal(h.staple?.serial, h.serial);
    }
    const entries = ts.server.ocsp.list();
    assert.deepEqual(entries.map((x) => x.listener).sort(), ['client', 'https']);
    assert.equal(entries[0]!.stapler.status().status, 'good');
    await ts.stop();

    // handshake_first
    ts = await startTs(E.dir, conf({ cert, caFile: E.pki.caFile, tlsExtra: 'handshake_first: true' }));
    for (const tls13 of [false, true]) {
      const p = await probe(ts.port, { ca: E.pki.root.certPem, tls13, handshakeFirst: true });
      assert.equal(p.staple?.status, 'good', `handshake_first TLS ${tls13 ? '1.3' : '1.2'}`);
    }
    await ts.stop();

    // allow_non_tls: the client upgrades after INFO
    ts = await startTs(E.dir, conf({ cert, caFile: E.pki.caFile, extra: 'allow_non_tls: true' }));
    for (const tls13 of [false, true]) {
      const p = await probe(ts.port, { ca: E.pki.root.certPem, tls13 });
      assert.match(p.info, /"tls_available":true/);
      assert.equal(p.staple?.status, 'good', `allow_non_tls TLS ${tls13 ? '1.3' : '1.2'}`);
    }
  });
});

describe('several certificates (SNI), issuer lookup, url failover, strict validation', () => {
  it('tls { certs: [...] }: each certificate with its own staple, chosen by SNI', async () => {
    const a = await E.pki.issue('sni-a', { mustStaple: true, dnsNames: ['a.example'] });
    const b = await E.pki.issue('sni-b', { mustStaple: true, dnsNames: ['b.example'] });
    const c = await E.pki.issue('sni-c', { dnsNames: ['c.example'] }); // no Must-Staple: not stapled in auto
    const text = `tls {\n  ca_file: "${E.pki.caFile}"\n  certs: [\n${[a, b, c]
      .map((x) => `    { cert_file: "${x.certFile}", key_file: "${x.keyFile}" }`)
      .join('\n')}\n  ]\n}\n`;
    const ts = await startTs(E.dir, text, { monitor: true });
    try {
      const monitorPort = Number(new URL(ts.server.monitor.urls()[0]!).port);
      for (const tls13 of [false, true]) {
        for (const [name, cert, stapled] of [['a.example', a, true], ['b.example', b, true], ['c.example', c, false]] as const) {
          for (const port of [ts.port, monitorPort]) {
            const p = await probe(port, { ca: E.pki.root.certPem, tls13, servername: name, direct: port === monitorPort });
            assert.equal(p.serial, cert.serialHex.replace(/^0+/, ''), `${name} served`);
            if (stapled) {
              assert.equal(p.staple?.status, 'good');
              assert.equal(p.staple?.serial, p.serial, `${name}: its own staple`);
            } else assert.equal(p.staple, null, `${name}: not stapled`);
          }
        }
      }
      assert.equal(ts.server.ocsp.list().length, 6, '3 certificates × 2 listeners');
    } finally {
      await ts.stop();
    }
  });

  it('issuer: second certificate of cert_file, else ca_file; a wrong bundle refuses start-up', async () => {
    // leaf + root in cert_file, no ca_file
    let out = await startTsOutcome(E.dir, conf({ cert: E.pki.serverMustStaple, bundle: true }));
    assert.ok(out.ok, out.ok ? '' : out.error);
    if (out.ok) {
      const p = await probe(out.ts.port, { ca: E.pki.root.certPem });
      assert.equal(p.staple?.status, 'good');
      await out.ts.stop();
    }
    // leaf + intermediate in cert_file, answered by the intermediate's own responder (delegated signer)
    const r = await startResponder({ issuer: E.pki.intermediate, signer: E.pki.intermediateResponder });
    try {
      out = await startTsOutcome(E.dir, conf({ cert: E.pki.serverViaIntermediate, bundle: true, ocsp: ocspBlock('always', [r.url]) }));
      assert.ok(out.ok, out.ok ? '' : out.error);
      if (out.ok) {
        const p = await probe(out.ts.port, { ca: E.pki.root.certPem });
        assert.equal(p.staple?.status, 'good');
        await out.ts.stop();
      }
      // leaf only, issuer found in a ca_file holding the whole hierarchy (any order)
      const bundle = `${E.dir}/ca-all.pem`;
      writeFileSync(bundle, E.pki.otherRoot.certPem + E.pki.root.certPem + E.pki.intermediate.certPem);
      out = await startTsOutcome(E.dir, conf({ cert: E.pki.serverViaIntermediate, caFile: bundle, ocsp: ocspBlock('always', [r.url]) }));
      assert.ok(out.ok, out.ok ? '' : out.error);
      if (out.ok) await out.ts.stop();
    } finally {
      await r.close();
    }
    // leaf only, no ca_file: the test root is not in the system store
    out = await startTsOutcome(E.dir, conf({ cert: E.pki.serverMustStaple }));
    if (out.ok) await out.ts.stop();
    assert.equal(out.ok, false);
    if (!out.ok) assert.equal(out.error, 'no issuers found');
    // wrong bundle: leaf + an unrelated CA as second certificate
    const wrong = `${E.dir}/wrong-bundle.pem`;
    writeFileSync(wrong, E.pki.serverMustStaple.certPem + E.pki.otherRoot.certPem);
    out = await startTsOutcome(E.dir, conf({ cert: { certFile: wrong, keyFile: E.pki.serverMustStaple.keyFile }, caFile: E.pki.caFile }));
    if (out.ok) await out.ts.stop();
    assert.equal(out.ok, false);
    if (!out.ok) assert.equal(out.error, 'no issuers found');
  });

  it('ocsp { urls: [...] } replaces the AIA and fails over in order', async () => {
    const dead = 'http://127.0.0.1:9/dead';
    const cert = E.pki.serverMustStapleNoAia;
    E.responder.resetRequests();
    const ts = await startTs(E.dir, conf({ cert, caFile: E.pki.caFile, ocsp: ocspBlock('must', [dead, E.responder.url]) }));
    try {
      const p = await probe(ts.port, { ca: E.pki.root.certPem });
      assert.equal(p.staple?.status, 'good');
      assert.ok(E.responder.requests.total >= 1);
      assert.deepEqual(ts.server.ocsp.list()[0]!.stapler.status().responder_urls, [dead, E.responder.url]);
    } finally {
      await ts.stop();
    }
  });

  it('strict validation: a response signed by a certificate without OCSPSigning EKU refuses start-up', async () => {
    const r: TestResponder = await startResponder({ issuer: E.pki.root, signer: E.pki.responderNoEku });
    try {
      const out = await startTsOutcome(E.dir, conf({ cert: E.pki.serverMustStapleNoAia, caFile: E.pki.caFile, ocsp: ocspBlock('auto', [r.url]) }));
      if (out.ok) await out.ts.stop();
      assert.equal(out.ok, false);
      if (!out.ok) assert.match(out.error, /^bad OCSP status update for certificate at '.*serverMustStapleNoAia\.pem': .*/);
    } finally {
      await r.close();
    }
  });

  it('ocspStaplingHook(options, { engine }) passes engine tuning (fetch timeout against a hanging responder)', async () => {
    const r = await startResponder({ issuer: E.pki.root });
    r.setFault('hang');
    const confFile = join(E.dir, 'engine.conf');
    writeFileSync(confFile, `host: 127.0.0.1\nport: -1\n${conf({ cert: E.pki.serverMustStapleNoAia, caFile: E.pki.caFile, ocsp: ocspBlock('must', [r.url]) })}`);
    const t0 = Date.now();
    try {
      await assert.rejects(
        startServer({ configFile: confFile, noDefaultHooks: true, hooks: [ocspStaplingHook(undefined, { engine: { fetchTimeoutMs: 300 } })] }),
        (e: Error) => /^bad OCSP status update for certificate at '.*serverMustStapleNoAia\.pem': .*timeout after 300ms/.test(e.message),
      );
      assert.ok(Date.now() - t0 < 3000, 'the 300 ms timeout applied (default is 10 s)');
    } finally {
      await r.close();
    }
  });

  it('responder down at start-up: refuses to start in every stapling mode', async () => {
    for (const m of ['absent', 'must', 'always']) {
      const out = await startTsOutcome(
        E.dir,
        conf({ cert: E.pki.serverMustStapleNoAia, caFile: E.pki.caFile, ocsp: m === 'absent' ? undefined : ocspBlock(m, ['http://127.0.0.1:9']) }),
      );
      if (out.ok) await out.ts.stop();
      assert.equal(out.ok, false, m);
      if (!out.ok) assert.match(out.error, /^bad OCSP status update for certificate at '.*serverMustStapleNoAia\.pem': /);
    }
  });
});
