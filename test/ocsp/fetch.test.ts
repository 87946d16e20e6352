import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import {
  OcspFetchError,
  buildOcspRequest,
  certIdFor,
  fetchOcspResponse,
  parseCertificate,
  verifyOcspResponse,
  type CertificateInfo,
  type FetchOptions,
  type VerifiedOcspResponse,
} from '../../src/ocsp/index.js';
import { startResponder } from '../../src/testkit/index.js';
import { recordingLogger, setup, type Env } from './helpers.js';

/** A URL on which nothing listens. */
async function deadUrl(): Promise<string> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

describe('ocsp fetch', () => {
  let env: Env;
  let leaf: CertificateInfo;
  let root: CertificateInfo;
  let request: Buffer;
  const opts = (urls: string[], extra: Partial<FetchOptions<VerifiedOcspResponse>> = {}): FetchOptions<VerifiedOcspResponse> => ({
    urls,
    request,
    accept: (der) => verifyOcspResponse(der, { leaf, issuer: root }),
    ...extra,
  });
  const reset = (): void => {
    env.responder.setFault(null);
    env.responder.resetRequests();
  };

  before(async () => {
    env = await setup();
    leaf = parseCertificate(env.pki.serverMustStaple.der);
    root = parseCertificate(env.pki.root.der);
    request = buildOcspRequest(certIdFor(leaf, root));
  });
  after(async () => {
    await env.close();
  });

  it('POSTs with the OCSP content types and returns the verified response', async () => {
    reset();
    const log = recordingLogger();
    const res = await fetchOcspResponse(opts([env.responder.url], { logger: log }));
    assert.equal(res.method, 'POST');
    assert.equal(res.value.status, 'good');
    assert.equal(env.responder.requests.post, 1);
    assert.equal(env.responder.requests.get, 0);
    assert.equal(env.responder.requests.bySerial[leaf.serialHex.replace(/^0+/, '')], 1);
    assert.match(
      log.all('debug')[0]!,
      new RegExp(`^Received OCSP response \\(method=POST, status=200, url=${env.responder.url}, duration=\\d+\\.\\d{3}s\\)$`),
    );
  });

  it('falls back to GET (URL-encoded) when POST fails', async () => {
    reset();
    env.responder.setFault('only-get');
    const res = await fetchOcspResponse(opts([env.responder.url + '/']));
    assert.equal(res.method, 'GET');
    assert.equal(res.attempts.length, 2);
    assert.equal(res.attempts[0]!.httpStatus, 400);
    assert.equal(env.responder.requests.get, 1);
    assert.equal(res.value.status, 'good');
  });

  it('fails over to the next URL in order', async () => {
    reset();
    const dead = await deadUrl();
    const res = await fetchOcspResponse(opts([dead, env.responder.url]));
    assert.equal(res.url, env.responder.url);
    assert.deepEqual(
      res.attempts.map((a) => [a.url, a.method, a.error?.code ?? 'ok']),
      [
        [dead, 'POST', 'ERR_OCSP_NETWORK'],
        [dead, 'GET', 'ERR_OCSP_NETWORK'],
        [env.responder.url, 'POST', 'ok'],
      ],
    );
  });

  it('moves on to the next URL when a responder answers with an unacceptable response', async () => {
    reset();
    const other = await startResponder({ issuer: env.pki.root });
    try {
      env.responder.setFault({ type: 'ocsp-status', status: 'tryLater' });
      const res = await fetchOcspResponse(opts([env.responder.url, other.url]));
      assert.equal(res.url, other.url);
      // a refused OCSP answer is not retried with GET at the same responder
      assert.equal(env.responder.requests.get, 0);
      await assert.rejects(fetchOcspResponse(opts([env.responder.url])), {
        code: 'ERR_OCSP_UNSUCCESSFUL',
        message: 'failed to get remote status: ocsp: error from server: try later',
      });
    } finally {
      await other.close();
    }
  });

  it('tries GET after a POST body that is not an OCSP response', async () => {
    reset();
    env.responder.setFault('html');
    const err = await fetchOcspResponse(opts([env.responder.url])).catch((e: unknown) => e);
    assert.ok(err instanceof OcspFetchError);
    assert.equal(err.code, 'ERR_OCSP_EXHAUSTED');
    assert.equal(env.responder.requests.post, 1);
    assert.equal(env.responder.requests.get, 1);
  });

  it('fails with nats-server’s exact text when every method fails', async () => {
    reset();
    env.responder.setFault({ type: 'http-status', status: 400 });
    const b64 = request.toString('base64').length;
    await assert.rejects(fetchOcspResponse(opts([env.responder.url])), {
      code: 'ERR_OCSP_EXHAUSTED',
      message: `exhausted ocsp servers: non-ok http status on POST request (reqlen=${request.length}): 400\nnon-ok http status on GET request (reqlen=${b64}): 400`,
    });
  });

  it('says `no available ocsp servers` without URLs', async () => {
    await assert.rejects(fetchOcspResponse(opts([])), { code: 'ERR_OCSP_NO_RESPONDERS', message: 'no available ocsp servers' });
  });

  it('does not follow redirects', async () => {
    reset();
    const other = await startResponder({ issuer: env.pki.root });
    try {
      env.responder.setFault({ type: 'redirect', location: other.url });
      await assert.rejects(fetchOcspResponse(opts([env.responder.url])), /non-ok http status on POST request \(reqlen=\d+\): 302/);
      assert.equal(other.requests.total, 0);
    } finally {
      await other.close();
    }
  });

  it('times out a responder that never answers, within a bounded time', async () => {
    reset();
    env.responder.setFault('hang');
    const t0 = Date.now();
    const err = (await fetchOcspResponse(opts([env.responder.url], { timeoutMs: 300 })).catch((e: unknown) => e)) as OcspFetchError;
    const took = Date.now() - t0;
    assert.equal(err.code, 'ERR_OCSP_EXHAUSTED');
    assert.deepEqual(err.attempts.map((a) => a.error?.code), ['ERR_OCSP_TIMEOUT', 'ERR_OCSP_TIMEOUT']);
    assert.match(err.message, /timeout after 300ms/);
    assert.ok(took < 1500, `took ${took} ms`);
  });

  it('times out a drip-feeding responder (the timeout covers the body)', async () => {
    reset();
    env.responder.setFault({ type: 'drip', intervalMs: 100 });
    const t0 = Date.now();
    const err = (await fetchOcspResponse(opts([env.responder.url], { timeoutMs: 400 })).catch((e: unknown) => e)) as OcspFetchError;
    assert.deepEqual(err.attempts.map((a) => a.error?.code), ['ERR_OCSP_TIMEOUT', 'ERR_OCSP_TIMEOUT']);
    assert.ok(Date.now() - t0 < 2000);
  });

  it('accepts a slow but timely responder', async () => {
    reset();
    env.responder.setFault({ type: 'delay', ms: 100 });
    const res = await fetchOcspResponse(opts([env.responder.url], { timeoutMs: 2000 }));
    assert.equal(res.value.status, 'good');
    assert.ok(res.attempts[0]!.durationMs >= 90);
  });

  it('caps the body size while streaming (100 MB never read)', async () => {
    reset();
    env.responder.setFault({ type: 'huge', bytes: 100 * 1024 * 1024 });
    const t0 = Date.now();
    const mem0 = process.memoryUsage().rss;
    const err = (await fetchOcspResponse(opts([env.responder.url], { maxResponseBytes: 64 * 1024 })).catch((e: unknown) => e)) as OcspFetchError;
    assert.deepEqual(err.attempts.map((a) => a.error?.code), ['ERR_OCSP_TOO_LARGE', 'ERR_OCSP_TOO_LARGE']);
    assert.ok(Date.now() - t0 < 3000);
    assert.ok(process.memoryUsage().rss - mem0 < 50 * 1024 * 1024);
  });

  it('refuses an announced oversize body before reading it', async () => {
    reset();
    env.responder.setFault({ type: 'huge', bytes: 100 * 1024 * 1024, contentLength: true });
    const err = (await fetchOcspResponse(opts([env.responder.url])).catch((e: unknown) => e)) as OcspFetchError;
    assert.match(err.attempts[0]!.error!.message, /response of 104857600 bytes exceeds the limit of 262144 bytes/);
  });

  it('rejects bad URLs and unsupported schemes, and continues with the next', async () => {
    reset();
    const res = await fetchOcspResponse(opts(['ldap://x', 'not a url', env.responder.url]));
    assert.equal(res.url, env.responder.url);
    assert.deepEqual(res.attempts.slice(0, 2).map((a) => a.error?.code), ['ERR_OCSP_BAD_URL', 'ERR_OCSP_BAD_URL']);
  });

  it('can be aborted', async () => {
    reset();
    env.responder.setFault('hang');
    const ac = new AbortController();
    const p = fetchOcspResponse(opts([env.responder.url], { signal: ac.signal, timeoutMs: 10_000 }));
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(p, { code: 'ERR_OCSP_ABORTED' });
  });

  it('reports every attempt through onAttempt', async () => {
    reset();
    env.responder.setFault('only-get');
    const seen: string[] = [];
    await fetchOcspResponse(opts([env.responder.url], { onAttempt: (a) => seen.push(`${a.method}:${a.httpStatus}:${a.error ? 'err' : 'ok'}`) }));
    assert.deepEqual(seen, ['POST:400:err', 'GET:200:ok']);
  });
});
