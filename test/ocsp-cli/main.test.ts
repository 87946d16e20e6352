// The standalone entry `node dist/src/cli/ocsp-main.js ...`: real process exit statuses.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setup, type Env } from './helpers.js';

const MAIN = fileURLToPath(new URL('../../src/cli/ocsp-main.js', import.meta.url));

/** Async spawn: the responder lives in this process, so the event loop must keep running. */
function node(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('ocsp-main.js (process exit statuses)', () => {
  let env: Env;
  before(async () => {
    env = await setup();
  });
  after(async () => {
    await env.close();
  });

  it('good → 0 with one JSON object; revoked → 2; usage → 1', async () => {
    const { pki, responder } = env;
    const good = await node(['check', '--cert', pki.serverMustStaple.bundleFile, '--json']);
    assert.equal(good.code, 0, good.stderr);
    assert.equal(JSON.parse(good.stdout).outcome, 'good');

    responder.setStatus(pki.serverRevoked.serialHex, 'revoked');
    const revoked = await node(['check', '--cert', pki.serverRevoked.bundleFile]);
    assert.equal(revoked.code, 2);
    assert.match(revoked.stdout, /Result: REVOKED \(exit 2\)/);

    const usage = await node([]);
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /missing command/);
  });
});
