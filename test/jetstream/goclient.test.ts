// nats.go 1.22.1 (built offline from Debian's packages, like the benchmark load generator):
// KeyValue, ObjectStore, pull, push and ordered consumers print the same lines on tsnats and
// on nats-server 2.9.10.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KINDS, startJs } from './helpers.js';

const GO = ['/usr/bin/go', '/usr/lib/go/bin/go', '/usr/local/go/bin/go'].find((p) => existsSync(p));
const SRC = resolve('test/jetstream/goclient/main.go');
const SKIP = !GO || !existsSync('/usr/share/gocode/src/github.com/nats-io/nats.go') ? 'go or nats.go sources not installed' : false;

function build(): string {
  const dir = join(tmpdir(), 'tsnats-js-goclient');
  mkdirSync(dir, { recursive: true });
  const bin = join(dir, 'goclient');
  const r = spawnSync(GO!, ['build', '-o', bin, SRC], {
    env: { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOFLAGS: '', GOCACHE: join(dir, 'cache'), CGO_ENABLED: '0', GOTOOLCHAIN: 'local' },
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(r.status, 0, `go build failed: ${r.stderr}`);
  return bin;
}

describe('nats.go client on tsnats and nats-server', { skip: SKIP, timeout: 300_000 }, () => {
  it('prints the same results', async () => {
    const bin = build();
    const outs: string[] = [];
    for (const k of KINDS) {
      const s = await startJs(k);
      try {
        // async: the in-process tsnats must keep serving while the client runs
        const r = await promisify(execFile)(bin, [s.url], { encoding: 'utf8', timeout: 60_000 }).catch((e: { stdout: string; stderr: string }) => e);
        outs.push(r.stdout);
        assert.match(r.stdout, /\nOK\n$/, `${k}: ${r.stdout}${r.stderr}`);
      } finally {
        await s.close();
      }
    }
    if (outs.length === 2) assert.equal(outs[0], outs[1]);
  });
});
