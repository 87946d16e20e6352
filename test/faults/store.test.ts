// store_dir faults around a real tsnats server:
//
//   - unwritable store_dir. The tests run as root, where chmod 0500 does not stop a write, so
//     they use (a) a regular file where the `ocsp` directory should be, (b) a regular file as the
//     store_dir itself (ENOTDIR), and (c) a read-only bind mount in a private mount namespace
//     (`unshare -m`, EROFS: real, even for root);
//   - a full store: a 64 KiB tmpfs, filled up, in a private mount namespace (ENOSPC: real), at
//     start-up and while running (space freed and taken again through /proc/<pid>/root);
//   - corrupt, truncated, foreign, expired, forged, oversized and odd files (directory, symlink,
//     FIFO) where the cache file should be.
//
// Expected: a write failure is a warning and the staple in memory stands (the server keeps
// serving it); a file that cannot be trusted is ignored with a warning naming it and replaced by
// the next good fetch; no temp files are left; nothing but a verified response is ever written.

import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { constants as fsc, mkdirSync, mkdtempSync, promises as fsp, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { startResponder, type IssuedCert, type TestPki, type TestResponder } from '../../src/testkit/index.js';
import {
  cacheFileOf,
  fingerprint,
  issueStapled,
  makePki,
  ocspBlock,
  probe,
  sleep,
  spawnTsnats,
  startInProcOutcome,
  strayFiles,
  tempDir,
  tlsConf,
  waitFor,
  type Child,
} from '../hostile/harness.js';

let pki: TestPki;
let tmp: { dir: string; remove(): void };
let r: TestResponder;
let n = 0;
const children: Child[] = [];

/** Can this process create a private mount namespace and mount in it? */
const CAN_MOUNT: boolean = (() => {
  const d = mkdtempSync(join(tmpdir(), 'tsnats-mnt-probe-'));
  try {
    return spawnSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o size=64k none ${d} && umount ${d}`], { stdio: 'ignore', timeout: 5000 }).status === 0;
  } catch {
    return false;
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
})();
const SKIP_MOUNT = CAN_MOUNT ? false : 'needs `unshare -m` and mount (root with CAP_SYS_ADMIN): read-only and full store checks skipped';

before(async () => {
  pki = await makePki();
  tmp = tempDir('faults-store');
  r = await startResponder({ issuer: pki.root });
});
after(async () => {
  for (const c of children) await c.kill();
  await r?.close();
  await pki?.cleanup();
  tmp?.remove();
});

function store(): string {
  const d = join(tmp.dir, `store-${++n}`);
  mkdirSync(d);
  return d;
}

async function cert(label: string): Promise<IssuedCert> {
  return issueStapled(pki, label, r.url);
}

/** A genuine response for `c` obtained through a throwaway server (to plant as a cache file). */
async function genuineFor(c: IssuedCert, opts: { nextUpdateMs?: number } = {}): Promise<Buffer> {
  const sd = store();
  if (opts.nextUpdateMs !== undefined) r.setValidity({ nextUpdateMs: opts.nextUpdateMs });
  try {
    const out = await startInProcOutcome(tmp.dir, tlsConf({ cert: c, caFile: pki.caFile, ocsp: ocspBlock('must'), storeDir: sd }));
    assert.ok(out.ok, out.ok ? '' : out.error);
    if (out.ok) await out.ts.stop();
  } finally {
    r.setValidity({});
  }
  const f = fingerprint(cacheFileOf(sd, c));
  assert.ok(f);
  return f.bytes;
}

describe('store_dir unwritable (root: chmod does not apply, so: files in the way and a read-only mount)', () => {
  it('a regular file where <store_dir>/ocsp should be: refused as nats-server ("not a directory")', async () => {
    const c = await cert('store-ocsp-file');
    for (const mode of ['must', 'auto']) {
      const sd = store();
      writeFileSync(join(sd, 'ocsp'), 'not a directory');
      const out = await startInProcOutcome(tmp.dir, tlsConf({ cert: c, caFile: pki.caFile, ocsp: ocspBlock(mode), storeDir: sd }));
      assert.equal(out.ok, false);
      if (!out.ok) assert.equal(out.error, 'OCSP storage directory is not a directory');
    }
  });

  it('a regular file as the store_dir itself: refused with ENOTDIR', async () => {
    const c = await cert('store-dir-file');
    const f = join(tmp.dir, `plain-file-${++n}`);
    writeFileSync(f, 'x');
    const out = await startInProcOutcome(tmp.dir, tlsConf({ cert: c, caFile: pki.caFile, ocsp: ocspBlock('must'), storeDir: f }));
    assert.equal(out.ok, false);
    if (!out.ok) assert.match(out.error, /^could not create OCSP storage directory - ENOTDIR: not a directory/);
  });

  it(
    // Found by this test (Node's recursive mkdir said ENOENT); fixed in 0b47529.
    'read-only mount (EROFS), no ocsp directory yet: start-up refused, naming the real cause',
    { skip: SKIP_MOUNT },
    async () => {
      const c = await cert('store-rofs-a');
      const sd = store();
      const ro = `mount --bind ${sd} ${sd} && mount -o remount,bind,ro ${sd}`;
      const out = await spawnTsnats(tmp.dir, tlsConf({ cert: c, caFile: pki.caFile, ocsp: ocspBlock('must'), storeDir: sd }), { mountNsSetup: ro, failFast: /\[FTL\]/ });
      children.push(out.proc);
      assert.equal(out.ready, false, 'refused');
      assert.match(out.proc.out(), /\[FTL\] could not create OCSP storage directory - /);
      assert.match(out.proc.out(), /\[FTL\] could not create OCSP storage directory - EROFS: read-only file system/);
    },
  );

  it('read-only mount (EROFS), ocsp directory present: starts, warns, staples from memory, old file intact', { skip: SKIP_MOUNT }, async () => {
    const c = await cert('store-rofs-b');
    const sdB = store();
    const old = await genuineFor(c, { nextUpdateMs: 1000 });
    mkdirSync(join(sdB, 'ocsp'), { mode: 0o700 });
    writeFileSync(cacheFileOf(sdB, c), old, { mode: 0o600 });
    await sleep(1100);
    const roB = `mount --bind ${sdB} ${sdB} && mount -o remount,bind,ro ${sdB}`;
    const out = await spawnTsnats(tmp.dir, tlsConf({ cert: c, caFile: pki.caFile, ocsp: ocspBlock('must'), storeDir: sdB }), { mountNsSetup: roB, failFast: /\[FTL\]/ });
    children.push(out.proc);
    assert.ok(out.ready, out.proc.out());
    const log = out.proc.out();
    assert.ok(log.includes(`[WRN] Ignoring cached OCSP status for certificate at '${c.certFile}' in '${cacheFileOf(sdB, c)}': invalid ocsp NextUpdate, is past time`), log);
    assert.ok(log.includes(`[WRN] Unable to cache OCSP status for certificate '${c.certFile}' in '${cacheFileOf(sdB, c)}': failed to write ocsp status: EROFS`), log);
    const p = await probe(out.proc.port, { ca: pki.root.certPem });
    assert.equal(p.status, 'good', 'the fresh staple is served from memory');
    assert.ok(fingerprint(cacheFileOf(sdB, c))!.bytes.equals(old), 'the old file is intact');
    await out.proc.kill();
  });
});

describe('store_dir full (ENOSPC on a 64 KiB tmpfs)', () => {
  it('at start-up and while running: a failed write warns, the staple stands, the previous file stays whole; freed space is used again', { skip: SKIP_MOUNT }, async () => {
    const c = await cert('store-full');
    const old = await genuineFor(c, { nextUpdateMs: 1000 });
    const sd = store();
    const oldFile = join(tmp.dir, `old-${++n}.der`);
    writeFileSync(oldFile, old);
    const ocspDir = join(sd, 'ocsp');
    const file = cacheFileOf(sd, c);
    // Private tmpfs: the expired genuine file, then zeros until the file system is full.
    const setup = [
      `mount -t tmpfs -o size=64k,mode=0700 none ${sd}`,
      `mkdir -m 0700 ${ocspDir}`,
      `cp ${oldFile} ${file}`,
      `(dd if=/dev/zero of=${sd}/filler bs=4096 2>/dev/null; true)`,
    ].join(' && ');
    await sleep(1100); // the planted response is now expired
    r.setValidity({ nextUpdateMs: 3000 }); // refreshes every ~1.5 s while running
    try {
      const out = await spawnTsnats(tmp.dir, tlsConf({ cert: c, caFile: pki.caFile, ocsp: ocspBlock('must'), storeDir: sd }), { mountNsSetup: setup, failFast: /\[FTL\]/ });
      children.push(out.proc);
      assert.ok(out.ready, out.proc.out());
      const pid = out.proc.pid;
      const inNs = (p: string): string => `/proc/${pid}/root${p}`;
      const log = () => out.proc.out();
      const unable = `[WRN] Unable to cache OCSP status for certificate '${c.certFile}' in '${file}': failed to write ocsp status: ENOSPC: no space left on device`;
      assert.ok(log().includes(unable), log());
      let p = await probe(out.proc.port, { ca: pki.root.certPem });
      assert.equal(p.status, 'good', 'served from memory despite the full disk');
      assert.ok(fingerprint(inNs(file))!.bytes.equals(old), 'the previous file is whole');
      assert.deepEqual(readdirSync(inNs(ocspDir)).filter((x) => x !== file.split('/').pop()), [], 'no temp file left');

      // Space freed while running: the next refresh writes the new staple.
      rmSync(inNs(`${sd}/filler`));
      assert.ok(await waitFor(() => !fingerprint(inNs(file))!.bytes.equals(old), 8000, 100), 'cache rewritten once space is back');
      p = await probe(out.proc.port, { ca: pki.root.certPem });
      const written = fingerprint(inNs(file))!.bytes;
      assert.equal(p.status, 'good');

      // Full again: later writes fail, the last good file stays whole.
      const before = log().split(unable).length;
      execFileSync('sh', ['-c', `dd if=/dev/zero of=${inNs(`${sd}/filler`)} bs=4096 2>/dev/null; true`]);
      assert.ok(await waitFor(() => log().split(unable).length > before, 8000, 100), 'the next failed write is logged');
      const now = fingerprint(inNs(file))!.bytes;
      assert.ok(now.equals(written), 'the file written earlier is whole and unchanged');
      assert.deepEqual(readdirSync(inNs(ocspDir)).filter((x) => x !== file.split('/').pop()), [], 'no temp file left');
      assert.equal(out.proc.done, false);
      p = await probe(out.proc.port, { ca: pki.root.certPem });
      assert.equal(p.status, 'good');
      await out.proc.kill();
    } finally {
      r.setValidity({});
    }
  });
});

describe('corrupt, truncated, foreign and odd files in the store', () => {
  type Plant = (file: string, c: IssuedCert) => Promise<void> | void;
  const cases: Array<[string, Plant, RegExp | null]> = [
    ['empty file', (f) => writeFileSync(f, Buffer.alloc(0)), /malformed OCSP response/],
    ['random bytes', (f) => writeFileSync(f, Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7919 + 13) & 0xff))), /malformed OCSP response/],
    ['truncated genuine response', async (f, c) => writeFileSync(f, (await genuineFor(c)).subarray(0, 200)), /malformed OCSP response/],
    ['genuine response with trailing bytes', async (f, c) => writeFileSync(f, Buffer.concat([await genuineFor(c), Buffer.from([0, 0])])), /malformed OCSP response/],
    ['foreign: a genuine response for another certificate', async (f) => writeFileSync(f, await genuineFor(await cert('store-foreign-other'))), /OCSP response is for serial/],
    ['expired genuine response', async (f, c) => {
      const der = await genuineFor(c, { nextUpdateMs: 1000 });
      await sleep(1100);
      writeFileSync(f, der);
    }, /invalid ocsp NextUpdate, is past time/],
    ['forged: signed with another key', async (f, c) => {
      r.setFault('wrong-key');
      try {
        // The server refuses it, so it is never written: fetch the forged bytes directly.
        const { buildOcspRequest, certIdFor, parseCertificateChain } = await import('../../src/ocsp/index.js');
        const req = buildOcspRequest(certIdFor(parseCertificateChain(c.certPem)[0]!, parseCertificateChain(pki.root.certPem)[0]!, 'sha1'));
        const res = await fetch(r.url, { method: 'POST', body: req, headers: { 'Content-Type': 'application/ocsp-request' } });
        writeFileSync(f, Buffer.from(await res.arrayBuffer()));
      } finally {
        r.setFault(null);
      }
    }, /OCSP response signature is invalid/],
    ['oversized (2 MiB)', (f) => writeFileSync(f, Buffer.alloc(2 * 1024 * 1024, 0x30)), /file of 2097152 bytes is too large/],
    ['a symlink to a genuine response (never followed)', async (f, c) => {
      const target = join(tmp.dir, `target-${++n}`);
      writeFileSync(target, await genuineFor(c));
      symlinkSync(target, f);
    }, /ELOOP/],
    ['a directory', (f) => mkdirSync(join(f, 'inside'), { recursive: true }), /not a regular file|EISDIR/],
  ];

  for (const [name, plant, reason] of cases) {
    it(`${name}: ignored with a warning, the good response is fetched, served and cached`, async () => {
      const c = await cert(`store-${name.split(/[^a-z]+/)[0]}`);
      const sd = store();
      mkdirSync(join(sd, 'ocsp'), { mode: 0o700 });
      const file = cacheFileOf(sd, c);
      await plant(file, c);
      const out = await startInProcOutcome(tmp.dir, tlsConf({ cert: c, caFile: pki.caFile, ocsp: ocspBlock('must'), storeDir: sd }));
      assert.ok(out.ok, out.ok ? '' : out.error);
      if (!out.ok) return;
      try {
        const warn = out.ts.logs.find((l) => l.includes(`[WRN] Ignoring cached OCSP status for certificate at '${c.certFile}' in '${file}': `));
        assert.ok(warn, 'warning names the certificate and the file');
        if (reason) assert.match(warn, reason);
        const p = await probe(out.ts.port, { ca: pki.root.certPem });
        assert.equal(p.status, 'good');
        assert.equal(out.ts.stapler().status().source, 'responder');
        if (name === 'a directory') {
          assert.ok(out.ts.hasLog(`[WRN] Unable to cache OCSP status for certificate '${c.certFile}' in '${file}'`), 'cannot replace a directory: warned');
        } else {
          const f = fingerprint(file);
          assert.ok(f && p.staple && f.bytes.equals(p.staple), 'replaced by the verified response');
        }
        assert.deepEqual(strayFiles(sd), [], 'no temp files');
      } finally {
        await out.ts.stop();
      }
    });
  }

  it(
    // Found by this test (open() without O_NONBLOCK blocked start-up forever); fixed in 0b47529.
    'a FIFO where the cache file should be: start-up does not block on it; ignored with a warning',
    async () => {
      const c = await cert('store-fifo');
      const sd = store();
      mkdirSync(join(sd, 'ocsp'), { mode: 0o700 });
      const file = cacheFileOf(sd, c);
      execFileSync('mkfifo', [file]);
      const t0 = Date.now();
      // Safety valve: after 3 s open the FIFO for writing, which unblocks a reader stuck in open().
      let unblocked = false;
      const valve = setTimeout(async () => {
        unblocked = true;
        const w = await fsp.open(file, fsc.O_WRONLY | fsc.O_NONBLOCK).catch(() => undefined);
        await w?.close();
      }, 3000);
      const out = await startInProcOutcome(tmp.dir, tlsConf({ cert: c, caFile: pki.caFile, ocsp: ocspBlock('must'), storeDir: sd }));
      clearTimeout(valve);
      if (out.ok) await out.ts.stop().then(() => undefined);
      assert.equal(unblocked, false, `start-up blocked on the FIFO for ${Date.now() - t0} ms`);
      assert.ok(out.ok, out.ok ? '' : out.error);
      if (out.ok) assert.ok(out.ts.logs.some((l) => l.includes(`[WRN] Ignoring cached OCSP status for certificate at '${c.certFile}' in '${file}': not a regular file`)));
    },
  );
});
