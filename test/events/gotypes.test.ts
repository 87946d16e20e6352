// What tsnats sends in its system account, decoded by nats-server 2.9.10's own Go types
// (github.com/nats-io/nats-server/v2/server: ConnectEventMsg, DisconnectEventMsg, AccountNumConns,
// ServerStatsMsg, Varz, Connz, Subsz, Routez, Gatewayz, Leafz, Accountz, AccountInfo, JSInfo,
// HealthStatus, AccountStatz) with unknown fields refused: a name or type that differs from
// nats-server's fails. The same program runs against nats-server as the reference. Built offline
// from Debian's packaged sources in GOPATH mode; skipped when Go or the sources are missing.

import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SKIP_NATS_SERVER } from '../wire/harness.js';
import { SYS_CONF, startNatsServerSys, startTsnatsSys, type SysTarget } from './helpers.js';

const run = promisify(execFile);
const GOPATH = '/usr/share/gocode';
const SERVER_SRC = join(GOPATH, 'src/github.com/nats-io/nats-server');
const haveGo = spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0 && existsSync(join(SERVER_SRC, 'server/events.go')) && existsSync(join(GOPATH, 'src/github.com/nats-io/nats.go'));
const SKIP = haveGo ? false : 'go or the nats-server / nats.go sources (Debian golang-github-nats-io-*-dev) are not installed';

const dir = mkdtempSync(join(tmpdir(), 'tsnats-gotypes-'));
const bin = join(dir, 'gotypes');

before(() => {
  if (!haveGo) return;
  // GOPATH mode resolves `nats-server/v2/server` through a v2 link to the packaged sources.
  const gp = join(dir, 'gopath');
  mkdirSync(join(gp, 'src/github.com/nats-io/nats-server'), { recursive: true });
  symlinkSync(SERVER_SRC, join(gp, 'src/github.com/nats-io/nats-server/v2'));
  const r = spawnSync('go', ['build', '-o', bin, resolve('test/events/gotypes/main.go')], {
    env: { ...process.env, GO111MODULE: 'off', GOPATH: `${gp}:${GOPATH}`, GOFLAGS: '', GOCACHE: join(dir, 'gocache'), CGO_ENABLED: '0', GOTOOLCHAIN: 'local' },
    encoding: 'utf8',
    timeout: 400_000,
  });
  assert.equal(r.status, 0, `go build failed: ${r.stderr}`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function check(t: SysTarget, allowExtra = ''): Promise<string[]> {
  const r = await run(bin, [], {
    env: { URL: `nats://127.0.0.1:${t.port}`, USER: 'sys', PASS: 'x', SERVER_ID: t.serverId, ALLOW_EXTRA: allowExtra },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return r.stdout.trim().split('\n');
}

describe("system account messages decoded by nats-server's Go types", { skip: SKIP, timeout: 500_000 }, () => {
  it('tsnats: every event and answer decodes strictly (config_digest is tsnats-only, documented)', async () => {
    const t = await startTsnatsSys();
    try {
      const lines = await check(t, 'config_digest');
      assert.equal(lines.length, 19, lines.join('\n'));
      assert.deepEqual(lines.filter((l) => !l.startsWith('ok ')), [], lines.join('\n'));
    } finally {
      await t.stop();
    }
  });

  it('tsnats with JetStream (STATSZ and VARZ carry the jetstream section, JSZ the engine numbers)', async () => {
    const store = mkdtempSync(join(tmpdir(), 'tsnats-gotypes-js-'));
    const t = await startTsnatsSys(`jetstream { store_dir: "${store}" }\n`, SYS_CONF.replace('A { users', 'A { jetstream: enabled, users'));
    try {
      const lines = await check(t, 'config_digest');
      assert.equal(lines.length, 19, lines.join('\n'));
      assert.deepEqual(lines.filter((l) => !l.startsWith('ok ')), [], lines.join('\n'));
    } finally {
      await t.stop();
      rmSync(store, { recursive: true, force: true });
    }
  });

  it('nats-server 2.9.10 (the reference): the same program passes', { skip: SKIP_NATS_SERVER }, async () => {
    const t = await startNatsServerSys();
    try {
      const lines = await check(t);
      assert.deepEqual(lines.filter((l) => !l.startsWith('ok ')), [], lines.join('\n'));
    } finally {
      await t.stop();
    }
  });
});
