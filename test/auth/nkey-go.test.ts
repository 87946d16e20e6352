// nats.go (Debian's packaged sources, built offline in GOPATH mode) as an nkey client, against
// tsnats and nats-server 2.9.10 with the same configuration: a configured seed connects and
// does a request/reply round trip; an unconfigured seed gets nats.go's authorization violation.
// Skipped when Go or the nats.go sources are missing.

import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createUser } from '@nats-io/nkeys';
import { SKIP_NATS_SERVER, startNatsServer, startTsnats, type TargetName } from '../wire/harness.js';

const run = promisify(execFile);
const GOPATH = '/usr/share/gocode';
const haveGo = spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0 && existsSync(join(GOPATH, 'src/github.com/nats-io/nats.go'));
const SKIP = haveGo ? false : 'go or the nats.go sources (golang-github-nats-io-go-nats-dev) are not installed';

const dir = mkdtempSync(join(tmpdir(), 'tsnats-nkey-go-'));
const bin = join(dir, 'nkeyclient');
const good = createUser();
const bad = createUser();
const goodSeed = join(dir, 'good.nk');
const badSeed = join(dir, 'bad.nk');

before(() => {
  writeFileSync(goodSeed, new TextDecoder().decode(good.getSeed()) + '\n');
  writeFileSync(badSeed, new TextDecoder().decode(bad.getSeed()) + '\n');
  if (!haveGo) return;
  const r = spawnSync('go', ['build', '-o', bin, resolve('test/auth/nkey-go/main.go')], {
    env: { ...process.env, GO111MODULE: 'off', GOPATH, GOFLAGS: '', GOCACHE: join(dir, 'gocache'), CGO_ENABLED: '0', GOTOOLCHAIN: 'local' },
    encoding: 'utf8',
    timeout: 240_000,
  });
  assert.equal(r.status, 0, `go build failed: ${r.stderr}`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Asynchronous: tsnats runs in this process. */
async function goClient(port: number, seedFile: string): Promise<string> {
  const r = await run(bin, [], { env: { URL: `nats://127.0.0.1:${port}`, SEED_FILE: seedFile }, encoding: 'utf8', timeout: 15_000 });
  return r.stdout.trim();
}

describe('nats.go nkey client', { skip: SKIP }, () => {
  const conf = `authorization { users: [ { user: pw, password: x }, { nkey: ${good.getPublicKey()} } ] }`;
  for (const name of ['tsnats', 'nats-server'] as TargetName[]) {
    it(`configured seed: connects, request/reply; unknown seed: authorization violation [${name}]`, { skip: name === 'nats-server' ? SKIP_NATS_SERVER : false, timeout: 60_000 }, async () => {
      const srv = name === 'tsnats' ? await startTsnats(conf) : await startNatsServer(conf);
      try {
        assert.equal(await goClient(srv.port, goodSeed), 'ok');
        assert.equal(await goClient(srv.port, badSeed), 'error: nats: Authorization Violation');
      } finally {
        await srv.stop();
      }
    });
  }
});
