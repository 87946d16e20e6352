// Configuration checks of imports, exports and mappings: `nats-server -t` (2.9.10) and tsnats's
// loader accept and refuse the same files with the same reason (weighted mappings included; where
// nats-server answers with a Go panic text tsnats gives the reason). Unit checks of the transforms.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfigFile } from '../../src/config/index.js';
import { SubjectMappings, SubjectTransform, newMapping, tokenizeWildcards } from '../../src/protocol/subject-transform.js';
import { NATS_SERVER, SKIP_NATS_SERVER } from '../wire/harness.js';

const root = mkdtempSync(join(tmpdir(), 'tsnats-imports-conf-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

interface Outcome {
  ok: boolean;
  reasons: { line: number; reason: string }[];
  text: string;
}

function write(conf: string): string {
  const f = join(root, `c${n++}.conf`);
  writeFileSync(f, conf);
  return f;
}

function natsT(file: string): Outcome {
  const r = spawnSync(NATS_SERVER!, ['-t', '-c', file], { encoding: 'utf8', timeout: 15000 });
  const text = `${r.stdout}${r.stderr}`.trim();
  const reasons = [...text.matchAll(/:(\d+):(\d+): (.*)$/gm)].map((m) => ({ line: Number(m[1]), reason: m[3]! }));
  return { ok: r.status === 0, reasons, text };
}

function tsnatsT(file: string): Outcome {
  try {
    loadConfigFile(file);
    return { ok: true, reasons: [], text: 'valid' };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { ok: false, reasons: e.errors.map((x) => ({ line: x.line, reason: x.reason })), text: e.message };
  }
}

const acc = (a: string, b: string, extra = ''): string => `accounts {\n  A {\n    ${a}\n  }\n  B {\n    ${b}\n  }\n  C {}\n${extra}}\n`;

const CASES: Array<{ name: string; conf: string; ok: boolean }> = [
  { name: 'public stream and service exports imported', conf: acc('imports: [ {stream: {account: B, subject: "s.>"}, prefix: p}, {service: {account: B, subject: "q.*"}, to: "l.*"} ]', 'exports: [ {stream: "s.>"}, {service: "q.*"} ]'), ok: true },
  { name: 'private service export listing the importer', conf: acc('imports: [ {service: {account: B, subject: "q"}} ]', 'exports: [ {service: "q", accounts: [A]} ]'), ok: true },
  { name: 'private service export refused to an unlisted account', conf: acc('imports: [ {service: {account: B, subject: "q"}} ]', 'exports: [ {service: "q", accounts: [C]} ]'), ok: false },
  { name: 'private stream export refused to an unlisted account', conf: acc('imports: [ {stream: {account: B, subject: "s"}} ]', 'exports: [ {stream: "s", accounts: [C]} ]'), ok: false },
  { name: 'import wider than the export', conf: acc('imports: [ {stream: {account: B, subject: "s.>"}} ]', 'exports: [ {stream: "s.a"} ]'), ok: false },
  { name: 'service import of a stream export', conf: acc('imports: [ {service: {account: B, subject: "s"}} ]', 'exports: [ {stream: "s"} ]'), ok: false },
  { name: 'stream prefix with a wildcard', conf: acc('imports: [ {stream: {account: B, subject: "s.*"}, prefix: "p.*"} ]', 'exports: [ {stream: "s.*"} ]'), ok: false },
  { name: 'stream `to` dropping a wildcard', conf: acc('imports: [ {stream: {account: B, subject: "s.*"}, to: "x"} ]', 'exports: [ {stream: "s.*"} ]'), ok: false },
  { name: 'service `to` dropping a wildcard', conf: acc('imports: [ {service: {account: B, subject: "s.*.*"}, to: "x.*"} ]', 'exports: [ {service: "s.*.*"} ]'), ok: false },
  { name: 'service imports forming a cycle', conf: acc('exports: [ {service: "q"} ]\n    imports: [ {service: {account: B, subject: "q"}} ]', 'exports: [ {service: "q"} ]\n    imports: [ {service: {account: A, subject: "q"}} ]'), ok: false },
  { name: 'stream imports forming a cycle', conf: acc('exports: [ {stream: "q.>"} ]\n    imports: [ {stream: {account: B, subject: "q.>"}} ]', 'exports: [ {stream: "q.>"} ]\n    imports: [ {stream: {account: A, subject: "q.>"}} ]'), ok: false },
  { name: 'a chain A → B → C is no cycle', conf: acc('imports: [ {service: {account: B, subject: "q"}} ]', 'exports: [ {service: "q"} ]\n    imports: [ {service: {account: C, subject: "q"}} ]', '  C { exports: [ {service: "q"} ] }\n').replace('  C {}\n', ''), ok: true },
  { name: 'simple mappings', conf: 'mappings {\n  "a.*.*": "b.$2.$1"\n  "c.*": "d.{{wildcard(1)}}"\n  "e.>": "f.>"\n}\n', ok: true },
  { name: 'mapping wildcard index out of range', conf: 'mappings {\n  "bad.*": "b.$2"\n}\n', ok: false },
  { name: 'mapping with an unknown function', conf: 'mappings {\n  "a.*": "b.{{foo(1)}}"\n}\n', ok: false },
  { name: 'mapping not using every wildcard', conf: 'mappings {\n  "a.*": "b"\n}\n', ok: false },
  { name: 'mapping to a wildcard subject', conf: 'mappings {\n  "a.>": "b.*"\n}\n', ok: false },
  { name: 'weighted mapping list', conf: 'mappings {\n  "a": [ {destination: "b", weight: 60%}, {destination: "c", weight: 40} ]\n  "d": {destination: "e", weight: "30%"}\n  "f.*": [ {destination: "g.$1", weight: 50, cluster: "x"}, {destination: "h.$1", weight: 50} ]\n}\n', ok: true },
  { name: 'weighted mapping without a weight', conf: 'mappings {\n  "a": [ {destination: "b"} ]\n}\n', ok: false },
  { name: 'weighted mapping over 100', conf: 'mappings {\n  "a": [ {destination: "b", weight: 150} ]\n}\n', ok: false },
  { name: 'weighted mapping with a bad weight', conf: 'mappings {\n  "a": [ {destination: "b", weight: "x%"} ]\n}\n', ok: false },
  { name: 'weighted mapping with an unknown field', conf: 'mappings {\n  "a": [ {destination: "b", weight: 5, foo: 1} ]\n}\n', ok: false },
  { name: 'mapping to a number', conf: 'mappings {\n  "a": 1\n}\n', ok: false },
  { name: 'account mapping without arguments', conf: 'accounts {\n  A {\n    mappings {\n      "a.*": "{{wildcard()}}"\n    }\n  }\n}\n', ok: false },
];

describe('imports, exports and mappings in the configuration: nats-server -t vs tsnats', { skip: SKIP_NATS_SERVER }, () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.ok ? 'accepted' : 'refused'} by both, same reason`, () => {
      const f = write(c.conf);
      const nats = natsT(f);
      const ts = tsnatsT(f);
      assert.equal(nats.ok, c.ok, `nats-server: ${nats.text}`);
      assert.equal(ts.ok, c.ok, `tsnats: ${ts.text}`);
      if (!c.ok) {
        const first = nats.reasons[0];
        assert.ok(first, `positioned error from nats-server: ${nats.text}`);
        assert.ok(
          ts.reasons.some((r) => r.reason === first.reason),
          `nats-server: line ${first.line}: ${first.reason}\ntsnats: ${JSON.stringify(ts.reasons)}`,
        );
      }
    });
  }

  it('service latency tracking is refused by tsnats as not supported yet', () => {
    const ts = tsnatsT(write(acc('', 'exports: [ {service: "q", latency: {sampling: 50, subject: "lat"}} ]')));
    assert.equal(ts.ok, false);
    assert.match(ts.text, /service latency tracking \("latency"\) of export "q" is not supported by tsnats yet/);
  });

  it('weighted mapping lists whose weights add up to more than 100 % are refused', () => {
    // nats-server 2.9.10 refuses these too, with a Go panic text ("interface conversion: ...").
    for (const [list, reason] of [
      ['{destination: "b", weight: 60%}, {destination: "c", weight: 50%}', 'total weight needs to be <= 100'],
      ['{destination: "b", weight: 50%}, {destination: "b", weight: 20%}', 'duplicate entry for "b"'],
    ] as const) {
      const f = write(`mappings {\n  "a": [ ${list} ]\n}\n`);
      assert.equal(natsT(f).ok, false);
      const ts = tsnatsT(f);
      assert.equal(ts.ok, false);
      assert.ok(ts.reasons.some((r) => r.reason === `Error adding mapping for "a" : ${reason}`), ts.text);
    }
  });
});

describe('subject transforms', () => {
  it('wildcards, functions and the trailing `>`', () => {
    const t = (s: string, d: string, subj: string): string => newMapping(s, d).apply(subj);
    assert.equal(t('a.*.*', 'b.$2.$1', 'a.x.y'), 'b.y.x');
    assert.equal(t('a.*', 'b.{{wildcard(1)}}.c', 'a.x'), 'b.x.c');
    assert.equal(t('a.>', 'b.>', 'a.x.y.z'), 'b.x.y.z');
    assert.equal(t('a.*.>', 'b.$1.>', 'a.x.y.z'), 'b.x.y.z');
    assert.equal(t('a.*', 'b.{{split(1,-)}}', 'a.p-q--r-'), 'b.p.q.r');
    assert.equal(t('a.*', 'b.{{splitFromLeft(1,2)}}', 'a.abcde'), 'b.ab.cde');
    assert.equal(t('a.*', 'b.{{splitFromRight(1,2)}}', 'a.abcde'), 'b.abc.de');
    assert.equal(t('a.*', 'b.{{sliceFromLeft(1,2)}}', 'a.abcde'), 'b.ab.cd.e');
    assert.equal(t('a.*', 'b.{{sliceFromRight(1,2)}}', 'a.abcde'), 'b.a.bc.de');
    assert.equal(t('old', 'new', 'old'), 'new');
    assert.equal(tokenizeWildcards('a.*.b.*'), 'a.$1.b.$2');
    const s = new SubjectTransform('x.*', tokenizeWildcards('y.*'));
    assert.equal(s.matches('x.1'), true);
    assert.equal(s.matches('x.1.2'), false);
  });

  it('an account mapping table maps matching subjects only and stays bounded', () => {
    const m = new SubjectMappings([
      { source: 'a.*', destination: 'b.$1' },
      { source: 'c', destination: 'd' },
    ]);
    assert.equal(m.map('a.1'), 'b.1');
    assert.equal(m.map('c'), 'd');
    assert.equal(m.map('a.1.2'), 'a.1.2');
    for (let i = 0; i < 10000; i++) m.map(`a.${i}`);
    assert.equal(m.map('a.9999'), 'b.9999');
  });
});

describe('subject transforms: random mappings, tsnats vs nats-server -t', { skip: SKIP_NATS_SERVER }, () => {
  // A small deterministic generator (no flakiness): sources and destinations from a token alphabet
  // that covers wildcards, placeholders, functions with good and bad arguments.
  let seed = 1234567;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const SRC = ['a', 'b', '*', '*', '>', 'c'];
  const DST = ['x', '$1', '$2', '$3', '{{wildcard(1)}}', '{{wildcard(2)}}', '{{wildcard()}}', '{{partition(3,1)}}', '{{partition(3)}}', '{{split(1,-)}}', '{{splitFromLeft(1,2)}}', '{{sliceFromRight(2,1)}}', '{{foo(1)}}', '*', '>', 'y'];
  const subject = (alpha: string[], max: number): string => {
    const n = 1 + rnd(max);
    const t: string[] = [];
    for (let i = 0; i < n; i++) t.push(alpha[rnd(alpha.length)]!);
    return t.join('.');
  };
  it('40 random mappings: accepted or refused alike, with the same reason', () => {
    const mismatches: string[] = [];
    for (let k = 0; k < 40; k++) {
      const src = subject(SRC, 3);
      const dst = subject(DST, 3);
      const f = write(`mappings {\n  "${src}": "${dst}"\n}\n`);
      const nats = natsT(f);
      const ts = tsnatsT(f);
      const nr = nats.reasons[0]?.reason;
      if (nats.ok !== ts.ok || (!nats.ok && !ts.reasons.some((r) => r.reason === nr))) {
        mismatches.push(`${src} → ${dst}: nats-server ${nats.ok ? 'ok' : nr}; tsnats ${ts.ok ? 'ok' : JSON.stringify(ts.reasons)}`);
      }
      if (ts.ok) {
        // An accepted mapping applies to a matching literal subject without throwing.
        const lit = src.replace(/\*/g, 'tok').replace(/>/g, 'p.q');
        newMapping(src, dst).apply(lit);
      }
    }
    assert.deepEqual(mismatches, []);
  });
});
