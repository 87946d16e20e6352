// Reload (SIGHUP): stapling restarts with the new TLS and OCSP settings. Certificate rotation puts
// the new certificate into service together with its own validated staple; in must/always a new
// certificate without a good staple is not put into service (the previous certificate and its
// staple stay); mode changes and Must-Staple added/removed take effect; a reload is never a
// window where a handshake gets another certificate's staple or no staple.

import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IssuedCert } from '../../src/testkit/index.js';
import { conf, ocspBlock, probe, setup, sleep, spawnServer, startTs, waitFor, type Env, type Probe } from './helpers.js';

let E: Env;
before(async () => {
  E = await setup();
});
after(async () => {
  await E?.close();
});

const serialOf = (c: IssuedCert): string => c.serialHex.replace(/^0+/, '');

async function check(port: number, cert: IssuedCert, staple: 'good' | 'revoked' | null, tls13?: boolean): Promise<Probe> {
  const p = await probe(port, { ca: E.pki.root.certPem, tls13 });
  assert.equal(p.serial, serialOf(cert), `serving ${cert.name}`);
  if (staple === null) assert.equal(p.staple, null, `${cert.name}: no staple`);
  else {
    assert.equal(p.staple?.status, staple, `${cert.name}: ${staple} staple`);
    assert.equal(p.staple?.serial, p.serial, `${cert.name}: its own staple`);
  }
  return p;
}

describe('reload: rotation, mode changes, Must-Staple added/removed', () => {
  it('rotate to a new certificate: its staple matches its serial; the old stapler is closed', async () => {
    const a = await E.pki.issue('rl-a', { mustStaple: true });
    const b = await E.pki.issue('rl-b', { mustStaple: true });
    const ts = await startTs(E.dir, conf({ cert: a, caFile: E.pki.caFile }), { monitor: true });
    try {
      const monitorPort = Number(new URL(ts.server.monitor.urls()[0]!).port);
      await check(ts.port, a, 'good');
      const oldStapler = ts.server.ocsp.list()[0]!.stapler;
      await ts.reloadWith(conf({ cert: b, caFile: E.pki.caFile }));
      for (const tls13 of [false, true]) await check(ts.port, b, 'good', tls13);
      const h = await probe(monitorPort, { ca: E.pki.root.certPem, direct: true });
      assert.equal(h.serial, serialOf(b));
      assert.equal(h.staple?.serial, serialOf(b), 'HTTPS monitor: the new pair');
      assert.ok(!ts.server.ocsp.list().some((e) => e.stapler === oldStapler), 'replaced in the registry');
      assert.ok(await waitFor(() => oldStapler.status().closed, 5000), 'closed after the handshake grace period');
      assert.deepEqual(
        ts.server.ocsp.list().map((e) => [e.listener, e.stapler.leaf.serialHex]),
        [
          ['client', b.serialHex],
          ['https', b.serialHex],
        ],
      );
      assert.ok(ts.logs.some((l) => l.includes('Reloaded: tls = enabled')));
      // An unchanged certificate reuses the staple it holds: no request on reload.
      E.responder.resetRequests();
      await ts.reloadWith(conf({ cert: b, caFile: E.pki.caFile }));
      assert.equal(E.responder.requests.total, 0);
      await check(ts.port, b, 'good');
    } finally {
      await ts.stop();
    }
  });

  it('a handshake begun before a reload (ClientHello after the swap) gets the old certificate with its own staple', async () => {
    const a = await E.pki.issue('rl-inflight-a', { mustStaple: true });
    const b = await E.pki.issue('rl-inflight-b', { mustStaple: true });
    const ts = await startTs(E.dir, conf({ cert: a, caFile: E.pki.caFile }));
    try {
      for (const [i, servername] of ['localhost', ''].entries()) {
        // With SNI and without (requestOCSP falls back to the server's context without SNI).
        const [from, to] = i === 0 ? [a, b] : [b, a];
        // INFO has arrived, so the server has upgraded the socket: the reload lands between the
        // upgrade and the ClientHello.
        const p = await probe(ts.port, {
          ca: E.pki.root.certPem,
          servername,
          beforeHello: () => ts.reloadWith(conf({ cert: to, caFile: E.pki.caFile })),
        });
        assert.equal(p.serial, serialOf(from), 'the certificate of the context the socket was upgraded with');
        assert.equal(p.staple?.serial, p.serial, 'its own staple');
        assert.equal(p.staple?.status, 'good');
        await check(ts.port, to, 'good');
      }
    } finally {
      await ts.stop();
    }
  });

  it('mode never → always → never, and always → auto', async () => {
    const cert = E.pki.server; // no Must-Staple
    const ts = await startTs(E.dir, conf({ cert, caFile: E.pki.caFile, ocsp: ocspBlock('never') }));
    try {
      await check(ts.port, cert, null);
      await ts.reloadWith(conf({ cert, caFile: E.pki.caFile, ocsp: ocspBlock('always') }));
      assert.ok(ts.logs.some((l) => l.includes('Reloaded: OCSP')));
      for (const tls13 of [false, true]) await check(ts.port, cert, 'good', tls13);
      await ts.reloadWith(conf({ cert, caFile: E.pki.caFile, ocsp: 'ocsp: false' }));
      await check(ts.port, cert, null);
      await ts.reloadWith(conf({ cert, caFile: E.pki.caFile, ocsp: ocspBlock('always') }));
      await check(ts.port, cert, 'good');
      await ts.reloadWith(conf({ cert, caFile: E.pki.caFile }));
      await check(ts.port, cert, null);
      assert.equal(ts.server.ocsp.list()[0]!.stapler.enabled, false);
    } finally {
      await ts.stop();
    }
  });

  it('Must-Staple added, then removed (auto)', async () => {
    const ts = await startTs(E.dir, conf({ cert: E.pki.server, caFile: E.pki.caFile }));
    try {
      await check(ts.port, E.pki.server, null);
      await ts.reloadWith(conf({ cert: E.pki.serverMustStaple, caFile: E.pki.caFile }));
      await check(ts.port, E.pki.serverMustStaple, 'good');
      assert.ok(ts.logs.some((l) => l.includes('OCSP Stapling enabled for Client connections')));
      await ts.reloadWith(conf({ cert: E.pki.server, caFile: E.pki.caFile }));
      await check(ts.port, E.pki.server, null);
    } finally {
      await ts.stop();
    }
  });

  it('auto: rotate to a Must-Staple certificate without AIA: served without a staple, with a warning (nats-server)', async () => {
    const ts = await startTs(E.dir, conf({ cert: E.pki.serverMustStaple, caFile: E.pki.caFile }));
    try {
      await ts.reloadWith(conf({ cert: E.pki.serverMustStapleNoAia, caFile: E.pki.caFile }));
      await check(ts.port, E.pki.serverMustStapleNoAia, null);
      assert.ok(
        ts.logs.some((l) =>
          l.includes(`[WRN] Can't restart OCSP features: bad OCSP status update for certificate at '${E.pki.serverMustStapleNoAia.certFile}': no available ocsp servers`),
        ),
      );
    } finally {
      await ts.stop();
    }
  });
});

describe('reload: TLS enabled and disabled', () => {
  it('TLS enabled by a reload is stapled from the first handshake; disabled, staplers are closed', async () => {
    const ts = await startTs(E.dir, '');
    try {
      assert.equal(ts.server.ocsp.list().length, 0);
      await ts.reloadWith(conf({ cert: E.pki.serverMustStaple, caFile: E.pki.caFile, ocsp: ocspBlock('must') }));
      for (const tls13 of [false, true]) await check(ts.port, E.pki.serverMustStaple, 'good', tls13);
      const st = ts.server.ocsp.list()[0]!.stapler;
      await ts.reloadWith('');
      assert.equal(ts.server.ocsp.list().length, 0);
      assert.ok(await waitFor(() => st.status().closed, 5000));
    } finally {
      await ts.stop();
    }
  });
});

describe('safe rotation in must/always', () => {
  for (const why of ['revoked', 'responder down'] as const) {
    it(`new certificate ${why}: the old certificate and its staple stay in service; fixed, the next reload rotates`, async () => {
      const old = await E.pki.issue(`safe-old-${why.replace(' ', '-')}`, { mustStaple: true });
      const next = await E.pki.issue(`safe-new-${why.replace(' ', '-')}`, { mustStaple: true, ocspUrls: why === 'revoked' ? [E.responder.url] : ['http://127.0.0.1:9/down'] });
      // Rotation by overwriting the files in place (same cert_file path).
      const certFile = join(E.dir, `live-${old.name}.pem`);
      const keyFile = join(E.dir, `live-${old.name}-key.pem`);
      copyFileSync(old.certFile, certFile);
      copyFileSync(old.keyFile, keyFile);
      if (why === 'revoked') E.responder.setStatus(next.serialHex, 'revoked');
      const text = conf({ cert: { certFile, keyFile }, caFile: E.pki.caFile, ocsp: ocspBlock('must') });
      const ts = await startTs(E.dir, text);
      try {
        await check(ts.port, old, 'good');
        const oldStapler = ts.server.ocsp.list()[0]!.stapler;
        copyFileSync(next.certFile, certFile);
        copyFileSync(next.keyFile, keyFile);
        await ts.reloadWith(text); // the reload itself succeeds
        for (const tls13 of [false, true]) await check(ts.port, old, 'good', tls13);
        assert.equal(ts.server.ocsp.list()[0]!.stapler, oldStapler, 'the old stapler keeps running');
        assert.equal(oldStapler.status().closed, false);
        const reason =
          why === 'revoked'
            ? `found existing OCSP status for certificate at '${certFile}': revoked`
            : `bad OCSP status update for certificate at '${certFile}': `;
        assert.ok(ts.logs.some((l) => l.includes(`[WRN] Can't restart OCSP features: ${reason}`)), 'warned');
        assert.ok(
          ts.logs.some((l) =>
            l.includes(
              `[ERR] Keeping certificate '${certFile}' (serial ${serialOf(old)}) and its OCSP staple in service: certificate '${certFile}' (serial ${serialOf(next)}) has no good OCSP staple (ocsp mode must)`,
            ),
          ),
          'logged why',
        );
        assert.ok(ts.logs.some((l) => l.includes('Reloaded server configuration')));
        assert.equal(ts.server.isRunning, true);

        // Fixed: a plain reload rotates.
        if (why === 'revoked') E.responder.setStatus(next.serialHex, 'good');
        else {
          const fixed = await E.pki.issue(`safe-fixed`, { mustStaple: true });
          copyFileSync(fixed.certFile, certFile);
          copyFileSync(fixed.keyFile, keyFile);
          await ts.reloadWith(text);
          await check(ts.port, fixed, 'good');
          assert.notEqual(ts.server.ocsp.list()[0]!.stapler, oldStapler);
          return;
        }
        await ts.reloadWith(text);
        await check(ts.port, next, 'good');
        assert.notEqual(ts.server.ocsp.list()[0]!.stapler, oldStapler);
      } finally {
        await ts.stop();
      }
    });
  }

  it('a certificate added in must mode without a good staple refuses the reload (nothing applied)', async () => {
    const a = await E.pki.issue('add-a', { mustStaple: true, dnsNames: ['localhost'] });
    const bad = await E.pki.issue('add-bad', { mustStaple: true, dnsNames: ['bad.example'] });
    E.responder.setStatus(bad.serialHex, 'revoked');
    const one = `ocsp { mode: must }\ntls {\n  ca_file: "${E.pki.caFile}"\n  certs: [ { cert_file: "${a.certFile}", key_file: "${a.keyFile}" } ]\n}\n`;
    const two = `ocsp { mode: must }\ntls {\n  ca_file: "${E.pki.caFile}"\n  certs: [ { cert_file: "${a.certFile}", key_file: "${a.keyFile}" }, { cert_file: "${bad.certFile}", key_file: "${bad.keyFile}" } ]\n}\n`;
    const ts = await startTs(E.dir, one);
    try {
      await assert.rejects(ts.reloadWith(two), new RegExp(`certificate at '.*add-bad\\.pem' has no good OCSP staple \\(ocsp mode must\\): found existing OCSP status`));
      await check(ts.port, a, 'good');
      assert.equal(ts.server.ocsp.list().length, 1);
    } finally {
      await ts.stop();
    }
  });

  it('clients connecting in a loop during rotations: every staple is for the certificate it came with', async () => {
    const certs = [await E.pki.issue('loop-a', { mustStaple: true }), await E.pki.issue('loop-b', { mustStaple: true }), await E.pki.issue('loop-c', { mustStaple: true })];
    const certFile = join(E.dir, 'loop-live.pem');
    const keyFile = join(E.dir, 'loop-live-key.pem');
    const put = (c: IssuedCert): void => {
      writeFileSync(certFile, c.certPem);
      writeFileSync(keyFile, c.keyPem);
    };
    put(certs[0]!);
    const text = conf({ cert: { certFile, keyFile }, caFile: E.pki.caFile, ocsp: ocspBlock('always') });
    const ts = await startTs(E.dir, text);
    E.responder.setFault({ type: 'delay', ms: 150 }); // slow responder: a wide window around each swap
    let stop = false;
    const seen = new Map<string, number>();
    const problems: string[] = [];
    const loop = async (tls13: boolean): Promise<void> => {
      while (!stop) {
        try {
          const p = await probe(ts.port, { ca: E.pki.root.certPem, tls13 });
          seen.set(p.serial, (seen.get(p.serial) ?? 0) + 1);
          if (!p.staple) problems.push(`no staple with ${p.serial}`);
          else if (p.staple.serial !== p.serial) problems.push(`staple ${p.staple.serial} with certificate ${p.serial}`);
          else if (p.staple.status !== 'good') problems.push(`${p.staple.status} staple`);
        } catch (e) {
          problems.push(`handshake failed: ${(e as Error).message}`);
        }
      }
    };
    try {
      const loops = [loop(false), loop(true), loop(false)];
      for (let i = 1; i <= 6; i++) {
        put(certs[i % 3]!);
        await ts.reloadWith(text);
        await sleep(100);
      }
      stop = true;
      await Promise.all(loops);
      assert.deepEqual(problems, []);
      assert.equal(seen.size, 3, `all three certificates were served: ${[...seen.entries()].join(' ')}`);
      assert.ok([...seen.values()].reduce((x, y) => x + y, 0) >= 30, 'enough handshakes');
    } finally {
      stop = true;
      E.responder.setFault(null);
      await ts.stop();
    }
  });
});

describe('SIGHUP to bin/tsnats', () => {
  it('rotates the certificate with its staple', async () => {
    const a = await E.pki.issue('hup-a', { mustStaple: true });
    const b = await E.pki.issue('hup-b', { mustStaple: true });
    const certFile = join(E.dir, 'hup-live.pem');
    const keyFile = join(E.dir, 'hup-live-key.pem');
    copyFileSync(a.certFile, certFile);
    copyFileSync(a.keyFile, keyFile);
    const o = await spawnServer('tsnats', E.dir, conf({ cert: { certFile, keyFile }, caFile: E.pki.caFile, ocsp: ocspBlock('must') }));
    assert.ok(o.ready, o.proc.out());
    try {
      await check(o.proc.port, a, 'good');
      copyFileSync(b.certFile, certFile);
      copyFileSync(b.keyFile, keyFile);
      o.proc.child.kill('SIGHUP');
      const deadline = Date.now() + 10_000;
      while (!/Reloaded server configuration/.test(o.proc.out()) && Date.now() < deadline) await sleep(50);
      assert.match(o.proc.out(), /Reloaded server configuration/);
      await check(o.proc.port, b, 'good');
    } finally {
      await o.proc.kill();
    }
  });
});
