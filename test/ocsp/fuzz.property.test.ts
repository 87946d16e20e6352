import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  OcspError,
  buildOcspRequest,
  certIdFor,
  parseCertificate,
  verifyOcspResponse,
  type CertificateInfo,
} from '../../src/ocsp/index.js';
import { setup, type Env } from './helpers.js';

// More runs locally: OCSP_FUZZ_RUNS=50000 node scripts/run-tests.mjs ocsp/fuzz
const RUNS = Number(process.env.OCSP_FUZZ_RUNS ?? 1000);

type Mutation =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; value: number }
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'append'; bytes: number[] };

const mutation = (len: number): fc.Arbitrary<Mutation> =>
  fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(len - 1), xor: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(len - 1), value: fc.constantFrom(0x00, 0x01, 0x02, 0x04, 0x05, 0x30, 0x80, 0x81, 0x82, 0xa0, 0xff) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(len), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(len - 1), len: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(len - 1) }),
    fc.record({ kind: fc.constant('append' as const), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 4 }) }),
  );

function apply(der: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(der);
  for (const m of ms) {
    const at = 'at' in m ? Math.min(m.at, Math.max(b.length - 1, 0)) : 0;
    switch (m.kind) {
      case 'flip':
        if (b.length) b[at] = b[at]! ^ m.xor;
        break;
      case 'set':
        if (b.length) b[at] = m.value;
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), Buffer.from([m.value]), b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'append':
        b = Buffer.concat([b, Buffer.from(m.bytes)]);
        break;
    }
  }
  return b;
}

describe('ocsp verify: mutated DER (fast-check)', () => {
  let env: Env;
  let leaf: CertificateInfo;
  let root: CertificateInfo;
  const originals: Record<string, Buffer> = {};

  before(async () => {
    env = await setup();
    leaf = parseCertificate(env.pki.serverMustStaple.der);
    root = parseCertificate(env.pki.root.der);
    const req = buildOcspRequest(certIdFor(leaf, root));
    const get = async (): Promise<Buffer> =>
      Buffer.from(await (await fetch(env.responder.url, { method: 'POST', body: req })).arrayBuffer());
    originals.issuer = await get();
    env.responder.setSigner(env.pki.responder);
    originals.delegated = await get();
    env.responder.setStatus(leaf.serialHex, 'revoked', { reason: 1 });
    originals.revokedDelegated = await get();
    env.responder.setSigner(null);
    env.responder.setValidity({ nextUpdateMs: null });
    originals.noNextUpdate = await get();
  });
  after(async () => {
    await env.close();
  });

  for (const name of ['issuer', 'delegated', 'revokedDelegated', 'noNextUpdate']) {
    it(`${name}-signed response: any mutation is refused with a typed error, never accepted`, () => {
      const der = originals[name]!;
      // the original is accepted
      verifyOcspResponse(der, { leaf, issuer: root });
      fc.assert(
        fc.property(fc.array(mutation(der.length), { minLength: 1, maxLength: 3 }), (ms) => {
          const mutated = apply(der, ms);
          if (mutated.equals(der)) return true;
          try {
            verifyOcspResponse(mutated, { leaf, issuer: root });
          } catch (err) {
            if (!(err instanceof OcspError)) throw new Error(`untyped error: ${String(err)}`);
            assert.match(err.code, /^ERR_OCSP_/);
            return true;
          }
          throw new Error(`mutated response accepted: ${JSON.stringify(ms)}`);
        }),
        { numRuns: RUNS },
      );
    });
  }

  it('random bytes never throw anything but typed errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        try {
          verifyOcspResponse(Buffer.from(bytes), { leaf, issuer: root });
        } catch (err) {
          if (!(err instanceof OcspError)) throw new Error(`untyped error: ${String(err)}`);
          return true;
        }
        return false;
      }),
      { numRuns: RUNS },
    );
  });
});
