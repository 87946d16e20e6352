// `npm run demo` (dist/src/demo/main.js) as a user runs it: a child process, its output, its exit
// status, its duration, and what it leaves behind (nothing: no temp dir, no server process).

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { alive, DEMO, runNode, serverPid } from './helpers.js';

describe('demo', () => {
  it('tells the whole story and exits 0 in under 30 s, leaving nothing behind', { timeout: 90_000 }, async () => {
    const r = await runNode(DEMO);
    try {
      const out = r.stdout;
      assert.equal(r.code, 0, `exit ${r.code} ${r.signal ?? ''}\n${out}\n${r.stderr}`);
      assert.ok(r.ms < 30_000, `took ${r.ms} ms`);
      // Numbered steps, no colour codes when stdout is not a terminal.
      for (let i = 1; i <= 6; i++) assert.match(out, new RegExp(`^\\[${i}/6\\] `, 'm'));
      assert.doesNotMatch(out, /\x1b\[/);
      // The server started in mode must and fetched its first staple before being ready.
      assert.match(out, /Found OCSP status for Client certificate at '.*': good/);
      assert.match(out, /✔ first staple fetched before "Server is ready", and cached: store\/ocsp\//);
      // The client got the staple and the engine's verifier accepted it.
      assert.match(out, /✔ staple received: \d+ bytes of DER/);
      assert.match(out, /^ +status +good$/m);
      assert.match(out, /^ +CertID serial +[0-9a-f…]+ = serial of the presented certificate$/m);
      assert.match(out, /✔ staple verified by tsnats\/ocsp verifyOcspResponse: status good/);
      assert.match(out, /✔ NATS on the same connection: CONNECT \+ PING → PONG/);
      // /ocspz, with a URL to curl.
      assert.match(out, /curl -s http:\/\/127\.0\.0\.1:\d+\/ocspz/);
      assert.match(out, /✔ \/ocspz reports status good for the client certificate/);
      // A working NATS server.
      assert.match(out, /✔ received on demo\.greeting: "hello from a server with a verified OCSP staple"/);
      // Revocation noticed, and the documented exit status.
      assert.match(out, /✔ the server noticed the revocation [\d.]+m?s after it happened/);
      assert.match(out, /\[ERR\] Received OCSP status for Client certificate '.*': revoked/);
      assert.match(out, /✔ tsnats exited with status 20 \(ExitCode\.OCSP_REVOKED/);
      assert.match(out, /^Demo OK: /m);
      // Nothing left: the temp dir is gone and so is the server.
      assert.deepEqual(r.leftovers(), [], 'temp files left behind');
      const pid = serverPid(out);
      assert.ok(pid, 'the demo prints the server pid');
      assert.equal(alive(pid), false, `tsnats (pid ${pid}) is still running`);
    } finally {
      r.removeTmp();
    }
  });

  it('Ctrl-C stops the server and removes the temp dir (exit 130)', { timeout: 60_000 }, async () => {
    let sent = false;
    const r = await runNode(DEMO, {
      onStdout: (out, ctl) => {
        // As soon as the server is running.
        if (!sent && serverPid(out)) {
          sent = true;
          ctl.kill('SIGINT');
        }
      },
    });
    try {
      assert.ok(sent, r.stdout);
      assert.equal(r.code, 130, `exit ${r.code} ${r.signal ?? ''}\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /Interrupted \(SIGINT\): stopping the server and the responder, removing the temp dir/);
      assert.deepEqual(r.leftovers(), []);
      assert.equal(alive(serverPid(r.stdout)!), false);
    } finally {
      r.removeTmp();
    }
  });

  it('a failure is reported clearly, exits 1, and still cleans up', { timeout: 60_000 }, async () => {
    const r = await runNode(DEMO, { env: { TSNATS_DEMO_FAULT: 'responder-down' } });
    try {
      assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /✘ Demo FAILED: tsnats exited during start-up \(exit status 1\)/);
      // The server's own reason is shown.
      assert.match(r.stdout, /\[FTL\] bad OCSP status update for certificate at '.*': .*503/);
      assert.doesNotMatch(r.stdout, /Demo OK/);
      assert.doesNotMatch(r.stdout, /^\s+at /m, 'no stack trace for an expected failure');
      assert.deepEqual(r.leftovers(), []);
    } finally {
      r.removeTmp();
    }
  });

  it('--keep leaves the temp dir for inspection', { timeout: 60_000 }, async () => {
    // The failure path is enough to see --keep (and is where keeping is most useful).
    const r = await runNode(DEMO, { args: ['--keep'], env: { TSNATS_DEMO_FAULT: 'responder-down' } });
    try {
      assert.equal(r.code, 1);
      const kept = r.leftovers();
      assert.equal(kept.length, 1, String(kept));
      const dir = join(r.tmp, kept[0]!);
      assert.match(r.stdout, new RegExp(`Kept ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(--keep\\)`));
      assert.ok(existsSync(join(dir, 'tsnats.conf')));
      assert.ok(existsSync(join(dir, 'pki', 'serverMustStaple-bundle.pem')));
    } finally {
      r.removeTmp();
    }
  });

  it('--pause waits for Enter with the server running, then goes on', { timeout: 60_000 }, async () => {
    let ocspz: Promise<Record<string, unknown>> | undefined;
    const r = await runNode(DEMO, {
      args: ['--pause'],
      stdin: true,
      onStdout: (out, ctl) => {
        if (ocspz || !out.includes('Press Enter to revoke')) return;
        // While paused, the commands it suggests work: /ocspz answers, with status good.
        const url = /curl -s (http:\/\/127\.0\.0\.1:\d+\/ocspz)\n/.exec(out.slice(out.indexOf('Paused (--pause)')))![1]!;
        ocspz = fetch(url).then((res) => res.json() as Promise<Record<string, unknown>>);
        void ocspz.finally(() => ctl.type('\n'));
      },
    });
    try {
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.ok(ocspz, r.stdout);
      const body = await ocspz;
      assert.equal(body.worst_status, 'good');
      assert.match(r.stdout, /✔ tsnats exited with status 20/);
      assert.deepEqual(r.leftovers(), []);
    } finally {
      r.removeTmp();
    }
  });

  it('--help and bad options', async () => {
    const h = await runNode(DEMO, { args: ['--help'] });
    h.removeTmp();
    assert.equal(h.code, 0);
    assert.match(h.stdout, /^Usage: npm run demo/);
    const bad = await runNode(DEMO, { args: ['--nope'] });
    bad.removeTmp();
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown option "--nope"/);
  });
});
