// Mirrors and sources on one server: the same scenario on tsnats and nats-server 2.9.10.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsConnection } from '@nats-io/transport-node';
import { conn, KINDS, norm, req, sleep, startJs, type JsServer, type Kind } from './helpers.js';

/** Drops what legitimately differs (activity times). */
function strip(v: unknown): unknown {
  const x = norm(v) as Record<string, unknown>;
  const j = JSON.parse(JSON.stringify(x), (k, val) => (k === 'active' ? 'n' : val));
  // nats-server lists sources in Go map order (random): compare them sorted by name
  const info = (j as { json?: { sources?: { name: string }[] } }).json;
  if (info?.sources) info.sources.sort((a, b) => (a.name < b.name ? -1 : 1));
  return j;
}

async function scenario(nc: NatsConnection): Promise<[string, unknown][]> {
  const t: [string, unknown][] = [];
  const r = async (label: string, subject: string, body?: unknown) => t.push([label, strip(await req(nc, subject, body))]);
  const pub = async (subject: string, data: string) => {
    await nc.request(subject, data, { timeout: 1000 });
  };
  await r('origin', '$JS.API.STREAM.CREATE.ORIG', { name: 'ORIG', subjects: ['orig.>'], allow_direct: true });
  await r('origin2', '$JS.API.STREAM.CREATE.ORIG2', { name: 'ORIG2', subjects: ['o2.>'] });
  for (let i = 1; i <= 3; i++) await pub(`orig.${i % 2 ? 'a' : 'b'}`, `m${i}`);
  await pub('o2.x', 'x1');
  await r('mirror with subjects', '$JS.API.STREAM.CREATE.BAD1', { name: 'BAD1', subjects: ['bad.>'], mirror: { name: 'ORIG' } });
  await r('mirror with sources', '$JS.API.STREAM.CREATE.BAD2', { name: 'BAD2', mirror: { name: 'ORIG' }, sources: [{ name: 'ORIG2' }] });
  await r('mirror', '$JS.API.STREAM.CREATE.MIR', { name: 'MIR', mirror: { name: 'ORIG' } });
  await r('source', '$JS.API.STREAM.CREATE.SRC', { name: 'SRC', subjects: ['src.>'], sources: [{ name: 'ORIG', filter_subject: 'orig.a' }, { name: 'ORIG2' }] });
  await r('mirror of missing', '$JS.API.STREAM.CREATE.MIR2', { name: 'MIR2', mirror: { name: 'LATER' } });
  await sleep(800);
  for (let i = 4; i <= 5; i++) await pub(`orig.${i % 2 ? 'a' : 'b'}`, `m${i}`);
  await r('later origin', '$JS.API.STREAM.CREATE.LATER', { name: 'LATER', subjects: ['later.>'] });
  await pub('later.x', 'l1');
  await sleep(1500);
  await r('mirror info', '$JS.API.STREAM.INFO.MIR');
  await r('source info', '$JS.API.STREAM.INFO.SRC');
  await r('mirror2 info', '$JS.API.STREAM.INFO.MIR2');
  await r('mirror msg 2', '$JS.API.STREAM.MSG.GET.MIR', { seq: 2 });
  // the order in which two sources interleave is timing: compare the set
  const sourced: string[] = [];
  for (let seq = 1; seq <= 5; seq++) {
    const x = await req(nc, '$JS.API.STREAM.MSG.GET.SRC', { seq });
    if (typeof x === 'object' && 'json' in x) {
      const m = x.json.message as { subject: string; hdrs?: string; data?: string } | undefined;
      sourced.push(m ? `${m.subject} ${Buffer.from(m.hdrs ?? '', 'base64').toString()} ${Buffer.from(m.data ?? '', 'base64').toString()}` : 'none');
    }
  }
  t.push(['sourced', sourced.sort()]);
  await r('mirror update', '$JS.API.STREAM.UPDATE.MIR', { name: 'MIR', mirror: { name: 'ORIG2' } });
  return t;
}

describe('jetstream mirrors and sources: tsnats and nats-server', { timeout: 120_000 }, () => {
  const results = new Map<Kind, [string, unknown][]>();
  const servers: JsServer[] = [];
  before(async () => {
    for (const k of KINDS) {
      const s = await startJs(k);
      servers.push(s);
      const nc = await conn(s.url);
      try {
        results.set(k, await scenario(nc));
      } finally {
        await nc.close();
      }
    }
  });
  after(async () => {
    for (const s of servers) await s.close();
  });

  it('same replies', () => {
    const ts = results.get('tsnats')!;
    const go = results.get('nats-server');
    if (!go) return;
    const diffs: string[] = [];
    for (let i = 0; i < Math.max(ts.length, go.length); i++) {
      const a = JSON.stringify(ts[i]);
      const b = JSON.stringify(go[i]);
      if (a !== b) diffs.push(`step ${i} ${ts[i]?.[0]}:\n  tsnats:      ${a}\n  nats-server: ${b}`);
    }
    assert.equal(diffs.length, 0, diffs.join('\n'));
  });
});
