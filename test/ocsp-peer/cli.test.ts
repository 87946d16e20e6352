// `tsnats ocsp check --peer`: the same verdict as the server, with `tsnats ocsp check`'s exit statuses.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { BIN } from '../stapling/helpers.js';
import { setupPeer, type PeerEnv } from './helpers.js';

let env: PeerEnv;
before(async () => {
  env = await setupPeer();
});
after(async () => {
  await env.close();
});

/** Asynchronous: the responders live in this process and must keep answering. */
function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'ocsp', 'check', '--peer', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

test('ocsp check --peer: admitted 0, revoked 2, unknown 3, unreachable 4 (0 with the option), chain, usage 1', async () => {
  const { pki, responder, intResponder } = env;
  const good = await run(['--cert', env.good.certFile, '--ca', pki.caFile]);
  assert.equal(good.code, 0, good.out + good.err);
  assert.match(good.out, /Verdict: admitted/);

  const rev = await pki.issue('cli-revoked', { eku: ['clientAuth'] });
  responder.setStatus(rev.serialHex, 'revoked');
  const r = await run(['--cert', rev.certFile, '--ca', pki.caFile, '--json']);
  assert.equal(r.code, 2);
  const j = JSON.parse(r.out) as { outcome: string; admitted: boolean; reason: string };
  assert.equal(j.outcome, 'revoked');
  assert.equal(j.admitted, false);
  assert.equal(j.reason, 'Invalid OCSP response status: revoked');
  assert.equal((await run(['--cert', rev.certFile, '--ca', pki.caFile, '--warn-only'])).code, 0);

  const unk = await pki.issue('cli-unknown', { eku: ['clientAuth'] });
  responder.setStatus(unk.serialHex, 'unknown');
  assert.equal((await run(['--cert', unk.certFile, '--ca', pki.caFile])).code, 3);
  assert.equal((await run(['--cert', unk.certFile, '--ca', pki.caFile, '--unknown-is-good'])).code, 0);

  const down = await pki.issue('cli-down', { eku: ['clientAuth'], ocspUrls: ['http://127.0.0.1:1/'] });
  assert.equal((await run(['--cert', down.certFile, '--ca', pki.caFile, '--timeout', '1s'])).code, 4);
  assert.equal((await run(['--cert', down.certFile, '--ca', pki.caFile, '--allow-when-ca-unreachable'])).code, 0);

  const none = await pki.issue('cli-none', { eku: ['clientAuth'], ocspUrls: [] });
  assert.equal((await run(['--cert', none.certFile, '--ca', pki.caFile])).code, 5);

  // Two links: leaf (intermediate's responder) and the intermediate (root's responder).
  const chainOk = await run(['--cert', env.viaInt.bundleFile, '--ca', pki.caFile, '--json']);
  assert.equal(chainOk.code, 0, chainOk.out);
  assert.equal((JSON.parse(chainOk.out) as { links: unknown[] }).links.length, 2);
  intResponder.setStatus(env.viaInt.serialHex, 'revoked');
  assert.equal((await run(['--cert', env.viaInt.bundleFile, '--ca', pki.caFile])).code, 2);
  intResponder.setStatus(env.viaInt.serialHex, 'good');

  assert.equal((await run(['--cert', env.good.certFile])).code, 1, '--ca is required');
  assert.equal((await run(['--cert', env.viaInt.certFile, '--ca', pki.caFile])).code, 1, 'no issuer for a leaf without its intermediate');
});
