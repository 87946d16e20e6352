// ocsp_peer / ocsp_cache configuration: spellings, defaults, errors with file:line:col, reload.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ConfigError, parseConfigText } from '../../src/config/index.js';
import { NATS_SERVER } from '../stapling/helpers.js';
import { monitorJson, peerConf, rawClient, setupPeer, startTs, type PeerEnv } from './helpers.js';

const parse = (text: string) => parseConfigText(text, 'p.conf', { checkFiles: false });
function errorOf(text: string): ConfigError {
  try {
    parse(text);
  } catch (e) {
    return e as ConfigError;
  }
  assert.fail('expected a configuration error');
}
const TLS = 'tls {\n  cert_file: c\n  key_file: k\n  verify: true\n';

describe('ocsp_peer configuration', () => {
  test('true, false and the block form with nats-server defaults', () => {
    let t = parse(`${TLS}  ocsp_peer: true\n}`).options.tls!;
    assert.deepEqual(t.ocspPeer, {
      verify: true,
      caTimeoutMs: 2000,
      allowedClockSkewMs: 30000,
      cacheTtlWhenNextUpdateUnsetMs: 3600000,
      warnOnly: false,
      unknownIsGood: false,
      allowWhenCaUnreachable: false,
    });
    t = parse(`${TLS}  ocsp_peer: false\n}`).options.tls!;
    assert.equal(t.ocspPeer?.verify, false);
    t = parse(
      `${TLS}  ocsp_peer {\n    Verify: true\n    ca_timeout: 0.5\n    allowed_clockskew: "1m"\n    cache_ttl_when_next_update_unset: 10\n    warn_only: true\n    unknown_is_good: true\n    allow_when_ca_unreachable: true\n  }\n}`,
    ).options.tls!;
    assert.deepEqual(t.ocspPeer, {
      verify: true,
      caTimeoutMs: 500,
      allowedClockSkewMs: 60000,
      cacheTtlWhenNextUpdateUnsetMs: 10000,
      warnOnly: true,
      unknownIsGood: true,
      allowWhenCaUnreachable: true,
    });
  });

  test('errors carry file:line:col', () => {
    let e = errorOf('tls {\n  cert_file: c\n  key_file: k\n  ocsp_peer: true\n}');
    assert.equal(e.message, 'p.conf:4:3: OCSP peer verification for client connections requires TLS verify (mTLS) to be enabled');
    e = errorOf(`${TLS}  ocsp_peer {\n    verify: true\n    allowed_clock_skew: 5\n  }\n}`);
    assert.equal(e.message, 'p.conf:7:5: error parsing tls peer config, unknown field ["allowed_clock_skew"]');
    e = errorOf(`${TLS}  ocsp_peer: "yes"\n}`);
    assert.match(e.message, /^p\.conf:5:3: error parsing ocsp peer config: unsupported type/);
    e = errorOf(`${TLS}  ocsp_peer { ca_timeout: "soon" }\n}`);
    assert.match(e.message, /^p\.conf:5:15: error parsing tls peer config, conversion error: time: invalid duration "soon"/);
    e = errorOf(`${TLS}  ocsp_peer { warn_only: 1 }\n}`);
    assert.match(e.message, /^p\.conf:5:15: error parsing tls peer config, expected 'warn_only' to be a boolean/);
  });

  test('verify_and_map satisfies the prerequisite', () => {
    const t = parse('tls {\n  cert_file: c\n  key_file: k\n  verify_and_map: true\n  ocsp_peer: true\n}').options.tls!;
    assert.equal(t.ocspPeer?.verify, true);
  });

  test('ocsp_cache forms and errors', () => {
    assert.equal(parse('ocsp_cache: true').options.ocspCache?.type, 'local');
    assert.equal(parse('ocsp_cache: false').options.ocspCache?.type, 'none');
    assert.deepEqual(parse('ocsp_cache { type: LOCAL, local_store: "/x/y", preserve_revoked: true, save_interval: "1.5s" }').options.ocspCache, {
      type: 'local',
      localStore: '/x/y',
      preserveRevoked: true,
      saveIntervalMs: 1000,
    });
    assert.equal(parse('ocsp_cache { save_interval: 0.2 }').options.ocspCache?.saveIntervalMs, 1000);
    assert.equal(errorOf('ocsp_cache { type: disk }').message, 'p.conf:1:14: error parsing OCSP peer cache config, unknown type [disk]');
    assert.equal(errorOf('ocsp_cache {\n  store: x\n}').message, 'p.conf:2:3: error parsing OCSP peer cache config, unknown field ["store"]');
    assert.match(errorOf('ocsp_cache: 5').message, /^p\.conf:1:1: error parsing OCSP peer cache config, unsupported type/);
  });

  test('nats-server 2.9.10 rejects ocsp_peer (it is a 2.10+ option)', { skip: NATS_SERVER ? false : 'nats-server not installed' }, (t) => {
    void t;
    const f = join(tmpdir(), `ocsp-peer-${process.pid}.conf`);
    writeFileSync(f, 'tls {\n  cert_file: c\n  key_file: k\n  verify: true\n  ocsp_peer: true\n}\n');
    const r = spawnSync(NATS_SERVER!, ['-t', '-c', f], { encoding: 'utf8', timeout: 10000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr + r.stdout, /:5:3: error parsing tls config, unknown field \["ocsp_peer"\]/);
  });
});

describe('ocsp_peer reload', () => {
  let env: PeerEnv;
  before(async () => {
    env = await setupPeer();
  });
  after(async () => {
    await env.close();
  });

  test('toggling ocsp_peer by reload applies to new connections; /varz follows', async () => {
    const revoked = await env.pki.issue('reload-revoked', { eku: ['clientAuth'] });
    env.responder.setStatus(revoked.serialHex, 'revoked');
    const http = 'http: "127.0.0.1:-1"\n';
    const ts = await startTs(env.dir, peerConf(env, 'false', http));
    try {
      const mport = ts.server.monitor.port;
      assert.equal((await rawClient(ts.port, revoked, env)).admitted, true);
      let v = await monitorJson(mport, '/varz');
      assert.equal(v.tls_ocsp_peer_verify, undefined);
      assert.equal(v.ocsp_peer_cache, undefined);

      await ts.reloadWith(peerConf(env, 'true', http));
      assert.equal((await rawClient(ts.port, revoked, env)).admitted, false);
      assert.equal((await rawClient(ts.port, env.good, env)).admitted, true);
      v = await monitorJson(mport, '/varz');
      assert.equal(v.tls_ocsp_peer_verify, true);
      assert.equal((v.ocsp_peer_cache as Record<string, unknown>).cache_type, 'local');

      await ts.reloadWith(peerConf(env, '{ verify: true, warn_only: true }', http + 'ocsp_cache: false\n'));
      assert.equal((await rawClient(ts.port, revoked, env)).admitted, true);
      v = await monitorJson(mport, '/varz');
      assert.equal(v.ocsp_peer_cache, undefined, 'no cache section with ocsp_cache: false (as nats-server)');
      assert.ok(ts.logs.some((l) => l.includes('Reloaded OCSP peer cache')));

      await ts.reloadWith(peerConf(env, 'false', http));
      assert.equal((await rawClient(ts.port, revoked, env)).admitted, true);
      v = await monitorJson(mport, '/varz');
      assert.equal(v.tls_ocsp_peer_verify, undefined);
    } finally {
      await ts.stop();
    }
  });

  test('a reload that breaks the prerequisite is refused with the position', async () => {
    const ts = await startTs(env.dir, peerConf(env, 'true'));
    try {
      const text = `store_dir: "${env.dir}"\ntls {\n  cert_file: "${env.pki.server.certFile}"\n  key_file: "${env.pki.server.keyFile}"\n  ocsp_peer: true\n}\n`;
      await assert.rejects(ts.reloadWith(text), /:7:3: OCSP peer verification for client connections requires TLS verify \(mTLS\) to be enabled/);
      assert.equal((await rawClient(ts.port, env.good, env)).admitted, true, 'the old configuration still serves');
    } finally {
      await ts.stop();
    }
  });
});
