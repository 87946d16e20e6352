import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tls from 'node:tls';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  attachStaplers,
  createStapler,
  parseCertificate,
  parseOcspResponse,
  type Stapler,
} from '../../src/ocsp/index.js';
import type { IssuedCert } from '../../src/testkit/index.js';
import { FakeClock, setup, type Env } from './helpers.js';

interface Handshake {
  staple: Buffer | null;
  /** whether an OCSPResponse event fired at all */
  event: boolean;
  protocol: string | null;
}

async function listen(server: tls.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/** `requestOCSP` exists in Node (documented since nodejs/node#61064) but not in @types/node 20. */
type ClientOptions = tls.ConnectionOptions & { requestOCSP?: boolean };

function connect(port: number, ca: string, opts: ClientOptions = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    let staple: Buffer | null = null;
    let event = false;
    const options: ClientOptions = { host: '127.0.0.1', port, ca, servername: 'localhost', requestOCSP: true, ...opts };
    const sock = tls.connect(options as tls.ConnectionOptions);
    sock.on('OCSPResponse', (resp: Buffer | null) => {
      event = true;
      staple = resp && resp.length > 0 ? resp : null;
    });
    sock.once('secureConnect', () => {
      const protocol = sock.getProtocol();
      sock.end();
      resolve({ staple, event, protocol });
    });
    sock.once('error', reject);
  });
}

describe('ocsp stapling over real TLS handshakes', () => {
  let env: Env;
  const servers: tls.Server[] = [];
  const staplers: Stapler[] = [];
  const serve = async (cert: IssuedCert, extra: tls.TlsOptions = {}): Promise<tls.Server> => {
    const server = tls.createServer({ cert: cert.certPem, key: cert.keyPem, ...extra }, (s) => s.end());
    servers.push(server);
    return server;
  };
  const stapler = async (cert: IssuedCert, extra: object = {}): Promise<Stapler> => {
    const s = await createStapler({ cert: cert.certPem, ca: env.pki.root.certPem, certPath: cert.certFile, memory: false, ...extra });
    staplers.push(s);
    return s;
  };
  before(async () => {
    env = await setup();
  });
  after(async () => {
    for (const s of staplers) s.close();
    for (const s of servers) await new Promise((r) => s.close(r));
    await env.close();
  });

  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`${maxVersion}: the client receives exactly the stapled bytes`, async () => {
      const s = await stapler(env.pki.serverMustStaple);
      const server = await serve(env.pki.serverMustStaple);
      s.attach(server);
      const port = await listen(server);
      const hs = await connect(port, env.pki.root.certPem, { maxVersion });
      assert.equal(hs.protocol, maxVersion);
      assert.ok(hs.staple, 'a staple was received');
      assert.deepEqual(hs.staple, s.current());
      assert.equal(parseOcspResponse(hs.staple).responses[0]!.certId.serial.toString('hex'), env.pki.serverMustStaple.serialHex);
      assert.equal(s.status().counters.handshakes_stapled, 1);
      // a client that does not ask gets nothing and the handshake is unaffected
      const plain = await connect(port, env.pki.root.certPem, { maxVersion, requestOCSP: false });
      assert.equal(plain.staple, null);
    });
  }

  it('SNI: two certificates on one server, each handshake gets its own staple', async () => {
    const a = await env.pki.issue('sniA', { mustStaple: true, dnsNames: ['a.test'], eku: ['serverAuth'] });
    const b = await env.pki.issue('sniB', { mustStaple: true, dnsNames: ['b.test'], eku: ['serverAuth'] });
    const sa = await stapler(a);
    const sb = await stapler(b);
    const ctxB = tls.createSecureContext({ cert: b.certPem, key: b.keyPem });
    const server = await serve(a, { SNICallback: (name, cb) => cb(null, name === 'b.test' ? ctxB : undefined) });
    const handle = attachStaplers(server, [sa, sb]);
    const port = await listen(server);
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      const ha = await connect(port, env.pki.root.certPem, { servername: 'a.test', maxVersion });
      const hb = await connect(port, env.pki.root.certPem, { servername: 'b.test', maxVersion });
      assert.deepEqual(ha.staple, sa.current());
      assert.deepEqual(hb.staple, sb.current());
      assert.notDeepEqual(ha.staple, hb.staple);
      assert.equal(parseOcspResponse(hb.staple!).responses[0]!.certId.serial.toString('hex'), b.serialHex);
    }
    // a certificate without a stapler gets no staple, never another certificate's
    handle.update([sb]);
    const hc = await connect(port, env.pki.root.certPem, { servername: 'a.test' });
    assert.equal(hc.staple, null);
    assert.equal(handle.unmatchedHandshakes, 1);
    handle.detach();
    assert.equal(server.listenerCount('OCSPRequest'), 0);
  });

  it('a stapler attached to a server whose certificate differs never staples', async () => {
    const s = await stapler(env.pki.serverMustStaple);
    const other = await env.pki.issue('otherServer', { mustStaple: true });
    const server = await serve(other);
    s.attach(server);
    const hs = await connect(await listen(server), env.pki.root.certPem);
    assert.equal(hs.staple, null);
  });

  it('several attach() calls share one OCSPRequest listener (no double callback)', async () => {
    const s1 = await stapler(env.pki.serverMustStaple);
    const s2 = await stapler(env.pki.serverRevoked);
    const server = await serve(env.pki.serverMustStaple);
    const d1 = s1.attach(server);
    const d2 = s2.attach(server);
    assert.equal(server.listenerCount('OCSPRequest'), 1);
    const hs = await connect(await listen(server), env.pki.root.certPem);
    assert.deepEqual(hs.staple, s1.current());
    d2();
    d1();
    assert.equal(server.listenerCount('OCSPRequest'), 0);
  });

  it('an expired staple is not sent, and the handshake still succeeds', async () => {
    const clock = new FakeClock();
    const s = await stapler(env.pki.serverMustStaple, { now: clock.now, timers: clock });
    const server = await serve(env.pki.serverMustStaple);
    s.attach(server);
    const port = await listen(server);
    assert.ok((await connect(port, env.pki.root.certPem)).staple);
    env.responder.setFault({ type: 'http-status', status: 503 });
    try {
      clock.set(Date.parse(s.status().expires_at!) + 1000);
      const hs = await connect(port, env.pki.root.certPem);
      assert.equal(hs.staple, null);
      assert.equal(s.status().status, 'expired');
      assert.equal(s.status().counters.handshakes_without_staple, 1);
    } finally {
      env.responder.setFault(null);
    }
  });

  it('a closed stapler sends nothing and detaches itself', async () => {
    const s = await stapler(env.pki.serverMustStaple);
    const server = await serve(env.pki.serverMustStaple);
    s.attach(server);
    s.close();
    assert.equal(server.listenerCount('OCSPRequest'), 0);
    const hs = await connect(await listen(server), env.pki.root.certPem);
    assert.equal(hs.staple, null);
  });

  it('works with https.createServer (the documented example)', async () => {
    const cert = env.pki.serverMustStaple;
    const s = await stapler(cert);
    const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => res.end('ok'));
    servers.push(server);
    s.attach(server);
    const hs = await connect(await listen(server), env.pki.root.certPem);
    assert.deepEqual(hs.staple, s.current());
    assert.equal(parseCertificate(cert.der).mustStaple, true);
  });
});
