// Fuzz target: OCSP response parsing and strict verification (src/ocsp/response.ts, verify.ts).
//
// Setup: a throwaway PKI and the programmable responder (test/ocsp/helpers.ts), which answer with
// real DER responses for three certificates (two leaves of the root, one of an intermediate):
// signed by the issuer (ResponderID by name and by key), by a delegated responder (embedded),
// good/revoked/unknown, with and without nextUpdate; with an RSA PKI too (PKCS#1 v1.5 and
// RSASSA-PSS) when the budget allows its slow key generation. Each is verified once as-is.
// Inputs: byte mutations (bit flips, truncations, inserts, ...), DER-tree mutations (length fields,
// tags, contents, dropped/duplicated/swapped/wrapped nodes) re-encoded with correct or broken
// lengths, splices of two responses (same-path subtrees or byte ranges), random DER trees (alone
// or inside a valid envelope) and random bytes; verified mostly for their own certificate, else for
// another one.
// Oracle: verifyOcspResponse throws an OcspError with an ERR_OCSP_ code, or accepts, and then the
// signed part (tbsResponseData) is byte-identical to an original response for that same
// certificate and the verified facts (status, times, signer) are the original's.

import { buildOcspRequest, certIdFor, OcspError, parseCertificate, parseOcspResponse, verifyOcspResponse, type CertificateInfo, type VerifiedOcspResponse } from '../../../src/ocsp/index.js';
import { startResponder, type TestPki } from '../../../src/testkit/index.js';
import { setup, type Env } from '../../ocsp/helpers.js';
import { check, type Kind, type TargetInstance, type TargetOptions } from '../engine.js';
import { cloneDer, contentOf, decodeDer, derLength, encodeDer, walk, type DerNode } from '../der.js';
import { mutateBytes, type ByteMutation, type Src } from '../rng.js';

interface Ctx {
  name: string;
  leaf: CertificateInfo;
  issuer: CertificateInfo;
}

interface Original {
  name: string;
  ctx: Ctx;
  der: Buffer;
  tree: DerNode;
}

/** Budget from which the RSA PKI (about 5-10 s of pure-JS key generation) is worth its setup. */
const RSA_BUDGET_MS = 45_000;

const facts = (v: VerifiedOcspResponse): string =>
  JSON.stringify([v.status, v.revocationTime, v.revocationReason, v.thisUpdate, v.nextUpdate, v.producedAt, v.expiresAt, v.signer, v.signerSubject]);

async function fetchResponse(url: string, ctx: Ctx): Promise<Buffer> {
  const res = await fetch(url, { method: 'POST', body: buildOcspRequest(certIdFor(ctx.leaf, ctx.issuer)), headers: { 'content-type': 'application/ocsp-request' } });
  return Buffer.from(await res.arrayBuffer());
}

const ctxOf = (pki: TestPki, name: string, leaf: 'serverMustStaple' | 'server' | 'serverViaIntermediate', issuer: 'root' | 'intermediate'): Ctx => ({
  name,
  leaf: parseCertificate(pki[leaf].der),
  issuer: parseCertificate(pki[issuer].der),
});

async function collect(budgetMs: number): Promise<{ originals: Omit<Original, 'tree'>[]; ctxs: Ctx[]; note: string }> {
  const envs: Env[] = [];
  const out: Omit<Original, 'tree'>[] = [];
  const extra: { close(): Promise<void> }[] = [];
  try {
    const ec = await setup();
    envs.push(ec);
    const { pki, responder } = ec;
    const A = ctxOf(pki, 'A (must-staple leaf)', 'serverMustStaple', 'root');
    const B = ctxOf(pki, 'B (leaf)', 'server', 'root');
    const C = ctxOf(pki, 'C (leaf of intermediate)', 'serverViaIntermediate', 'intermediate');
    const ctxs = [A, B, C];
    const add = async (name: string, ctx: Ctx, url = responder.url): Promise<void> => {
      out.push({ name, ctx, der: await fetchResponse(url, ctx) });
    };
    await add('issuer good', A);
    await add('issuer good (other leaf)', B);
    responder.setSigner(pki.responder);
    await add('delegated good', A);
    responder.setStatus(A.leaf.serialHex, 'revoked', { reason: 1, time: new Date(Date.now() - 86_400_000) });
    await add('delegated revoked', A);
    responder.setSigner(null);
    responder.setStatus(A.leaf.serialHex, 'unknown');
    await add('issuer unknown', A);
    responder.setStatus(A.leaf.serialHex, 'good');
    responder.setValidity({ nextUpdateMs: null });
    await add('issuer no nextUpdate', A);
    responder.setValidity({ nextUpdateMs: 3_600_000 });
    responder.setIssuer(pki.intermediate, pki.intermediateResponder);
    await add('delegated good (intermediate)', C);
    const byKey = await startResponder({ issuer: pki.root, responderIdByKey: true });
    extra.push(byKey);
    await add('issuer good, ResponderID by key', A, byKey.url);
    let note = 'EC P-256 PKI';
    if (budgetMs >= RSA_BUDGET_MS) {
      const rsa = await setup({ keyType: 'rsa', rsaPss: true });
      envs.push(rsa);
      const R = ctxOf(rsa.pki, 'R (RSA leaf)', 'serverMustStaple', 'root');
      ctxs.push(R);
      await add('RSA-PSS issuer good', R, rsa.responder.url);
      const pkcs1 = await startResponder({ issuer: rsa.pki.root, signer: rsa.pki.responder });
      extra.push(pkcs1);
      await add('RSA PKCS#1 delegated good', R, pkcs1.url);
      note += ' + RSA PKI (PKCS#1 v1.5, PSS)';
    } else {
      note += ` (RSA PKI skipped: budget under ${RSA_BUDGET_MS / 1000} s)`;
    }
    return { originals: out, ctxs, note: `${out.length} responses, ${note}` };
  } finally {
    for (const e of extra) await e.close();
    for (const e of envs) await e.close();
  }
}

// ---- mutations ---------------------------------------------------------------------------------

const DER_DICT = [
  [0x00], [0x80], [0x81, 0x80], [0x82, 0xff, 0xff], [0x84, 0xff, 0xff, 0xff, 0xff], [0x30, 0x00], [0x30, 0x80], [0xa0, 0x00], [0x05, 0x00],
  [0x02, 0x01, 0x00], [0x02, 0x01, 0xff], [0x06, 0x00], [0x0a, 0x01, 0x03], [0x03, 0x01, 0x07],
  [0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01], // id-pkix-ocsp-basic
  [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02], // ecdsa-with-SHA256
  [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a], // RSASSA-PSS
  [0x18, 0x0f, ...Buffer.from('20991231235959Z')],
  [0x18, 0x0f, ...Buffer.from('19700101000000Z')],
].map((a) => Buffer.from(a));

const TAGS = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0a, 0x0c, 0x13, 0x17, 0x18, 0x30, 0x31, 0x80, 0x81, 0x82, 0xa0, 0xa1, 0xa2, 0xa3];

function lengthVariant(src: Src, n: number): Buffer {
  switch (src.int(9)) {
    case 0:
      return derLength(Math.max(0, n + src.pick([-3, -2, -1, 1, 2, 3])));
    case 1:
      return Buffer.from([0x80]); // indefinite (BER)
    case 2:
      return n < 256 ? Buffer.from([0x81, n]) : Buffer.from([0x83, 0, n >> 8, n & 0xff]); // not minimal
    case 3:
      return Buffer.from([0x82, (n >> 8) & 0xff, n & 0xff]);
    case 4:
      return Buffer.from([0x84, 0xff, 0xff, 0xff, 0xff]);
    case 5:
      return Buffer.from([0x89, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    case 6:
      return Buffer.from([src.pick([0x00, 0x7f, 0xff])]);
    case 7:
      return derLength(n * 2 + 1);
    default:
      return derLength(n + 1000 + src.int(100_000));
  }
}

function tagVariant(src: Src, id: Buffer): Buffer {
  switch (src.int(5)) {
    case 0:
      return Buffer.from([id[0]! ^ 0x20, ...id.subarray(1)]);
    case 1:
      return Buffer.from([id[0]! ^ (src.oneIn(2) ? 0x80 : 0x40), ...id.subarray(1)]);
    case 2:
      return Buffer.from([src.int(256)]);
    case 3:
      return Buffer.from([src.pick([[0x1f, 0x81, 0x00], [0x3f, 0x1e], [0x9f, 0xff, 0xff, 0xff, 0x7f]])].flat());
    default:
      return Buffer.from([src.pick(TAGS)]);
  }
}

function randomTree(src: Src, pool: readonly DerNode[], depth: number): DerNode {
  if (src.oneIn(4)) return cloneDer(src.pick(pool));
  if (depth > 4 || src.oneIn(3)) {
    return { id: Buffer.from([src.pick(TAGS) & ~0x20]), content: src.oneIn(3) ? src.pick(DER_DICT).subarray(2) : src.bytes(src.len(40)) };
  }
  const children: DerNode[] = [];
  for (let n = src.int(5); n > 0; n--) children.push(randomTree(src, pool, depth + 1));
  return { id: Buffer.from([src.pick([0x30, 0x31, 0xa0, 0xa1, 0xa2, 0xa3])]), children };
}

/** One structural change to `root` (in place). */
function mutateTree(src: Src, root: DerNode, pool: readonly DerNode[], recipe: string[]): void {
  const nodes = walk(root);
  const at = src.pick(nodes);
  const where = at.path || 'root';
  const siblings = at.parent?.children;
  switch (src.int(11)) {
    case 0:
      at.node.lenOverride = lengthVariant(src, contentOf(at.node).length);
      recipe.push(`length@${where}=${at.node.lenOverride.toString('hex')}`);
      return;
    case 1:
      at.node.id = tagVariant(src, at.node.id);
      recipe.push(`tag@${where}=${at.node.id.toString('hex')}`);
      return;
    case 2:
    case 3: {
      const c = contentOf(at.node);
      const b = Buffer.from(c);
      if (src.oneIn(2) && b.length > 0) {
        const i = src.int(b.length);
        b[i] = b[i]! ^ (1 << src.int(8));
        recipe.push(`content-flip@${where}:${i}`);
      } else {
        b.set(src.bytes(b.length));
        recipe.push(`content-random@${where}`);
      }
      at.node.children = undefined;
      at.node.encap = undefined;
      at.node.content = b;
      return;
    }
    case 4: {
      const c = contentOf(at.node);
      const r = src.int(4);
      const b =
        r === 0 ? Buffer.concat([Buffer.from([0]), c]) : r === 1 ? c.subarray(0, src.int(c.length + 1)) : r === 2 ? Buffer.concat([c, src.bytes(1 + src.int(8))]) : Buffer.alloc(0);
      at.node.children = undefined;
      at.node.encap = undefined;
      at.node.content = b;
      recipe.push(`resize@${where}=${b.length}`);
      return;
    }
    case 5:
      if (siblings) {
        siblings.splice(at.index, 1);
        recipe.push(`drop@${where}`);
      }
      return;
    case 6:
      if (siblings) {
        siblings.splice(at.index, 0, cloneDer(at.node));
        recipe.push(`dup@${where}`);
      }
      return;
    case 7:
      if (siblings && siblings.length > 1) {
        const j = src.int(siblings.length);
        [siblings[at.index], siblings[j]] = [siblings[j]!, siblings[at.index]!];
        recipe.push(`swap@${where}<->${j}`);
      }
      return;
    case 8:
      if (siblings) {
        siblings[at.index] = cloneDer(src.pick(pool));
        recipe.push(`graft-replace@${where}`);
      }
      return;
    case 9:
      if (at.node.children) {
        at.node.children.splice(src.int(at.node.children.length + 1), 0, randomTree(src, pool, 3));
        recipe.push(`graft-insert@${where}`);
      }
      return;
    default:
      if (siblings) {
        if (at.node.children?.length && src.oneIn(2)) {
          siblings[at.index] = at.node.children[0]!;
          recipe.push(`unwrap@${where}`);
        } else {
          siblings[at.index] = { id: Buffer.from([src.pick([0x30, 0xa0, 0x31])]), children: [at.node] };
          recipe.push(`wrap@${where}`);
        }
      }
  }
}

// ---- the target --------------------------------------------------------------------------------

export async function create(opts: TargetOptions): Promise<TargetInstance> {
  const { originals: raw, ctxs, note } = await collect(opts.budgetMs);
  const now = Date.now();
  const originals: Original[] = raw.map((o) => {
    const tree = decodeDer(o.der);
    if (!tree) throw new Error(`original response ${o.name} is not DER`);
    return { ...o, tree };
  });
  // Accepted (signed part, certificate) pairs and their facts.
  const accepted = new Map<string, { facts: string; der: Buffer; signature: Buffer }>();
  for (const o of originals) {
    const v = verifyOcspResponse(o.der, { leaf: o.ctx.leaf, issuer: o.ctx.issuer, now });
    const p = parseOcspResponse(o.der);
    accepted.set(`${o.ctx.name}|${p.signedData.toString('base64')}`, { facts: facts(v), der: o.der, signature: p.signature });
  }
  const pool = originals.flatMap((o) => walk(o.tree).map((l) => l.node));
  const stats: Record<string, number> = {};
  const bump = (k: string): void => {
    stats[k] = (stats[k] ?? 0) + 1;
  };

  function verify(der: Buffer, ctx: Ctx): void {
    let v: VerifiedOcspResponse;
    try {
      v = verifyOcspResponse(der, { leaf: ctx.leaf, issuer: ctx.issuer, now });
    } catch (e) {
      if (!(e instanceof OcspError)) throw e;
      check(/^ERR_OCSP_[A-Z_]+$/.test(e.code), () => `OcspError with code ${e.code}`);
      bump(e.code);
      return;
    }
    const p = parseOcspResponse(der);
    const known = accepted.get(`${ctx.name}|${p.signedData.toString('base64')}`);
    check(known !== undefined, () => `ACCEPTED a response whose signed part is not that of any original response for ${ctx.name} (status ${v.status}, signer ${v.signer})`);
    check(facts(v) === known.facts, () => `accepted with other facts than the original: ${facts(v)} vs ${known.facts}`);
    bump('accepted: signed part identical to an original');
    if (!der.equals(known.der)) bump('accepted: unsigned parts changed');
    if (!p.signature.equals(known.signature)) bump('accepted: other signature bytes');
  }

  /** Mostly the certificate the base response is for, else any. */
  const ctxFor = (src: Src, base: Original): Ctx => (src.oneIn(6) ? src.pick(ctxs) : base.ctx);

  const kinds: Kind[] = [
    {
      name: 'byte mutations',
      weight: 3,
      run(src, cur) {
        const base = src.pick(originals);
        const m: ByteMutation = { first: 0, recipe: [] };
        const der = mutateBytes(src, base.der, DER_DICT, 1 + src.int(src.oneIn(4) ? 8 : 3), m);
        const ctx = ctxFor(src, base);
        cur.set(der, `${base.name} for ${ctx.name}: ${m.recipe.join(' ')}`);
        verify(der, ctx);
      },
    },
    {
      name: 'DER tree mutations',
      weight: 4,
      run(src, cur) {
        const base = src.pick(originals);
        const root = cloneDer(base.tree);
        const recipe: string[] = [];
        for (let n = 1 + src.int(3); n > 0; n--) mutateTree(src, root, pool, recipe);
        let der = encodeDer(root);
        if (src.oneIn(5)) {
          const m: ByteMutation = { first: 0, recipe };
          der = mutateBytes(src, der, DER_DICT, 1, m);
        }
        const ctx = ctxFor(src, base);
        cur.set(der, `${base.name} for ${ctx.name}: ${recipe.join(' ')}`);
        verify(der, ctx);
      },
    },
    {
      name: 'splices',
      weight: 2,
      run(src, cur) {
        const base = src.pick(originals);
        const others = originals.filter((o) => o !== base);
        const other = src.pick(others);
        let der: Buffer;
        let recipe: string;
        if (src.oneIn(3)) {
          const at = src.int(Math.min(base.der.length, other.der.length) + 1);
          der = Buffer.concat([base.der.subarray(0, at), other.der.subarray(at)]);
          recipe = `bytes [0,${at}) of ${base.name} + rest of ${other.name}`;
        } else {
          const root = cloneDer(base.tree);
          const mine = walk(root).filter((l) => l.parent);
          const theirs = new Map(walk(other.tree).map((l) => [l.path, l.node]));
          const spliced: string[] = [];
          for (let n = 1 + src.int(2); n > 0; n--) {
            const at = src.pick(mine);
            const repl = theirs.get(at.path) ?? src.pick([...theirs.values()]);
            at.parent!.children![at.index] = cloneDer(repl);
            spliced.push(at.path);
          }
          der = encodeDer(root);
          recipe = `${base.name} with ${spliced.join(', ')} of ${other.name}`;
        }
        const ctx = ctxFor(src, base);
        cur.set(der, `${recipe}, for ${ctx.name}`);
        verify(der, ctx);
      },
    },
    {
      name: 'random DER',
      weight: 1,
      run(src, cur) {
        let tree = randomTree(src, pool, 0);
        if (src.oneIn(2)) {
          // Inside a well-formed OCSPResponse envelope, so BasicOCSPResponse parsing is reached.
          const basic: DerNode = { id: Buffer.from([0x04]), children: [{ id: Buffer.from([0x30]), children: tree.children ?? [tree] }], encap: 'octet' };
          const oid: DerNode = { id: Buffer.from([0x06]), content: DER_DICT[14]!.subarray(2) };
          tree = {
            id: Buffer.from([0x30]),
            children: [
              { id: Buffer.from([0x0a]), content: Buffer.from([0]) },
              { id: Buffer.from([0xa0]), children: [{ id: Buffer.from([0x30]), children: [oid, basic] }] },
            ],
          };
        }
        const der = encodeDer(tree);
        const ctx = src.pick(ctxs);
        cur.set(der, `random tree for ${ctx.name}`);
        verify(der, ctx);
      },
    },
    {
      name: 'random bytes',
      weight: 1,
      run(src, cur) {
        const der = src.bytes(src.len(1024));
        const ctx = src.pick(ctxs);
        cur.set(der, `for ${ctx.name}`);
        verify(der, ctx);
      },
    },
  ];

  return {
    kinds,
    stats,
    setupNote: note,
    context: () => ({
      now,
      certificates: Object.fromEntries(ctxs.map((c) => [c.name, { leaf: c.leaf.der.toString('base64'), issuer: c.issuer.der.toString('base64') }])),
      originals: Object.fromEntries(originals.map((o) => [o.name, o.der.toString('base64')])),
    }),
  };
}
