// examples/https-stapling.ts: the standalone engine on a plain https.Server, run as a user would.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { EXAMPLE, runNode } from './helpers.js';

it('examples/https-stapling: staple, verify, GET, revoke → shutdown; exits 0 and cleans up', { timeout: 60_000 }, async () => {
  const r = await runNode(EXAMPLE);
  try {
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /Found OCSP status for Client certificate at '.*': good/);
    assert.match(r.stdout, /is up, stapling: true, status: good/);
    assert.match(r.stdout, /client: staple of \d+ bytes, status good, signed by .*root CA/);
    assert.match(r.stdout, /client: GET \/ -> hello over a stapled connection/);
    assert.match(r.stdout, /shutdown: Received OCSP status for Client certificate '.*': revoked/);
    assert.match(r.stdout, /after revocation: status revoked/);
    assert.deepEqual(r.leftovers(), []);
  } finally {
    r.removeTmp();
  }
});
