// The hostile OCSP responder corpus: every way a responder can lie, break or stall, each with the
// outcome the running server must show. test/hostile/corpus.test.ts runs every case against a real
// tsnats server (mode `must` and `auto`, with a store_dir), at start-up and while running;
// test/load/long.ts replays the whole corpus many times under load.
//
// A case arms its own programmable responder (src/testkit/responder.ts) and says what must happen:
//
//   refused    never stapled, never cached. Start-up is refused with
//              `bad OCSP status update for certificate at '<cert>': ...<reason>`; while running the
//              previous staple stays in service untouched (memory and disk) and the server logs
//              `Bad OCSP status update for certificate '<cert>': ...<reason>, trying again in ...`.
//   authentic  a correctly signed revoked/unknown answer: `must` refuses to start
//              (`found existing OCSP status ...: revoked`) or shuts down while running (exit 20);
//              `auto` staples it and logs an error. Never a crash.
//   bounded    accepted with a bounded validity (no nextUpdate: thisUpdate + 1 h).
//   accepted   a control case: the misbehaviour is one the engine must tolerate.

import type { TestPki, TestResponder, IssuedCert, ResponderFault } from '../../src/testkit/index.js';

export type Expectation =
  | {
      kind: 'refused';
      /** The OcspError code of the refusal (in status().last_error's error, when checked). */
      code: string;
      /** Substring of the start-up error and of the runtime log line. */
      reason: string | RegExp;
    }
  | { kind: 'authentic'; status: 'revoked' | 'unknown' }
  | { kind: 'bounded' }
  | { kind: 'accepted' };

export interface CorpusSigners {
  /** Issued by the root, clientAuth only: not authorised to sign OCSP responses. */
  noEku: { certPem: string; keyPem: string };
  /** A delegated OCSP signer (EKU OCSPSigning) of an unrelated CA. */
  otherCaDelegate: { certPem: string; keyPem: string };
  /** The unrelated CA itself. */
  otherCa: { certPem: string; keyPem: string };
  /** A delegated signer of the intermediate CA (same hierarchy, wrong issuer for root leaves). */
  intermediateDelegate: { certPem: string; keyPem: string };
  /** A delegated OCSP signer of the root that expired yesterday. */
  expiredDelegate: { certPem: string; keyPem: string };
  /** The root's genuine delegated signer. */
  delegate: { certPem: string; keyPem: string };
}

export interface CaseContext {
  pki: TestPki;
  signers: CorpusSigners;
  responder: TestResponder;
  /** The certificate the server serves in this run. */
  cert: IssuedCert;
}

export interface HostileCase {
  id: string;
  title: string;
  /** Applies the misbehaviour (at start-up: before the server starts; while running: after). */
  arm(ctx: CaseContext): void | Promise<void>;
  expect: Expectation;
  /**
   * The certificate's AIA URL instead of the case's responder (network failures at start-up).
   * The runtime phase of such a case uses `armRuntime` instead.
   */
  aia?: string | ((responderUrl: string) => string);
  /** Runtime phase for `aia` cases (the certificate points at the live responder). */
  armRuntime?: (ctx: CaseContext) => void | Promise<void>;
  /** Takes about two fetch timeouts (POST and GET both stall). */
  slow?: boolean;
  /** The response body is 100 MB: memory must stay bounded. */
  huge?: boolean;
}

/** The extra signers the corpus needs, issued once per PKI. */
export async function prepareSigners(pki: TestPki): Promise<CorpusSigners> {
  const tag = `${process.pid}-${Date.now().toString(36)}`;
  const otherCaDelegate = await pki.issue(`corpus-other-delegate-${tag}`, { issuer: pki.otherRoot, eku: ['ocspSigning'], ocspUrls: [] });
  const day = 24 * 3_600_000;
  const expiredDelegate = await pki.issue(`corpus-expired-delegate-${tag}`, {
    eku: ['ocspSigning'],
    ocspUrls: [],
    notBefore: new Date(Date.now() - 3 * day),
    notAfter: new Date(Date.now() - day),
  });
  const kp = (c: IssuedCert) => ({ certPem: c.certPem, keyPem: c.keyPem });
  return {
    noEku: kp(pki.responderNoEku),
    otherCaDelegate: kp(otherCaDelegate),
    otherCa: kp(pki.otherRoot),
    intermediateDelegate: kp(pki.intermediateResponder),
    expiredDelegate: kp(expiredDelegate),
    delegate: kp(pki.responder),
  };
}

const fault = (f: ResponderFault) => (c: CaseContext) => c.responder.setFault(f);

/** Refusals that come from a response the engine parsed and rejected (no GET retry). */
const refusedCheck = (code: string, reason: string | RegExp): Expectation => ({ kind: 'refused', code, reason });
/** Refusals where every method failed (`exhausted ocsp servers: <POST error>\n<GET error>`). */
const exhausted = (code: string, reason: string | RegExp): Expectation => ({ kind: 'refused', code, reason });

export const HOSTILE_CORPUS: readonly HostileCase[] = [
  // --- who signed it ------------------------------------------------------------------------
  {
    id: 'signer-no-ocsp-eku',
    title: 'delegated signer issued by the CA but without id-kp-OCSPSigning',
    arm: (c) => c.responder.setFault({ type: 'wrong-signer', signer: c.signers.noEku, embed: true }),
    expect: refusedCheck('ERR_OCSP_SIGNER_NO_EKU', 'missing authorization by CA to act as OCSP signer'),
  },
  {
    id: 'signer-other-ca-delegate',
    title: 'delegated OCSP signer (with the EKU) of another CA',
    arm: (c) => c.responder.setFault({ type: 'wrong-signer', signer: c.signers.otherCaDelegate, embed: true }),
    expect: refusedCheck('ERR_OCSP_SIGNER_NOT_ISSUED_BY_CA', "was not issued by the certificate's issuer"),
  },
  {
    id: 'signer-other-ca-itself',
    title: 'signed by another CA, its certificate embedded',
    arm: (c) => c.responder.setFault({ type: 'wrong-signer', signer: c.signers.otherCa, embed: true }),
    expect: refusedCheck('ERR_OCSP_SIGNER_NOT_ISSUED_BY_CA', "was not issued by the certificate's issuer"),
  },
  {
    id: 'signer-sibling-ca-delegate',
    title: "the intermediate CA's delegated signer answering for a root-issued certificate",
    arm: (c) => c.responder.setFault({ type: 'wrong-signer', signer: c.signers.intermediateDelegate, embed: true }),
    expect: refusedCheck('ERR_OCSP_SIGNER_NOT_ISSUED_BY_CA', "was not issued by the certificate's issuer"),
  },
  {
    id: 'signer-not-embedded',
    title: 'signed by the genuine delegate, but its certificate is not in the response',
    arm: (c) => c.responder.setFault({ type: 'wrong-signer', signer: c.signers.delegate, embed: false }),
    expect: refusedCheck('ERR_OCSP_RESPONDER_ID', 'is neither the issuer nor an embedded certificate'),
  },
  {
    id: 'signer-expired-delegate',
    title: 'delegated signer of the CA whose certificate expired yesterday',
    arm: (c) => c.responder.setFault({ type: 'wrong-signer', signer: c.signers.expiredDelegate, embed: true }),
    expect: refusedCheck('ERR_OCSP_SIGNER_VALIDITY', 'is not valid now'),
  },
  {
    id: 'wrong-key',
    title: 'claims to be the issuer, signed with another key',
    arm: fault({ type: 'wrong-key' }),
    expect: refusedCheck('ERR_OCSP_BAD_SIGNATURE', 'OCSP response signature is invalid'),
  },
  {
    id: 'broken-signature',
    title: 'one bit of the signature flipped',
    arm: fault({ type: 'bad-signature' }),
    expect: refusedCheck('ERR_OCSP_BAD_SIGNATURE', 'OCSP response signature is invalid'),
  },
  // --- for whom -----------------------------------------------------------------------------
  {
    id: 'other-serial',
    title: 'a correctly signed response for another serial number',
    arm: fault({ type: 'wrong-serial' }),
    expect: refusedCheck('ERR_OCSP_CERTID_SERIAL', 'OCSP response is for serial'),
  },
  {
    id: 'other-issuer',
    title: 'a correctly signed response whose CertID names another issuer',
    arm: fault({ type: 'wrong-issuer' }),
    expect: refusedCheck('ERR_OCSP_CERTID_ISSUER', 'for a certificate of another issuer'),
  },
  // --- when ---------------------------------------------------------------------------------
  {
    id: 'expired',
    title: 'thisUpdate 2 h ago, nextUpdate 1 h ago',
    arm: fault({ type: 'expired' }),
    expect: refusedCheck('ERR_OCSP_NEXT_UPDATE_PAST', 'invalid ocsp NextUpdate, is past time'),
  },
  {
    id: 'this-update-future',
    title: 'thisUpdate 1 h in the future',
    arm: fault({ type: 'future-this-update', ms: 3_600_000 }),
    expect: refusedCheck('ERR_OCSP_THIS_UPDATE_FUTURE', 'invalid ocsp ThisUpdate, is future time'),
  },
  {
    id: 'next-before-this',
    title: 'nextUpdate one minute before thisUpdate',
    arm: (c) => c.responder.setValidity({ thisUpdateOffsetMs: 0, nextUpdateMs: -60_000 }),
    expect: refusedCheck('ERR_OCSP_NEXT_BEFORE_THIS', 'is before ThisUpdate'),
  },
  {
    id: 'no-next-update-stale',
    title: 'no nextUpdate and thisUpdate 2 h ago (older than the 1 h bound)',
    arm: (c) => c.responder.setValidity({ thisUpdateOffsetMs: -2 * 3_600_000, nextUpdateMs: null }),
    expect: refusedCheck('ERR_OCSP_STALE', 'without NextUpdate is older than'),
  },
  {
    id: 'no-next-update',
    title: 'no nextUpdate (fresh): accepted, usable for 1 h after thisUpdate',
    arm: fault({ type: 'no-next-update' }),
    expect: { kind: 'bounded' },
  },
  {
    id: 'this-update-within-skew',
    title: 'thisUpdate 20 s in the future (inside the 60 s skew): accepted',
    arm: fault({ type: 'future-this-update', ms: 20_000 }),
    expect: { kind: 'accepted' },
  },
  // --- what it says -------------------------------------------------------------------------
  {
    id: 'revoked',
    title: 'a genuine revoked answer',
    arm: (c) => c.responder.setStatus(c.cert.serialHex, 'revoked'),
    expect: { kind: 'authentic', status: 'revoked' },
  },
  {
    id: 'unknown',
    title: 'a genuine unknown answer',
    arm: (c) => c.responder.setStatus(c.cert.serialHex, 'unknown'),
    expect: { kind: 'authentic', status: 'unknown' },
  },
  ...(['tryLater', 'internalError', 'unauthorized', 'malformedRequest', 'sigRequired'] as const).map(
    (s): HostileCase => ({
      id: `status-${s}`,
      title: `OCSPResponseStatus ${s} (unsigned, no response bytes)`,
      arm: fault({ type: 'ocsp-status', status: s }),
      expect: refusedCheck(
        'ERR_OCSP_UNSUCCESSFUL',
        `ocsp: error from server: ${{ tryLater: 'try later', internalError: 'internal error', unauthorized: 'unauthorized', malformedRequest: 'malformed', sigRequired: 'signature required' }[s]}`,
      ),
    }),
  ),
  // --- HTTP ---------------------------------------------------------------------------------
  {
    id: 'http-500',
    title: 'HTTP 500',
    arm: fault({ type: 'http-status', status: 500 }),
    expect: exhausted('ERR_OCSP_EXHAUSTED', /non-ok http status on POST request \(reqlen=\d+\): 500\nnon-ok http status on GET request \(reqlen=\d+\): 500/),
  },
  {
    id: 'http-404',
    title: 'HTTP 404',
    arm: fault({ type: 'http-status', status: 404 }),
    expect: exhausted('ERR_OCSP_EXHAUSTED', /non-ok http status on POST request \(reqlen=\d+\): 404/),
  },
  {
    id: 'redirect-loop',
    title: 'HTTP 302 to itself (a redirect loop; redirects are never followed)',
    arm: (c) => c.responder.setFault({ type: 'redirect', location: c.responder.url + '/' }),
    expect: exhausted('ERR_OCSP_EXHAUSTED', /non-ok http status on POST request \(reqlen=\d+\): 302/),
  },
  // --- the body -----------------------------------------------------------------------------
  {
    id: 'html',
    title: '200 with an HTML page instead of DER',
    arm: fault({ type: 'html' }),
    expect: exhausted('ERR_OCSP_EXHAUSTED', 'malformed OCSP response'),
  },
  {
    id: 'garbage',
    title: '200 with random bytes',
    arm: fault({ type: 'garbage' }),
    expect: exhausted('ERR_OCSP_EXHAUSTED', 'malformed OCSP response'),
  },
  {
    id: 'truncated-der',
    title: '200 with the first half of a valid response',
    arm: fault({ type: 'truncated' }),
    expect: exhausted('ERR_OCSP_EXHAUSTED', 'malformed OCSP response'),
  },
  {
    id: 'empty-body',
    title: '200 with an empty body',
    arm: fault({ type: 'huge', bytes: 0, contentLength: true }),
    expect: exhausted('ERR_OCSP_EXHAUSTED', 'malformed OCSP response'),
  },
  {
    id: 'body-100mb-streamed',
    title: '200 streaming 100 MB without Content-Length',
    arm: fault({ type: 'huge', bytes: 100 * 1024 * 1024 }),
    expect: exhausted('ERR_OCSP_EXHAUSTED', 'response exceeds the limit of 262144 bytes'),
    huge: true,
  },
  {
    id: 'body-100mb-announced',
    title: '200 announcing Content-Length: 104857600',
    arm: fault({ type: 'huge', bytes: 100 * 1024 * 1024, contentLength: true }),
    expect: exhausted('ERR_OCSP_EXHAUSTED', 'response of 104857600 bytes exceeds the limit'),
    huge: true,
  },
  {
    id: 'never-answers',
    title: 'accepts the connection and the request, never answers',
    arm: fault({ type: 'hang' }),
    expect: exhausted('ERR_OCSP_EXHAUSTED', /POST http:\/\/127\.0\.0\.1:\d+\/?: timeout after \d+ms\nGET /),
    slow: true,
  },
  {
    id: 'drip-one-byte-per-second',
    title: 'sends a valid response one byte per second',
    arm: fault({ type: 'drip', intervalMs: 1000 }),
    expect: exhausted('ERR_OCSP_EXHAUSTED', /timeout after \d+ms/),
    slow: true,
  },
  // --- the network --------------------------------------------------------------------------
  {
    id: 'connection-refused',
    title: 'nothing listens on the responder port',
    arm: async (c) => c.responder.close(),
    expect: exhausted('ERR_OCSP_EXHAUSTED', 'ECONNREFUSED'),
  },
  {
    id: 'dns-failure',
    title: 'the responder host name does not resolve (http://nonexistent.invalid/)',
    aia: 'http://nonexistent.invalid/',
    arm: () => undefined,
    // While running the AIA cannot change: the same failure class, a dead responder, is armed.
    armRuntime: async (c) => c.responder.close(),
    expect: exhausted('ERR_OCSP_EXHAUSTED', /ENOTFOUND|EAI_AGAIN|ECONNREFUSED/),
  },
  // --- controls: misbehaviour the engine must tolerate --------------------------------------
  {
    id: 'post-refused-get-works',
    title: 'POST refused with 400, GET works (falls back to GET)',
    arm: fault({ type: 'only-get' }),
    expect: { kind: 'accepted' },
  },
  {
    id: 'slow-but-timely',
    title: 'answers after 300 ms (inside the fetch timeout)',
    arm: fault({ type: 'delay', ms: 300 }),
    expect: { kind: 'accepted' },
  },
];

/** Matches a reason (substring or regexp) against a text. */
export function reasonMatches(reason: string | RegExp, text: string): boolean {
  return typeof reason === 'string' ? text.includes(reason) : reason.test(text);
}
