// `tsnats ocsp check` against the programmable responder: statuses, failures, mode decisions,
// the JSON shape and the exit statuses.

import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EXIT } from '../../src/cli/ocsp.js';
import { startResponder, type TestResponder } from '../../src/testkit/index.js';
import { refusedUrl, run, setup, type Env } from './helpers.js';

describe('tsnats ocsp check (programmable responder)', () => {
  let env: Env;
  before(async () => {
    env = await setup();
  });
  after(async () => {
    await env.close();
  });
  beforeEach(() => {
    env.responder.setFault(null);
    env.responder.setSigner(null);
    env.responder.setValidity({});
    env.responder.setDefault('good');
  });

  it('good: prints the certificate, issuer, attempt, response and decision; exit 0', async () => {
    const { pki } = env;
    const c = pki.serverMustStaple;
    const r = await run(['check', '--cert', c.certFile, '--ca', pki.caFile]);
    assert.equal(r.code, EXIT.GOOD);
    assert.equal(r.stderr, '');
    for (const want of [
      `Certificate     ${c.certFile}`,
      'CN=serverMustStaple',
      c.serialHex,
      'must-staple     yes',
      `aia ocsp urls   ${env.responder.url}`,
      'found in        the --ca bundle',
      `1. POST ${env.responder.url}  HTTP 200`,
      'valid response',
      'Response        GOOD',
      'signer          the issuer (O=tsnats testkit,CN=tsnats testkit root CA)',
      'would staple    yes',
      'would start     yes',
      'would shut down no',
      'Result: good (exit 0)',
    ]) {
      assert.ok(r.stdout.includes(want), `missing ${JSON.stringify(want)} in\n${r.stdout}`);
    }
  });

  it('good from a delegated responder: signer subject and its EKU', async () => {
    const { pki, responder } = env;
    responder.setSigner(pki.responder);
    const r = await run(['check', '--cert', pki.serverMustStaple.bundleFile, '--json']);
    assert.equal(r.code, 0);
    const j = r.json();
    assert.equal(j.issuer.source, 'cert_file');
    assert.equal(j.response.signer.type, 'delegate');
    assert.equal(j.response.signer.subject, 'O=tsnats testkit,CN=responder');
    assert.deepEqual(j.response.signer.eku, ['OCSPSigning']);
    assert.equal(j.response.responder_id.type, 'by_name');
    assert.match(r.stdout, /"not_after"/);
    const text = await run(['check', '--cert', pki.serverMustStaple.bundleFile]);
    assert.match(text.stdout, /signer +delegated responder O=tsnats testkit,CN=responder \(EKU OCSPSigning,/);
  });

  it('revoked: exit 2 with revocation time and reason; auto staples it, must refuses to start', async () => {
    const { pki, responder } = env;
    const c = pki.serverRevoked;
    const revokedAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
    responder.setStatus(c.serialHex, 'revoked', { time: revokedAt, reason: 1 });
    try {
      const auto = await run(['check', '--cert', c.bundleFile, '--json']);
      assert.equal(auto.code, EXIT.REVOKED);
      const a = auto.json();
      assert.equal(a.outcome, 'revoked');
      assert.equal(a.response.status, 'revoked');
      assert.equal(a.response.revocation_time, revokedAt.toISOString());
      assert.equal(a.response.revocation_reason, 'keyCompromise');
      assert.equal(a.decision.stapled, true);
      assert.equal(a.decision.would_staple, true);
      assert.equal(a.decision.would_start, true);
      assert.equal(a.decision.would_shut_down, false);
      assert.match(a.decision.summary, /Found OCSP status for Client certificate at '.*': revoked/);

      const must = await run(['check', '--cert', c.bundleFile, '--mode', 'must', '--json']);
      assert.equal(must.code, EXIT.REVOKED);
      const m = must.json();
      assert.equal(m.decision.would_start, false);
      assert.equal(m.decision.would_staple, false);
      assert.equal(m.decision.would_shut_down, true);
      assert.equal(m.decision.startup_error, `found existing OCSP status for certificate at '${c.bundleFile}': revoked`);

      const text = await run(['check', '--cert', c.bundleFile, '--mode', 'always']);
      assert.equal(text.code, 2);
      assert.match(text.stdout, /Response +REVOKED/);
      assert.match(text.stdout, /reason +keyCompromise/);
      assert.match(text.stdout, /would start +no: found existing OCSP status/);
      assert.match(text.stdout, /Result: REVOKED \(exit 2\)/);
    } finally {
      responder.setStatus(c.serialHex, 'good');
    }
  });

  it('unknown: exit 3; mode always staples a certificate without Must-Staple and refuses to start', async () => {
    const { pki, responder } = env;
    responder.setDefault('unknown');
    const r = await run(['check', '--cert', pki.server.bundleFile, '--mode', 'always', '--json']);
    assert.equal(r.code, EXIT.UNKNOWN);
    const j = r.json();
    assert.equal(j.outcome, 'unknown');
    assert.equal(j.response.status, 'unknown');
    assert.equal(j.decision.must_staple, false);
    assert.equal(j.decision.stapled, true);
    assert.equal(j.decision.would_start, false);
    assert.equal(j.decision.startup_error, `found existing OCSP status for certificate at '${pki.server.bundleFile}': unknown`);
  });

  it('responder down (connection refused): POST and GET fail, exit 4, start-up error as tsnats prints it', async () => {
    const { pki } = env;
    const down = await refusedUrl();
    const r = await run(['check', '--cert', pki.serverMustStaple.bundleFile, '--url', down, '--timeout', '2s', '--json']);
    assert.equal(r.code, EXIT.NO_VALID_RESPONSE);
    const j = r.json();
    assert.equal(j.outcome, 'no_valid_response');
    assert.equal(j.response, null);
    assert.deepEqual(
      j.attempts.map((a: any) => [a.method, a.http_status, a.error?.code]),
      [
        ['POST', null, 'ERR_OCSP_NETWORK'],
        ['GET', null, 'ERR_OCSP_NETWORK'],
      ],
    );
    assert.match(j.attempts[0].error.message, /ECONNREFUSED/);
    assert.equal(j.error.code, 'ERR_OCSP_EXHAUSTED');
    assert.equal(j.decision.would_start, false);
    assert.ok(j.decision.startup_error.startsWith(`bad OCSP status update for certificate at '${pki.serverMustStaple.bundleFile}': exhausted ocsp servers:`));
    const text = await run(['check', '--cert', pki.serverMustStaple.bundleFile, '--url', down]);
    assert.equal(text.code, 4);
    assert.match(text.stdout, /Response +none valid/);
    assert.match(text.stdout, /ECONNREFUSED/);
    assert.match(text.stdout, /Result: NO VALID RESPONSE \(exit 4\)/);
  });

  it('HTTP 500: both methods report the status, exit 4', async () => {
    const { pki, responder } = env;
    responder.setFault({ type: 'http-status', status: 500 });
    const r = await run(['check', '--cert', pki.serverMustStaple.bundleFile, '--json']);
    assert.equal(r.code, 4);
    const j = r.json();
    assert.deepEqual(
      j.attempts.map((a: any) => [a.method, a.http_status, a.error.code]),
      [
        ['POST', 500, 'ERR_OCSP_HTTP_STATUS'],
        ['GET', 500, 'ERR_OCSP_HTTP_STATUS'],
      ],
    );
    assert.match(j.error.message, /non-ok http status on POST request \(reqlen=\d+\): 500\nnon-ok http status on GET request/);
    const text = await run(['check', '--cert', pki.serverMustStaple.bundleFile]);
    assert.match(text.stdout, /1\. POST .* HTTP 500 .*ERR_OCSP_HTTP_STATUS/);
    assert.match(text.stdout, /2\. GET  .* HTTP 500 /);
  });

  it('wrong signer (no OCSPSigning EKU): rejected with the reason, no GET retry, exit 4', async () => {
    const { pki, responder } = env;
    responder.setFault({ type: 'wrong-signer', signer: pki.responderNoEku });
    const r = await run(['check', '--cert', pki.serverMustStaple.bundleFile, '--json']);
    assert.equal(r.code, EXIT.NO_VALID_RESPONSE);
    const j = r.json();
    assert.equal(j.error.code, 'ERR_OCSP_SIGNER_NO_EKU');
    assert.match(j.error.message, /^failed to get remote status: OCSP response signer 'O=tsnats testkit,CN=responderNoEku' missing authorization by CA/);
    assert.equal(j.attempts.length, 1);
    assert.equal(j.attempts[0].http_status, 200);
    assert.equal(j.attempts[0].accepted, false);
    assert.equal(j.attempts[0].error.code, 'ERR_OCSP_SIGNER_NO_EKU');
    // what the refused response claimed is still shown
    assert.equal(j.attempts[0].response.status, 'good');
    assert.equal(j.attempts[0].response.responder_id.value, 'O=tsnats testkit,CN=responderNoEku');
    const text = await run(['check', '--cert', pki.serverMustStaple.bundleFile]);
    assert.match(text.stdout, /ERR_OCSP_SIGNER_NO_EKU: OCSP response signer .* \(no id-kp-OCSPSigning extended key usage\)/);
    assert.match(text.stdout, /the response said good, signed by O=tsnats testkit,CN=responderNoEku/);
  });

  it('other refusals keep the check code: expired response, bad signature, tryLater', async () => {
    const { pki, responder } = env;
    const cases: [Parameters<TestResponder['setFault']>[0], string, RegExp][] = [
      ['expired', 'ERR_OCSP_NEXT_UPDATE_PAST', /invalid ocsp NextUpdate, is past time/],
      ['bad-signature', 'ERR_OCSP_BAD_SIGNATURE', /signature is invalid/],
      [{ type: 'ocsp-status', status: 'tryLater' }, 'ERR_OCSP_UNSUCCESSFUL', /ocsp: error from server: try later/],
      ['wrong-serial', 'ERR_OCSP_CERTID_SERIAL', /is for serial/],
    ];
    for (const [fault, code, msg] of cases) {
      responder.setFault(fault);
      const r = await run(['check', '--cert', pki.serverMustStaple.bundleFile, '--json']);
      assert.equal(r.code, 4, code);
      const j = r.json();
      assert.equal(j.error.code, code);
      assert.match(j.error.message, msg);
    }
  });

  it('no AIA: --url supplies the responder; without it a stapled certificate cannot start (exit 4)', async () => {
    const { pki, responder } = env;
    const c = pki.serverMustStapleNoAia;
    const withUrl = await run(['check', '--cert', c.bundleFile, '--url', responder.url, '--json']);
    assert.equal(withUrl.code, 0);
    const j = withUrl.json();
    assert.deepEqual(j.certificate.ocsp_urls, []);
    assert.deepEqual(j.responders, { source: 'override', urls: [responder.url] });
    assert.equal(j.decision.would_staple, true);

    const none = await run(['check', '--cert', c.bundleFile, '--json']);
    assert.equal(none.code, EXIT.NO_VALID_RESPONSE);
    const n = none.json();
    assert.equal(n.responders.source, 'none');
    assert.equal(n.error.code, 'ERR_OCSP_NO_RESPONDERS');
    assert.equal(n.decision.startup_error, `bad OCSP status update for certificate at '${c.bundleFile}': no available ocsp servers`);
    assert.deepEqual(n.attempts, []);
  });

  it('not applicable: no responder and the mode does not staple (exit 5); mode always makes it exit 4', async () => {
    const { pki } = env;
    const c = pki.serverNoAia;
    for (const mode of ['auto', 'must', 'never']) {
      const r = await run(['check', '--cert', c.bundleFile, '--mode', mode, '--json']);
      assert.equal(r.code, EXIT.NOT_APPLICABLE, mode);
      const j = r.json();
      assert.equal(j.outcome, 'not_applicable');
      assert.equal(j.decision.stapled, false);
      assert.equal(j.decision.would_start, true);
    }
    const text = await run(['check', '--cert', c.bundleFile]);
    assert.equal(text.code, 5);
    assert.match(text.stdout, /has no Must-Staple/);
    assert.match(text.stdout, /nothing to check/);
    assert.match(text.stdout, /Result: not applicable \(exit 5\)/);
    const always = await run(['check', '--cert', c.bundleFile, '--mode', 'always', '--json']);
    assert.equal(always.code, 4);
    assert.equal(always.json().decision.would_start, false);
  });

  it('mode decisions for good responses: auto with and without Must-Staple, must, always, never', async () => {
    const { pki } = env;
    const decide = async (cert: string, mode: string) => {
      const r = await run(['check', '--cert', cert, '--mode', mode, '--json']);
      assert.equal(r.code, 0, `${cert} ${mode}`);
      return r.json().decision;
    };
    const ms = pki.serverMustStaple.bundleFile;
    const plain = pki.server.bundleFile;
    const pick = (d: any) => [d.stapled, d.would_staple, d.would_start, d.would_shut_down];
    assert.deepEqual(pick(await decide(ms, 'auto')), [true, true, true, false]);
    assert.deepEqual(pick(await decide(plain, 'auto')), [false, false, true, false]);
    assert.deepEqual(pick(await decide(ms, 'must')), [true, true, true, false]);
    assert.deepEqual(pick(await decide(plain, 'must')), [false, false, true, false]);
    assert.deepEqual(pick(await decide(plain, 'always')), [true, true, true, false]);
    assert.deepEqual(pick(await decide(ms, 'never')), [false, false, true, false]);
    const autoPlain = await decide(plain, 'auto');
    assert.match(autoPlain.summary, /no Must-Staple .* use mode always/);
    assert.equal(autoPlain.refresh_in_ms, null);
    const good = await decide(ms, 'auto');
    assert.ok(good.refresh_in_ms.min > 0 && good.refresh_in_ms.min <= good.refresh_in_ms.max);
    // a 1 h response is refreshed between 40 % and 50 % of its window
    assert.ok(good.refresh_in_ms.max <= 30 * 60_000 && good.refresh_in_ms.min >= 23 * 60_000, JSON.stringify(good.refresh_in_ms));

    const never = await run(['check', '--cert', ms, '--mode', 'never', '--json']);
    assert.ok(never.json().warnings.some((w: string) => w.includes('has MustStaple but OCSP is disabled')));
    assert.match(never.json().decision.summary, /clients that honour Must-Staple will refuse/);
    const upper = await run(['check', '--cert', ms, '--mode', 'MUST', '--json']);
    assert.equal(upper.json().decision.mode, 'must');
  });

  it('--url order: failover from a dead responder to a live one (POST, GET, POST)', async () => {
    const { pki, responder } = env;
    const down = await refusedUrl();
    const r = await run(['check', '--cert', pki.serverMustStaple.bundleFile, '--url', down, '--url', responder.url, '--json']);
    assert.equal(r.code, 0);
    const j = r.json();
    assert.deepEqual(
      j.attempts.map((a: any) => [a.url, a.method, a.accepted]),
      [
        [down, 'POST', false],
        [down, 'GET', false],
        [responder.url, 'POST', true],
      ],
    );
    assert.equal(j.response.url, responder.url);
    assert.equal(j.response.method, 'POST');
  });

  it('GET fallback when POST is refused', async () => {
    const { pki, responder } = env;
    responder.setFault('only-get');
    const r = await run(['check', '--cert', pki.serverMustStaple.bundleFile, '--json']);
    assert.equal(r.code, 0);
    const j = r.json();
    assert.deepEqual(
      j.attempts.map((a: any) => [a.method, a.http_status, a.accepted]),
      [
        ['POST', 400, false],
        ['GET', 200, true],
      ],
    );
    assert.equal(j.response.method, 'GET');
  });

  it('--all-urls probes the remaining responders after the first valid response', async () => {
    const { pki, responder } = env;
    const second = await startResponder({ issuer: pki.root, defaultStatus: 'revoked' });
    try {
      const args = ['check', '--cert', pki.serverMustStaple.bundleFile, '--url', responder.url, '--url', second.url, '--json'];
      const plain = await run(args);
      assert.equal(plain.json().attempts.length, 1);
      assert.equal(second.requests.total, 0);
      const all = await run([...args, '--all-urls']);
      assert.equal(all.code, 0, 'the decision is the first valid response');
      const j = all.json();
      assert.deepEqual(
        j.attempts.map((a: any) => [a.url, a.probe, a.accepted, a.response?.status]),
        [
          [responder.url, false, true, 'good'],
          [second.url, true, false, 'revoked'],
        ],
      );
      assert.equal(j.response.status, 'good');
      assert.equal(second.requests.total, 1);
    } finally {
      await second.close();
    }
  });

  it('--timeout bounds each attempt', async () => {
    const { pki, responder } = env;
    responder.setFault('hang');
    const t0 = Date.now();
    const r = await run(['check', '--cert', pki.serverMustStaple.bundleFile, '--timeout', '150ms', '--json']);
    const took = Date.now() - t0;
    assert.equal(r.code, 4);
    assert.deepEqual(
      r.json().attempts.map((a: any) => a.error.code),
      ['ERR_OCSP_TIMEOUT', 'ERR_OCSP_TIMEOUT'],
    );
    assert.ok(took < 5000, `took ${took}ms`);
  });

  it('issuer not found: exit 1 with a hint; the decision says a stapled certificate would not start', async () => {
    const { pki } = env;
    const c = pki.serverMustStaple;
    const r = await run(['check', '--cert', c.certFile, '--json']);
    assert.equal(r.code, EXIT.USAGE);
    const j = r.json();
    assert.equal(j.outcome, 'input_error');
    assert.equal(j.error.code, 'ERR_OCSP_NO_ISSUER');
    assert.match(j.error.message, /no issuers found: pass the issuing CA with --ca/);
    assert.equal(j.issuer, null);
    assert.equal(j.decision.would_start, false);
    assert.equal(j.decision.startup_error, 'no issuers found');
    const other = await run(['check', '--cert', c.certFile, '--ca', pki.otherRoot.certFile]);
    assert.equal(other.code, 1);
    assert.match(other.stdout, /no certificate in the --ca bundle signed the leaf/);
    // the intermediate chain: leaf + intermediate in the bundle works
    const inter = await run(['check', '--cert', pki.serverViaIntermediate.bundleFile, '--json']);
    assert.equal(inter.json().issuer.subject, 'O=tsnats testkit,CN=tsnats testkit intermediate CA');
  });

  it('usage and input errors: exit 1, message on stderr (or a JSON error object with --json)', async () => {
    const { pki } = env;
    const cert = pki.serverMustStaple.bundleFile;
    const cases: [string[], RegExp][] = [
      [[], /missing command/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['check'], /--cert <file> is required/],
      [['check', '--cert', cert, '--mode', 'sometimes'], /unsupported --mode "sometimes"/],
      [['check', '--cert', cert, '--timeout', 'soon'], /bad --timeout "soon"/],
      [['check', '--cert', cert, '--timeout', '0s'], /must be positive/],
      [['check', '--cert', cert, '--url', 'ftp://x'], /only http and https/],
      [['check', '--cert', cert, '--url', 'not a url'], /not a URL/],
      [['check', '--cert', cert, '--bogus'], /Unknown option '--bogus'/],
      [['check', '--cert', cert, 'extra'], /unexpected argument "extra"/],
      [['check', '--cert', cert, '--cert', cert], /--cert given more than once/],
      [['check', '--cert', '/nonexistent/server.pem'], /cannot read certificate file '\/nonexistent\/server.pem'/],
      [['check', '--cert', pki.serverMustStaple.keyFile], /no certificate found/],
      [['check', '--cert', cert, '--ca', pki.serverMustStaple.keyFile], /failed to parse ca_file/],
      [['show'], /missing <file>/],
    ];
    for (const [args, re] of cases) {
      const r = await run(args);
      assert.equal(r.code, EXIT.USAGE, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
      assert.match(r.stderr, re, args.join(' '));
    }
    const bad = await run(['check', '--cert', cert, '--mode', 'x']);
    assert.match(bad.stderr, /^tsnats ocsp check: .*\nRun 'tsnats ocsp help' for usage\.\n$/);
    const j = await run(['check', '--json', '--cert', '/nonexistent.pem']);
    assert.equal(j.code, 1);
    assert.equal(j.stderr, '');
    assert.deepEqual(j.json(), {
      command: 'check',
      exit_code: 1,
      outcome: 'input_error',
      error: { code: 'ERR_CLI_READ', message: j.json().error.message },
    });
  });

  it('help: usage with the exit-status table on stdout, exit 0; a leading "ocsp" is accepted', async () => {
    for (const args of [['help'], ['--help'], ['check', '--help'], ['ocsp', 'show', '-h']]) {
      const r = await run(args);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, /^Usage:\n  tsnats ocsp check --cert <file>/);
      assert.match(r.stdout, /Exit status:\n  0  good/);
      assert.match(r.stdout, /  5  not applicable/);
    }
    const { pki } = env;
    const r = await run(['ocsp', 'check', '--cert', pki.serverMustStaple.bundleFile]);
    assert.equal(r.code, 0);
  });

  it('--json: one object with stable field names', async () => {
    const { pki, responder } = env;
    responder.setSigner(pki.responder);
    const r = await run(['check', '--cert', pki.serverMustStaple.bundleFile, '--json']);
    const j = r.json();
    assert.deepEqual(Object.keys(j), [
      'command',
      'exit_code',
      'outcome',
      'checked_at',
      'certificate',
      'issuer',
      'responders',
      'attempts',
      'response',
      'error',
      'decision',
      'warnings',
    ]);
    assert.equal(j.command, 'check');
    assert.equal(j.exit_code, 0);
    assert.equal(j.outcome, 'good');
    assert.deepEqual(Object.keys(j.certificate), [
      'file',
      'subject',
      'issuer',
      'serial',
      'sha256',
      'not_before',
      'not_after',
      'must_staple',
      'is_ca',
      'ocsp_urls',
      'eku',
    ]);
    assert.equal(j.certificate.serial, pki.serverMustStaple.serialHex);
    assert.match(j.certificate.sha256, /^[0-9a-f]{64}$/);
    assert.equal(j.certificate.must_staple, true);
    assert.deepEqual(Object.keys(j.issuer), ['source', ...Object.keys(j.certificate).slice(1)]);
    assert.deepEqual(Object.keys(j.attempts[0]), ['url', 'method', 'http_status', 'duration_ms', 'accepted', 'probe', 'error', 'response']);
    assert.equal(typeof j.attempts[0].duration_ms, 'number');
    assert.deepEqual(Object.keys(j.response), [
      'url',
      'method',
      'status',
      'revocation_time',
      'revocation_reason',
      'this_update',
      'next_update',
      'produced_at',
      'expires_at',
      'valid_for_ms',
      'responder_id',
      'cert_id_hash',
      'signer',
      'size',
    ]);
    assert.deepEqual(Object.keys(j.response.signer), ['type', 'subject', 'eku', 'not_after']);
    assert.deepEqual(Object.keys(j.decision), [
      'mode',
      'must_staple',
      'stapled',
      'would_staple',
      'would_start',
      'would_shut_down',
      'startup_error',
      'refresh_in_ms',
      'summary',
    ]);
    for (const k of ['this_update', 'next_update', 'produced_at', 'expires_at']) {
      assert.match(j.response[k], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, k);
    }
    assert.ok(j.response.valid_for_ms > 59 * 60_000 && j.response.valid_for_ms <= 3_600_000);
    assert.deepEqual(j.warnings, []);
  });
});
