// The same stapling scenarios against the real nats-server (spawned with the same config) and
// bin/tsnats: same start-up outcome and staple presence, except the documented improvements
// (docs/stapling.md, "Differences from nats-server"), which are asserted as differences here.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startResponder, type IssuedCert, type TestResponder } from '../../src/testkit/index.js';
import { conf, NATS_SERVER, ocspBlock, probe, setup, SKIP_NATS_SERVER, sleep, spawnServer, type Env, type ProcOutcome } from './helpers.js';

let E: Env;
before(async () => {
  if (SKIP_NATS_SERVER) return;
  E = await setup();
  E.responder.setStatus(E.pki.serverRevoked.serialHex, 'revoked');
});
after(async () => {
  await E?.close();
});

type Which = 'tsnats' | 'nats-server';

interface Outcome {
  ready: boolean;
  code?: number | null;
  out: string;
  /** Staple status seen by a client over TLS 1.2 and 1.3 (null: none); undefined when not ready. */
  staples?: (string | null)[];
}

async function outcome(which: Which, text: string): Promise<Outcome> {
  const o: ProcOutcome = await spawnServer(which, E.dir, text);
  if (!o.ready) return { ready: false, code: o.code, out: o.proc.out() };
  try {
    const staples: (string | null)[] = [];
    for (const tls13 of [false, true]) {
      const p = await probe(o.proc.port, { ca: E.pki.root.certPem, tls13 });
      if (p.staple) assert.equal(p.staple.serial, p.serial, `${which}: staple for the served certificate`);
      staples.push(p.staple?.status ?? null);
    }
    return { ready: true, out: o.proc.out(), staples };
  } finally {
    await o.proc.kill();
  }
}

async function both(text: string): Promise<Record<Which, Outcome>> {
  const [ts, ns] = await Promise.all([outcome('tsnats', text), outcome('nats-server', text)]);
  return { tsnats: ts, 'nats-server': ns };
}

interface Scenario {
  name: string;
  cert: () => IssuedCert;
  ocsp?: () => string | undefined;
  /** Expected for both: staple status over TLS 1.2/1.3, or the start-up error text. */
  expect: { staple: 'good' | 'revoked' | null } | { error: (cert: IssuedCert) => string };
}

const SCENARIOS: Scenario[] = [
  { name: 'no ocsp, Must-Staple + AIA: stapled', cert: () => E.pki.serverMustStaple, expect: { staple: 'good' } },
  { name: 'ocsp: true, no Must-Staple: not stapled', cert: () => E.pki.server, ocsp: () => 'ocsp: true', expect: { staple: null } },
  { name: 'always + url, no Must-Staple: stapled', cert: () => E.pki.serverNoAia, ocsp: () => ocspBlock('always', [E.responder.url]), expect: { staple: 'good' } },
  { name: 'must, no Must-Staple: not stapled', cert: () => E.pki.server, ocsp: () => ocspBlock('must'), expect: { staple: null } },
  {
    name: 'must + url, Must-Staple without AIA: stapled',
    cert: () => E.pki.serverMustStapleNoAia,
    ocsp: () => ocspBlock('must', [E.responder.url]),
    expect: { staple: 'good' },
  },
  { name: 'never, Must-Staple: not stapled', cert: () => E.pki.serverMustStaple, ocsp: () => ocspBlock('never'), expect: { staple: null } },
  { name: 'ocsp: false, revoked Must-Staple: not stapled', cert: () => E.pki.serverRevoked, ocsp: () => 'ocsp: false', expect: { staple: null } },
  { name: 'auto, revoked Must-Staple: starts, staples revoked', cert: () => E.pki.serverRevoked, expect: { staple: 'revoked' } },
  {
    name: 'must, revoked: refuses to start',
    cert: () => E.pki.serverRevoked,
    ocsp: () => ocspBlock('must'),
    expect: { error: (c) => `found existing OCSP status for certificate at '${c.certFile}': revoked` },
  },
  {
    name: 'always, revoked: refuses to start',
    cert: () => E.pki.serverRevoked,
    ocsp: () => ocspBlock('always'),
    expect: { error: (c) => `found existing OCSP status for certificate at '${c.certFile}': revoked` },
  },
];

describe('differential with nats-server: start-up outcome and staple presence', { skip: SKIP_NATS_SERVER }, () => {
  for (const sc of SCENARIOS) {
    it(sc.name, async () => {
      const cert = sc.cert();
      const r = await both(conf({ cert, caFile: E.pki.caFile, ocsp: sc.ocsp?.() }));
      if ('error' in sc.expect) {
        const msg = sc.expect.error(cert);
        for (const w of ['tsnats', 'nats-server'] as const) {
          assert.equal(r[w].ready, false, `${w} refuses to start`);
          assert.equal(r[w].code, 1, `${w} exits 1`);
        }
        assert.ok(r['nats-server'].out.includes(`nats-server: ${msg}`), r['nats-server'].out);
        assert.ok(r.tsnats.out.includes(`[FTL] ${msg}`), r.tsnats.out);
        return;
      }
      for (const w of ['tsnats', 'nats-server'] as const) {
        assert.ok(r[w].ready, `${w} starts: ${r[w].out}`);
        assert.deepEqual(r[w].staples, [sc.expect.staple, sc.expect.staple], w);
        const notice = r[w].out.includes('OCSP Stapling enabled for Client connections');
        assert.equal(notice, sc.expect.staple !== null, `${w}: notice iff stapling`);
      }
      if (sc.ocsp?.() === ocspBlock('never')) {
        // nats-server 2.9.10 emits this warning before its logger is set up: it never shows.
        assert.ok(r.tsnats.out.includes(`[WRN] Certificate at '${cert.certFile}' has MustStaple but OCSP is disabled`));
      }
    });
  }

  it('Must-Staple without AIA and no url: both refuse to start (bad OCSP status update ...)', async () => {
    const cert = E.pki.serverMustStapleNoAia;
    const r = await both(conf({ cert, caFile: E.pki.caFile }));
    for (const w of ['tsnats', 'nats-server'] as const) {
      assert.equal(r[w].ready, false, w);
      assert.equal(r[w].code, 1, w);
      assert.ok(r[w].out.includes(`bad OCSP status update for certificate at '${cert.certFile}': `), r[w].out);
    }
  });
});

describe('differential with nats-server: documented differences', { skip: SKIP_NATS_SERVER }, () => {
  it('a staple signed by a delegate without OCSPSigning EKU: nats-server staples it, tsnats refuses', async () => {
    const r: TestResponder = await startResponder({ issuer: E.pki.root, signer: E.pki.responderNoEku });
    try {
      const res = await both(conf({ cert: E.pki.serverMustStapleNoAia, caFile: E.pki.caFile, ocsp: ocspBlock('must', [r.url]) }));
      assert.ok(res['nats-server'].ready, res['nats-server'].out);
      assert.deepEqual(res['nats-server'].staples, ['good', 'good']);
      assert.equal(res.tsnats.ready, false);
      assert.equal(res.tsnats.code, 1);
      assert.match(res.tsnats.out, /\[FTL\] bad OCSP status update for certificate at '.*': .*/);
    } finally {
      await r.close();
    }
  });

  it('ocsp { urls: [...] }: a config error in nats-server, ordered failover in tsnats', async () => {
    const res = await both(conf({ cert: E.pki.serverMustStapleNoAia, caFile: E.pki.caFile, ocsp: ocspBlock('must', ['http://127.0.0.1:9', E.responder.url]) }));
    assert.equal(res['nats-server'].ready, false);
    assert.match(res['nats-server'].out, /interface conversion|urls/);
    assert.ok(res.tsnats.ready, res.tsnats.out);
    assert.deepEqual(res.tsnats.staples, ['good', 'good']);
  });

  it('staple expired with the responder down, and revocation at run time', async () => {
    // One short-lived responder per server, nextUpdate 3 s; both run concurrently.
    const run = async (which: Which, kind: 'expire' | 'revoke'): Promise<{ handshake?: boolean; staple?: string | null; code?: number | null }> => {
      const r = await startResponder({ issuer: E.pki.root });
      r.setValidity({ nextUpdateMs: 3000 });
      const cert = await E.pki.issue(`diff-${kind}-${which}`, { ocspUrls: [r.url] });
      const o = await spawnServer(which, E.dir, conf({ cert, caFile: E.pki.caFile, ocsp: ocspBlock('always') }));
      assert.ok(o.ready, o.proc.out());
      try {
        if (kind === 'revoke') {
          r.setStatus(cert.serialHex, 'revoked');
          const code = await Promise.race([o.proc.exited, sleep(8000).then(() => undefined)]);
          return { code };
        }
        await r.close();
        await sleep(4500); // past nextUpdate
        try {
          const p = await probe(o.proc.port, { ca: E.pki.root.certPem, timeoutMs: 5000 });
          return { handshake: true, staple: p.staple?.status ?? null };
        } catch {
          return { handshake: false };
        }
      } finally {
        await o.proc.kill();
        await r.close().catch(() => undefined);
      }
    };
    const [tsExp, nsExp, tsRev, nsRev] = await Promise.all([run('tsnats', 'expire'), run('nats-server', 'expire'), run('tsnats', 'revoke'), run('nats-server', 'revoke')]);
    assert.deepEqual(tsExp, { handshake: true, staple: null }, 'tsnats: handshake without a staple');
    assert.deepEqual(nsExp, { handshake: false }, 'nats-server: handshake fails (synchronous refetch)');
    assert.equal(tsRev.code, 20, 'tsnats exits 20');
    assert.equal(nsRev.code, 0, 'nats-server exits 0');
  });
});

if (SKIP_NATS_SERVER) console.log(`# ${SKIP_NATS_SERVER}`);
void NATS_SERVER;
