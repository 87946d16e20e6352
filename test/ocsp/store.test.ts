import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import {
  StapleStore,
  buildOcspRequest,
  certIdFor,
  createStapler,
  parseCertificate,
  type StaplerOptions,
} from '../../src/ocsp/index.js';
import { recordingLogger, setup, type Env } from './helpers.js';

describe('ocsp disk store', () => {
  let env: Env;
  let dirs: string[] = [];
  const newDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'ocsp-store-'));
    dirs.push(d);
    return d;
  };
  const base = (storeDir: string, extra: Partial<StaplerOptions> = {}): StaplerOptions => ({
    cert: env.pki.serverMustStaple.certPem,
    ca: env.pki.root.certPem,
    certPath: env.pki.serverMustStaple.certFile,
    storeDir,
    memory: false,
    ...extra,
  });
  const fileOf = (storeDir: string): string => join(storeDir, 'ocsp', createHash('sha256').update(env.pki.serverMustStaple.der).digest('hex'));
  const rawResponse = async (certDer: Buffer): Promise<Buffer> => {
    const req = buildOcspRequest(certIdFor(parseCertificate(certDer), parseCertificate(env.pki.root.der)));
    const res = await fetch(env.responder.url, { method: 'POST', body: req });
    return Buffer.from(await res.arrayBuffer());
  };

  before(async () => {
    env = await setup();
  });
  after(async () => {
    await env.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    dirs = [];
  });

  it('writes the verified DER to <store_dir>/ocsp/<sha256 of leaf DER>, 0600 in a 0700 dir, atomically', async () => {
    env.responder.setFault(null);
    const dir = newDir();
    const s = await createStapler(base(dir));
    try {
      const file = fileOf(dir);
      assert.deepEqual(readFileSync(file), s.current());
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(join(dir, 'ocsp')).mode & 0o777, 0o700);
      assert.deepEqual(readdirSync(join(dir, 'ocsp')), [createHash('sha256').update(env.pki.serverMustStaple.der).digest('hex')]);
    } finally {
      s.close();
    }
  });

  it('StapleStore.write replaces atomically and leaves no temp files', async () => {
    const dir = newDir();
    const store = new StapleStore(dir);
    await store.init();
    const h = 'a'.repeat(64);
    await store.write(h, Buffer.from('one'));
    await store.write(h, Buffer.from('two'));
    assert.equal(readFileSync(store.pathFor(h), 'utf8'), 'two');
    assert.deepEqual(readdirSync(store.dir), [h]);
    assert.equal(await store.read('b'.repeat(64)), undefined);
    assert.throws(() => store.pathFor('../etc/passwd'));
  });

  it('starts from a valid disk staple without asking the responder (restart)', async () => {
    env.responder.setFault(null);
    const dir = newDir();
    const first = await createStapler(base(dir));
    const der = first.current();
    first.close();
    env.responder.resetRequests();
    env.responder.setFault({ type: 'http-status', status: 503 });
    const log = recordingLogger();
    const second = await createStapler(base(dir, { logger: log }));
    try {
      assert.deepEqual(second.current(), der);
      assert.equal(second.status().source, 'disk');
      assert.equal(env.responder.requests.total, 0);
      assert.ok(log.find(/^Found OCSP status for Client certificate at '.*serverMustStaple\.pem': good, next update /));
    } finally {
      second.close();
      env.responder.setFault(null);
    }
  });

  for (const [name, content] of [
    ['corrupt', async () => Buffer.from('this is not DER')],
    ['truncated', async () => (await rawResponse(env.pki.serverMustStaple.der)).subarray(0, 100)],
    ['foreign (another certificate)', async () => rawResponse(env.pki.server.der)],
    ['expired', async () => {
      env.responder.setFault('expired');
      try {
        return await rawResponse(env.pki.serverMustStaple.der);
      } finally {
        env.responder.setFault(null);
      }
    }],
    ['badly signed', async () => {
      env.responder.setFault('bad-signature');
      try {
        return await rawResponse(env.pki.serverMustStaple.der);
      } finally {
        env.responder.setFault(null);
      }
    }],
    ['empty', async () => Buffer.alloc(0)],
  ] as const) {
    it(`ignores a ${name} file with a warning and replaces it with the next good fetch`, async () => {
      const dir = newDir();
      mkdirSync(join(dir, 'ocsp'), { recursive: true, mode: 0o700 });
      const bad = await content();
      writeFileSync(fileOf(dir), bad, { mode: 0o600 });
      env.responder.setFault(null);
      env.responder.resetRequests();
      const log = recordingLogger();
      const s = await createStapler(base(dir, { logger: log }));
      try {
        assert.equal(s.status().source, 'responder');
        assert.equal(env.responder.requests.total, 1);
        assert.ok(
          log.all('warn').some((m) => m.startsWith(`Ignoring cached OCSP status for certificate at '${env.pki.serverMustStaple.certFile}' in '${fileOf(dir)}': `)),
          JSON.stringify(log.lines),
        );
        assert.deepEqual(readFileSync(fileOf(dir)), s.current());
      } finally {
        s.close();
      }
    });
  }

  it('a failed write only warns: the fetch and the staple stand', async () => {
    env.responder.setFault(null);
    const dir = newDir();
    mkdirSync(fileOf(dir), { recursive: true }); // the file name is taken by a directory
    const log = recordingLogger();
    const s = await createStapler(base(dir, { logger: log }));
    try {
      assert.equal(s.status().status, 'good');
      assert.ok(s.current());
      assert.ok(log.all('warn').some((m) => /^Unable to cache OCSP status for certificate '.*': failed to write ocsp status: /.test(m)), JSON.stringify(log.lines));
      assert.deepEqual(readdirSync(join(dir, 'ocsp')).filter((f) => f.startsWith('tmp-')), []);
    } finally {
      s.close();
    }
  });

  it('store_dir errors as nats-server', async () => {
    const dir = newDir();
    writeFileSync(join(dir, 'ocsp'), 'x');
    await assert.rejects(createStapler(base(dir)), { code: 'ERR_OCSP_STORE_DIR', message: 'OCSP storage directory is not a directory' });
    const file = join(newDir(), 'file');
    writeFileSync(file, 'x');
    await assert.rejects(createStapler(base(file)), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_OCSP_STORE_DIR');
      assert.match(e.message, /^could not create OCSP storage directory - /);
      return true;
    });
  });

  it('does not create the store for certificates that are not stapled', async () => {
    const dir = newDir();
    const s = await createStapler(base(dir, { cert: env.pki.server.certPem }));
    s.close();
    assert.deepEqual(readdirSync(dir), []);
  });
});
