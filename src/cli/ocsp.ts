// `tsnats ocsp check` and `tsnats ocsp show`: the operator CLI for OCSP stapling.
//
// check: a dry run of what the stapling engine does for one certificate at start-up: find the
//   issuer and the responders, fetch (POST, then GET, every URL in order, exactly the engine's
//   fetchOcspResponse), validate with the engine's verifyOcspResponse, then say what tsnats would
//   do in the given mode. Nothing is stapled or cached.
// show: decode a cached staple (`<store_dir>/ocsp/<sha256>`), optionally validate it for a
//   certificate; or list every cached staple of a store directory.
//
// Exit statuses are stable (see EXIT and docs/cli-ocsp.md). The JSON output (`--json`) is one
// object per run with stable snake_case field names.

import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  DEFAULT_REFRESH_POLICY,
  OcspError,
  OcspFetchError,
  buildOcspRequest,
  certIdFor,
  computeRefreshDelay,
  fetchOcspResponse,
  findIssuer,
  parseCaBundle,
  parseCertificateChain,
  parseOcspResponse,
  verifyOcspResponse,
  type CertificateInfo,
  type OcspAttempt,
  type OcspMode,
  type ParsedOcspResponse,
  type VerifiedOcspResponse,
} from '../ocsp/index.js';
import { DEFAULT_FETCH_TIMEOUT_MS } from '../ocsp/fetch.js';
import { DEFAULT_CLOCK_SKEW_MS, DEFAULT_MAX_AGE_WITHOUT_NEXT_UPDATE_MS } from '../ocsp/verify.js';
import { MAX_STORED_RESPONSE_BYTES } from '../ocsp/store.js';
import { parseGoDuration } from '../config/options.js';
import {
  crlReasonName,
  describeCertificate,
  describeParsed,
  describeResponderId,
  embeddedSignerBySubject,
  ekuNames,
  iso,
  type CertificateDescription,
  type ResponderIdDescription,
  type ResponseDescription,
} from './ocsp-describe.js';
import { fmtDur, renderCheck, renderShowFile, renderStore } from './ocsp-render.js';

// ---------------------------------------------------------------------------------------------
// Public surface

/** Stable exit statuses of `tsnats ocsp`. Never renumbered. */
export const EXIT = {
  /** check: a valid response says good. show: decoded (and, with --cert, valid and good). */
  GOOD: 0,
  /** Usage or input error: bad option, unreadable/unparsable certificate or CA file, no issuer. */
  USAGE: 1,
  /** A valid response says revoked. */
  REVOKED: 2,
  /** A valid response says unknown. */
  UNKNOWN: 3,
  /** No valid response: no responder, every fetch failed, or the response was refused. */
  NO_VALID_RESPONSE: 4,
  /** Nothing to check: no responder URL and the mode does not staple this certificate. */
  NOT_APPLICABLE: 5,
} as const;

export type OcspCliOutcome =
  | 'good'
  | 'revoked'
  | 'unknown'
  | 'no_valid_response'
  | 'not_applicable'
  | 'input_error'
  /** show without --cert: the file is a well-formed OCSP response (not validated). */
  | 'decoded'
  /** show --store-dir: the directory was listed. */
  | 'listed';

const EXIT_OF: Record<OcspCliOutcome, number> = {
  good: EXIT.GOOD,
  decoded: EXIT.GOOD,
  listed: EXIT.GOOD,
  input_error: EXIT.USAGE,
  revoked: EXIT.REVOKED,
  unknown: EXIT.UNKNOWN,
  no_valid_response: EXIT.NO_VALID_RESPONSE,
  not_applicable: EXIT.NOT_APPLICABLE,
};

export interface OcspCliIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  /** Clock used for validation (milliseconds since the epoch). Default Date.now. For tests. */
  now?: () => number;
}

export const OCSP_USAGE = `Usage:
  tsnats ocsp check --cert <file> [--ca <file>]... [--url <url>]... [--mode auto|must|always|never]
                    [--timeout <duration>] [--all-urls] [--json]
  tsnats ocsp show <file> [--cert <file>] [--ca <file>]... [--json]
  tsnats ocsp show --store-dir <dir> [--cert <file>]... [--ca <file>]... [--json]
  tsnats ocsp check --peer --cert <file> --ca <file>... [ocsp_peer options] [--json]
                    (would ocsp_peer admit this client certificate? see --peer --help)
  tsnats ocsp help

Commands:
  check   Fetch the certificate's OCSP response now, validate it exactly as tsnats does and say
          what tsnats would do with it in the given mode. A dry run: nothing is stapled or cached.
  show    Decode a cached staple (<store_dir>/ocsp/<sha256 of the certificate>); with --cert also
          validate it for that certificate. With --store-dir, list every cached staple.

Options:
  --cert <file>      Certificate file: PEM (leaf first, optionally its issuer second) or DER.
  --ca <file>        CA bundle used to find the issuer when --cert holds only the leaf
                     (repeatable). Default: Node's bundled root certificates.
  --url <url>        Responder URL replacing the certificate's AIA OCSP URLs (repeatable; tried
                     in the order given).
  --mode <mode>      The ocsp mode to decide for: auto (default), must, always or never.
  --timeout <dur>    Per HTTP attempt: a duration (5s, 1500ms, 1m) or seconds. Default 10s.
  --all-urls         After a responder gives a valid response, also probe the remaining URLs
                     (shown as probes; the decision is still the first valid response's).
  --store-dir <dir>  A tsnats / nats-server store_dir: lists the files in <dir>/ocsp.
  --json             Print one JSON object instead of the report.
  -h, --help         Show this help.

Exit status:
  0  good: a valid response says good (show without --cert: the file decoded; listing done)
  1  usage or input error: bad option, unreadable or unparsable file, issuer not found
  2  revoked: a valid response says revoked
  3  unknown: a valid response says unknown
  4  no valid response: no responder, every fetch failed, or the response was refused
     (show: the file is not an OCSP response, or not a valid one for --cert)
  5  not applicable: no responder URL and the mode does not staple this certificate
`;

/**
 * Runs `tsnats ocsp <argv...>` (argv: the arguments after `ocsp`; a leading `ocsp` is ignored).
 * Writes the report to io.stdout, usage errors to io.stderr, and returns the exit status.
 * Never throws.
 */
export async function runOcspCommand(argv: string[], io?: Partial<OcspCliIo>): Promise<number> {
  const out = io?.stdout ?? process.stdout;
  const err = io?.stderr ?? process.stderr;
  const now = io?.now ?? Date.now;
  const args = argv[0] === 'ocsp' ? argv.slice(1) : argv;
  const [sub, ...rest] = args;
  const json = rest.includes('--json');
  try {
    switch (sub) {
      case 'check':
        return await runCheck(rest, out, now);
      case 'show':
        return await runShow(rest, out, now);
      case 'help':
      case '--help':
      case '-h':
        out.write(OCSP_USAGE);
        return EXIT.GOOD;
      case undefined:
        throw new CliError('ERR_CLI_USAGE', 'missing command (check or show)');
      default:
        throw new CliError('ERR_CLI_USAGE', `unknown command ${JSON.stringify(sub)} (expected check or show)`);
    }
  } catch (e) {
    const ce = toCliError(e);
    if (json) {
      out.write(
        JSON.stringify({ command: sub ?? null, exit_code: EXIT.USAGE, outcome: 'input_error', error: { code: ce.code, message: ce.message } }, null, 2) + '\n',
      );
    } else {
      err.write(`tsnats ocsp${sub && (sub === 'check' || sub === 'show') ? ` ${sub}` : ''}: ${ce.message}\n`);
      if (ce.code === 'ERR_CLI_USAGE') err.write(`Run 'tsnats ocsp help' for usage.\n`);
    }
    return EXIT.USAGE;
  }
}

// ---------------------------------------------------------------------------------------------
// Errors

/** An input problem (exit 1). `code` is ERR_CLI_* or the engine's ERR_OCSP_* code. */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function toCliError(e: unknown): CliError {
  if (e instanceof CliError) return e;
  if (e instanceof OcspError) return new CliError(e.code, e.message);
  return new CliError('ERR_CLI_INTERNAL', e instanceof Error ? e.message : String(e));
}

export interface ErrorInfo {
  code: string;
  message: string;
}

function errorInfo(e: unknown): ErrorInfo {
  if (e instanceof OcspError || e instanceof CliError) return { code: e.code, message: e.message };
  return { code: 'ERR_CLI_INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

// ---------------------------------------------------------------------------------------------
// Argument parsing

type OptSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

function parse(rest: string[], spec: OptSpec) {
  try {
    return parseArgs({ args: rest, options: spec, allowPositionals: true, strict: true });
  } catch (e) {
    // node's text goes on about positionals starting with '-': keep the first sentence.
    throw new CliError('ERR_CLI_USAGE', (e instanceof Error ? e.message : String(e)).replace(/\. To specify a positional argument.*$/s, ''));
  }
}

function one(v: string | string[] | boolean | (string | boolean)[] | undefined, name: string): string | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) {
    if (v.length > 1) throw new CliError('ERR_CLI_USAGE', `--${name} given more than once`);
    return v[0] === undefined ? undefined : String(v[0]);
  }
  return String(v);
}

function many(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)];
}

function parseMode(v: string | undefined): OcspMode {
  if (v === undefined) return 'auto';
  const m = v.toLowerCase();
  if (m !== 'auto' && m !== 'must' && m !== 'always' && m !== 'never') {
    throw new CliError('ERR_CLI_USAGE', `unsupported --mode ${JSON.stringify(v)} (expected auto, must, always or never)`);
  }
  return m;
}

function parseTimeout(v: string | undefined): number {
  if (v === undefined) return DEFAULT_FETCH_TIMEOUT_MS;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(v.trim())) ms = Number(v.trim()) * 1000;
  else {
    try {
      ms = parseGoDuration(v.trim());
    } catch (e) {
      throw new CliError('ERR_CLI_USAGE', `bad --timeout ${JSON.stringify(v)}: ${(e as Error).message}`);
    }
  }
  if (!(ms > 0) || !Number.isFinite(ms)) throw new CliError('ERR_CLI_USAGE', `bad --timeout ${JSON.stringify(v)}: must be positive`);
  return Math.max(1, Math.round(ms));
}

function parseUrl(v: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new CliError('ERR_CLI_USAGE', `bad --url ${JSON.stringify(v)}: not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new CliError('ERR_CLI_USAGE', `bad --url ${JSON.stringify(v)}: only http and https responders are supported`);
  }
  return v;
}

async function readInput(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new CliError('ERR_CLI_READ', `cannot read ${what} '${path}': ${(e as Error).message}`);
  }
}

/** Reads a certificate file (PEM chain or DER) with the engine's parser. */
async function loadChain(path: string): Promise<CertificateInfo[]> {
  const buf = await readInput(path, 'certificate file');
  try {
    return parseCertificateChain(buf);
  } catch (e) {
    throw new CliError((e as OcspError).code ?? 'ERR_OCSP_CERT_PARSE', `certificate file '${path}': ${(e as Error).message}`);
  }
}

async function loadCa(paths: readonly string[]): Promise<CertificateInfo[] | undefined> {
  if (paths.length === 0) return undefined;
  const parts: Buffer[] = [];
  for (const p of paths) parts.push(await readInput(p, 'CA file'));
  try {
    return parseCaBundle(parts);
  } catch (e) {
    throw new CliError((e as OcspError).code ?? 'ERR_OCSP_CA_PARSE', `${(e as Error).message} (${paths.join(', ')})`);
  }
}

export type IssuerSource = 'cert_file' | 'ca_file' | 'system_roots';

interface IssuerLookup {
  issuer?: CertificateInfo;
  source: IssuerSource;
  error?: ErrorInfo;
}

/** The engine's findIssuer, plus where it looked (for the report). */
function lookupIssuer(chain: CertificateInfo[], ca: CertificateInfo[] | undefined, now: number): IssuerLookup {
  const source: IssuerSource = chain.length >= 2 ? 'cert_file' : ca && ca.length > 0 ? 'ca_file' : 'system_roots';
  try {
    return { issuer: findIssuer(chain, ca, now), source };
  } catch (e) {
    return { source, error: errorInfo(e) };
  }
}


function issuerHint(l: IssuerLookup): string {
  if (l.error?.code === 'ERR_OCSP_ISSUER_NOT_CA') return 'the certificate that signed the leaf is not a CA (basicConstraints)';
  if (l.source === 'cert_file') return 'the second certificate in the certificate file did not sign the leaf';
  if (l.source === 'ca_file') return 'no certificate in the --ca bundle signed the leaf';
  return 'pass the issuing CA with --ca, or append it to the certificate file';
}

// ---------------------------------------------------------------------------------------------
// check

export interface CheckAttemptReport {
  url: string;
  method: 'POST' | 'GET';
  http_status: number | null;
  duration_ms: number;
  /** This attempt's response was valid and is the one reported under `response`. */
  accepted: boolean;
  /** Made because of --all-urls, after the decision's response was already obtained. */
  probe: boolean;
  error: ErrorInfo | null;
  /** What the body said, when it decoded as an OCSP response (also for refused ones). */
  response: {
    status: 'good' | 'revoked' | 'unknown' | null;
    responder_id: ResponderIdDescription;
    produced_at: string | null;
    this_update: string | null;
    next_update: string | null;
  } | null;
}

export interface CheckResponseReport {
  url: string;
  method: 'POST' | 'GET';
  status: 'good' | 'revoked' | 'unknown';
  revocation_time: string | null;
  revocation_reason: string | null;
  this_update: string | null;
  next_update: string | null;
  produced_at: string | null;
  /** When tsnats would stop serving it: nextUpdate (or thisUpdate + 1 h), capped by a delegate's notAfter. */
  expires_at: string | null;
  valid_for_ms: number;
  responder_id: ResponderIdDescription;
  cert_id_hash: string;
  signer: {
    type: 'issuer' | 'delegate';
    subject: string;
    /** Extended key usages of the signer certificate; null when it has no EKU extension. */
    eku: string[] | null;
    not_after: string | null;
  };
  size: number;
}

export interface CheckDecision {
  mode: OcspMode;
  must_staple: boolean;
  /** Whether tsnats staples this certificate at all in this mode (mode × Must-Staple). */
  stapled: boolean;
  /** Whether tsnats would staple this response. */
  would_staple: boolean;
  /** Whether `tsnats` would start with this certificate in this mode. */
  would_start: boolean;
  /** Whether a running tsnats receiving this response would shut down (must/always + revoked/unknown). */
  would_shut_down: boolean;
  /** The start-up error tsnats would report, verbatim. */
  startup_error: string | null;
  /** After a good fetch, tsnats refreshes within this range (jitter). */
  refresh_in_ms: { min: number; max: number } | null;
  summary: string;
}

export interface CheckReport {
  command: 'check';
  exit_code: number;
  outcome: OcspCliOutcome;
  checked_at: string;
  certificate: CertificateDescription & { file: string };
  issuer: (CertificateDescription & { source: IssuerSource }) | null;
  responders: { source: 'aia' | 'override' | 'none'; urls: string[] };
  attempts: CheckAttemptReport[];
  response: CheckResponseReport | null;
  error: ErrorInfo | null;
  decision: CheckDecision;
  warnings: string[];
}

async function runCheck(rest: string[], out: OcspCliIo['stdout'], now: () => number): Promise<number> {
  // `--peer`: would `ocsp_peer` admit this client certificate? (src/cli/ocsp-peer-check.ts)
  if (rest.includes('--peer')) {
    const { runPeerCheck } = await import('./ocsp-peer-check.js');
    return runPeerCheck(rest.filter((a) => a !== '--peer'), out, now);
  }
  const { values, positionals } = parse(
    rest,
    {
      cert: { type: 'string', multiple: true },
      ca: { type: 'string', multiple: true },
      url: { type: 'string', multiple: true },
      mode: { type: 'string', multiple: true },
      timeout: { type: 'string', multiple: true },
      'all-urls': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  );
  if (values.help) {
    out.write(OCSP_USAGE);
    return EXIT.GOOD;
  }
  if (positionals.length > 0) throw new CliError('ERR_CLI_USAGE', `unexpected argument ${JSON.stringify(positionals[0])}`);
  const certPath = one(values.cert, 'cert');
  if (!certPath) throw new CliError('ERR_CLI_USAGE', '--cert <file> is required');
  const report = await check({
    certPath,
    caPaths: many(values.ca),
    urls: many(values.url).map(parseUrl),
    mode: parseMode(one(values.mode, 'mode')),
    timeoutMs: parseTimeout(one(values.timeout, 'timeout')),
    allUrls: values['all-urls'] === true,
    now,
  });
  out.write(values.json ? JSON.stringify(report, null, 2) + '\n' : renderCheck(report));
  return report.exit_code;
}

export interface CheckOptions {
  certPath: string;
  caPaths: readonly string[];
  urls: readonly string[];
  mode: OcspMode;
  timeoutMs: number;
  allUrls: boolean;
  now: () => number;
}

/** The check itself, as data. Throws CliError for input errors that prevent any report. */
export async function check(o: CheckOptions): Promise<CheckReport> {
  const checkedAt = o.now();
  const chain = await loadChain(o.certPath);
  const ca = await loadCa(o.caPaths);
  const leaf = chain[0]!;
  const warnings: string[] = [];
  if (checkedAt > leaf.notAfter) warnings.push(`the certificate expired at ${iso(leaf.notAfter)}`);
  if (checkedAt < leaf.notBefore) warnings.push(`the certificate is not valid before ${iso(leaf.notBefore)}`);

  const stapled = o.mode === 'always' || (o.mode !== 'never' && leaf.mustStaple);
  if (o.mode === 'never' && leaf.mustStaple) {
    warnings.push(`Certificate at '${o.certPath}' has MustStaple but OCSP is disabled (tsnats logs this warning in mode never)`);
  }
  const urls = o.urls.length > 0 ? [...o.urls] : [...leaf.ocspUrls];
  const responders: CheckReport['responders'] = {
    source: o.urls.length > 0 ? 'override' : urls.length > 0 ? 'aia' : 'none',
    urls,
  };
  const lookup = lookupIssuer(chain, ca, checkedAt);
  if (lookup.issuer && (checkedAt > lookup.issuer.notAfter || checkedAt < lookup.issuer.notBefore)) {
    warnings.push(`the issuer '${lookup.issuer.subject}' is not valid now (${iso(lookup.issuer.notBefore)} to ${iso(lookup.issuer.notAfter)})`);
  }

  const base = {
    command: 'check' as const,
    checked_at: iso(checkedAt)!,
    certificate: { file: o.certPath, ...describeCertificate(leaf) },
    issuer: lookup.issuer ? { source: lookup.source, ...describeCertificate(lookup.issuer) } : null,
    responders,
    warnings,
  };
  const finish = (
    outcome: OcspCliOutcome,
    rest: { attempts: CheckAttemptReport[]; response: CheckResponseReport | null; error: ErrorInfo | null; decision: CheckDecision },
  ): CheckReport => ({
    command: base.command,
    exit_code: EXIT_OF[outcome],
    outcome,
    checked_at: base.checked_at,
    certificate: base.certificate,
    issuer: base.issuer,
    responders: base.responders,
    attempts: rest.attempts,
    response: rest.response,
    error: rest.error,
    decision: rest.decision,
    warnings: base.warnings,
  });
  const dec = (p: Partial<CheckDecision> & { summary: string }): CheckDecision => ({
    mode: o.mode,
    must_staple: leaf.mustStaple,
    stapled,
    would_staple: false,
    would_start: true,
    would_shut_down: false,
    startup_error: null,
    refresh_in_ms: null,
    ...p,
  });
  const notStapledWhy =
    o.mode === 'never'
      ? leaf.mustStaple
        ? 'OCSP is disabled (mode never): tsnats neither fetches nor staples, and clients that honour Must-Staple will refuse this certificate'
        : 'OCSP is disabled (mode never): tsnats neither fetches nor staples'
      : `tsnats does not staple this certificate in mode ${o.mode}: it has no Must-Staple (TLS Feature status_request); use mode always to staple it`;

  // 1. Nothing to ask.
  if (urls.length === 0) {
    if (!stapled) {
      return finish('not_applicable', {
        attempts: [],
        response: null,
        error: null,
        decision: dec({ summary: `${notStapledWhy}. The certificate has no OCSP responder URL (no AIA, no --url): nothing to check.` }),
      });
    }
    if (!lookup.issuer) {
      return finish('input_error', {
        attempts: [],
        response: null,
        error: { code: lookup.error!.code, message: `${lookup.error!.message}: ${issuerHint(lookup)}` },
        decision: dec({ would_start: false, startup_error: lookup.error!.message, summary: `tsnats would refuse to start: ${lookup.error!.message}.` }),
      });
    }
    const e = new OcspFetchError('ERR_OCSP_NO_RESPONDERS', 'no available ocsp servers');
    const startup = `bad OCSP status update for certificate at '${o.certPath}': ${e.message}`;
    return finish('no_valid_response', {
      attempts: [],
      response: null,
      error: errorInfo(e),
      decision: dec({
        would_start: false,
        startup_error: startup,
        summary: `tsnats would refuse to start: the certificate must be stapled in mode ${o.mode} but has no OCSP responder URL (no AIA); give one with --url / ocsp { url: ... }.`,
      }),
    });
  }

  // 2. No issuer: no CertID, no validation.
  if (!lookup.issuer) {
    const e = lookup.error!;
    return finish('input_error', {
      attempts: [],
      response: null,
      error: { code: e.code, message: `${e.message}: ${issuerHint(lookup)}` },
      decision: stapled
        ? dec({ would_start: false, startup_error: e.message, summary: `tsnats would refuse to start: ${e.message}.` })
        : dec({ summary: `${notStapledWhy}. The OCSP status could not be checked: ${e.message}.` }),
    });
  }
  const issuer = lookup.issuer;

  // 3. Fetch and validate, exactly as the stapler does.
  const request = buildOcspRequest(certIdFor(leaf, issuer, 'sha1'));
  const attempts: CheckAttemptReport[] = [];
  const fetchWith = async (list: string[], probe: boolean) => {
    let body: Buffer | undefined;
    return fetchOcspResponse<VerifiedOcspResponse>({
      urls: list,
      request,
      timeoutMs: o.timeoutMs,
      accept: (der) => {
        body = der;
        return verifyOcspResponse(der, { leaf, issuer, now: o.now() });
      },
      onAttempt: (a) => {
        attempts.push(attemptReport(a, body, probe));
        body = undefined;
      },
    });
  };
  let verified: VerifiedOcspResponse;
  let response: CheckResponseReport;
  try {
    const res = await fetchWith(urls, false);
    verified = res.value;
    // the accepted attempt is the last one recorded
    const last = attempts[attempts.length - 1];
    if (last && !last.error) last.accepted = true;
    response = responseReport(res.value, parseOcspResponse(res.der), issuer, res.url, res.method, o.now());
    if (o.allUrls) {
      const idx = urls.findIndex((u) => u.replace(/\/+$/, '') === res.url);
      for (const u of urls.slice(idx + 1)) {
        await fetchWith([u], true).catch(() => undefined);
      }
    }
  } catch (e) {
    const info = errorInfo(e);
    const startup = `bad OCSP status update for certificate at '${o.certPath}': ${info.message}`;
    return finish('no_valid_response', {
      attempts,
      response: null,
      error: info,
      decision: stapled
        ? dec({
            would_start: false,
            startup_error: startup,
            summary:
              `tsnats would refuse to start (no valid OCSP response). A running tsnats keeps serving its current staple ` +
              `until it expires and retries with backoff; it does not shut down for a failed fetch.`,
          })
        : dec({ summary: `${notStapledWhy}. No valid OCSP response was obtained.` }),
    });
  }

  // 4. A valid response: good, revoked or unknown.
  const status = verified.status;
  const lo = computeRefreshDelay(o.now(), verified.thisUpdate, verified.expiresAt, () => 1, DEFAULT_REFRESH_POLICY);
  const hi = computeRefreshDelay(o.now(), verified.thisUpdate, verified.expiresAt, () => 0, DEFAULT_REFRESH_POLICY);
  const until = `until ${iso(verified.expiresAt)} (${fmtDur(verified.expiresAt - o.now())})`;
  let decision: CheckDecision;
  if (!stapled) {
    decision = dec({
      summary:
        `${notStapledWhy}. The responder says ${status}` +
        (status === 'good' ? '' : `; clients that check OCSP themselves will refuse this certificate`) +
        '.',
    });
  } else if (status === 'good') {
    decision = dec({
      would_staple: true,
      refresh_in_ms: { min: lo, max: hi },
      summary: `tsnats would start and staple this response ${until}, refreshing it in ${fmtDur(lo)} to ${fmtDur(hi)}.`,
    });
  } else if (o.mode === 'auto') {
    decision = dec({
      would_staple: true,
      refresh_in_ms: { min: lo, max: hi },
      summary:
        `tsnats would start and staple the ${status} response ${until} (mode auto does not shut down), logging ` +
        `"Found OCSP status for Client certificate at '${o.certPath}': ${status}". Clients will refuse this certificate.`,
    });
  } else {
    decision = dec({
      would_start: false,
      would_shut_down: true,
      startup_error: `found existing OCSP status for certificate at '${o.certPath}': ${status}`,
      summary: `tsnats would refuse to start (mode ${o.mode}, status ${status}); a running tsnats receiving this response would shut down.`,
    });
  }
  return finish(status, { attempts, response, error: null, decision });
}

function attemptReport(a: OcspAttempt, body: Buffer | undefined, probe: boolean): CheckAttemptReport {
  let response: CheckAttemptReport['response'] = null;
  if (body && body.length > 0) {
    try {
      const p = parseOcspResponse(body);
      const s = p.responses.length === 1 ? p.responses[0]! : undefined;
      response = {
        status: s?.status ?? null,
        responder_id: describeResponderId(p),
        produced_at: iso(p.producedAt),
        this_update: iso(s?.thisUpdate),
        next_update: iso(s?.nextUpdate),
      };
    } catch {
      response = null;
    }
  }
  return {
    url: a.url,
    method: a.method,
    http_status: a.httpStatus ?? null,
    duration_ms: Math.round(a.durationMs * 10) / 10,
    accepted: false,
    probe,
    error: a.error ? { code: a.error.code, message: a.error.message } : null,
    response,
  };
}

function responseReport(
  v: VerifiedOcspResponse,
  parsed: ParsedOcspResponse,
  issuer: CertificateInfo,
  url: string,
  method: 'POST' | 'GET',
  now: number,
): CheckResponseReport {
  const signerCert = v.signer === 'issuer' ? issuer : embeddedSignerBySubject(parsed, v.signerSubject);
  return {
    url,
    method,
    status: v.status,
    revocation_time: iso(v.revocationTime),
    revocation_reason: crlReasonName(v.revocationReason),
    this_update: iso(v.thisUpdate),
    next_update: iso(v.nextUpdate),
    produced_at: iso(v.producedAt),
    expires_at: iso(v.expiresAt),
    valid_for_ms: Math.max(0, v.expiresAt - now),
    responder_id: describeResponderId(parsed),
    cert_id_hash: parsed.responses[0]?.certId.hash ?? parsed.responses[0]?.certId.hashOid ?? '',
    signer: {
      type: v.signer,
      subject: v.signerSubject,
      eku: signerCert ? ekuNames(signerCert.extKeyUsage) : null,
      not_after: signerCert ? iso(signerCert.notAfter) : null,
    },
    size: parsed.der.length,
  };
}

// ---------------------------------------------------------------------------------------------
// show

export interface ValidationReport {
  certificate: { file: string; subject: string; serial: string; sha256: string };
  issuer: { subject: string; source: IssuerSource } | null;
  /** The engine's verifyOcspResponse accepted it now. */
  valid: boolean;
  status: 'good' | 'revoked' | 'unknown' | null;
  expires_at: string | null;
  valid_for_ms: number | null;
  signer: { type: 'issuer' | 'delegate'; subject: string } | null;
  error: ErrorInfo | null;
  /** The file name is this certificate's cache name (SHA-256 of its DER); null if it is not a cache name. */
  file_name_matches: boolean | null;
  /**
   * tsnats would use this file at start-up instead of fetching: it is valid for the certificate
   * now and, when it is named like a cache file, named for this certificate.
   */
  tsnats_would_load: boolean;
}

export interface ShowFileReport {
  command: 'show';
  exit_code: number;
  outcome: OcspCliOutcome;
  checked_at: string;
  file: { path: string; size: number; modified: string | null };
  response: ResponseDescription | null;
  validation: ValidationReport | null;
  error: ErrorInfo | null;
}

export interface StoreFileEntry {
  name: string;
  path: string;
  size: number;
  modified: string | null;
  /** The --cert whose SHA-256 is this file's name, if any. */
  certificate: string | null;
  decoded: boolean;
  status: 'good' | 'revoked' | 'unknown' | null;
  responder_id: ResponderIdDescription | null;
  produced_at: string | null;
  this_update: string | null;
  next_update: string | null;
  /** By its dates only (not its signature): thisUpdate ≤ now + 60 s and now < nextUpdate (or thisUpdate + 1 h). */
  dates_current: boolean | null;
  /** Full validation, when a --cert matches this file. */
  validation: ValidationReport | null;
  error: ErrorInfo | null;
}

export interface ShowStoreReport {
  command: 'show';
  exit_code: number;
  outcome: OcspCliOutcome;
  checked_at: string;
  store_dir: string;
  directory: string;
  files: StoreFileEntry[];
  /** Other entries in the directory (temporary files of an interrupted write, strays). */
  ignored: string[];
  /** --cert files that have no cached staple. */
  missing: { file: string; sha256: string }[];
  error: ErrorInfo | null;
}

async function runShow(rest: string[], out: OcspCliIo['stdout'], now: () => number): Promise<number> {
  const { values, positionals } = parse(
    rest,
    {
      cert: { type: 'string', multiple: true },
      ca: { type: 'string', multiple: true },
      'store-dir': { type: 'string', multiple: true },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  );
  if (values.help) {
    out.write(OCSP_USAGE);
    return EXIT.GOOD;
  }
  const storeDir = one(values['store-dir'], 'store-dir');
  const certs = many(values.cert);
  const caPaths = many(values.ca);
  if (storeDir !== undefined) {
    if (positionals.length > 0) throw new CliError('ERR_CLI_USAGE', 'give either a file or --store-dir, not both');
    const report = await showStore(storeDir, certs, caPaths, now);
    out.write(values.json ? JSON.stringify(report, null, 2) + '\n' : renderStore(report));
    return report.exit_code;
  }
  if (positionals.length === 0) throw new CliError('ERR_CLI_USAGE', 'missing <file> (or --store-dir <dir>)');
  if (positionals.length > 1) throw new CliError('ERR_CLI_USAGE', `unexpected argument ${JSON.stringify(positionals[1])}`);
  if (certs.length > 1) throw new CliError('ERR_CLI_USAGE', '--cert given more than once (only with --store-dir)');
  if (caPaths.length > 0 && certs.length === 0) throw new CliError('ERR_CLI_USAGE', '--ca needs --cert');
  const report = await showFile(positionals[0]!, certs[0], caPaths, now);
  out.write(values.json ? JSON.stringify(report, null, 2) + '\n' : renderShowFile(report));
  return report.exit_code;
}

interface LoadedCert {
  file: string;
  leaf: CertificateInfo;
  lookup: IssuerLookup;
}

async function loadCertForValidation(file: string, ca: CertificateInfo[] | undefined, now: number): Promise<LoadedCert> {
  const chain = await loadChain(file);
  const lookup = lookupIssuer(chain, ca, now);
  if (!lookup.issuer) throw new CliError(lookup.error!.code, `certificate file '${file}': ${lookup.error!.message}: ${issuerHint(lookup)}`);
  return { file, leaf: chain[0]!, lookup };
}

function validate(parsed: ParsedOcspResponse, c: LoadedCert, fileName: string, now: number): ValidationReport {
  const nameIsHash = /^[0-9a-f]{64}$/.test(fileName);
  const fileNameMatches = nameIsHash ? fileName === c.leaf.sha256 : null;
  const base = {
    certificate: { file: c.file, subject: c.leaf.subject, serial: c.leaf.serialHex, sha256: c.leaf.sha256 },
    issuer: c.lookup.issuer ? { subject: c.lookup.issuer.subject, source: c.lookup.source } : null,
    file_name_matches: fileNameMatches,
  };
  try {
    const v = verifyOcspResponse(parsed, { leaf: c.leaf, issuer: c.lookup.issuer!, now });
    return {
      ...base,
      valid: true,
      status: v.status,
      expires_at: iso(v.expiresAt),
      valid_for_ms: Math.max(0, v.expiresAt - now),
      signer: { type: v.signer, subject: v.signerSubject },
      error: null,
      tsnats_would_load: fileNameMatches !== false,
    };
  } catch (e) {
    return {
      ...base,
      valid: false,
      status: null,
      expires_at: null,
      valid_for_ms: null,
      signer: null,
      error: errorInfo(e),
      tsnats_would_load: false,
    };
  }
}

async function readStaple(path: string): Promise<{ der: Buffer; size: number; modified: string | null }> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new CliError('ERR_CLI_READ', `cannot read '${path}': ${(e as Error).message}`);
  }
  if (!st.isFile()) throw new CliError('ERR_CLI_READ', `cannot read '${path}': not a regular file`);
  const modified = iso(st.mtimeMs);
  if (st.size > MAX_STORED_RESPONSE_BYTES) {
    return { der: Buffer.alloc(0), size: st.size, modified };
  }
  return { der: await readInput(path, 'file'), size: st.size, modified };
}

function tooLarge(size: number): ErrorInfo {
  return { code: 'ERR_OCSP_TOO_LARGE', message: `file of ${size} bytes is too large to be an OCSP response (limit ${MAX_STORED_RESPONSE_BYTES})` };
}

export async function showFile(path: string, certPath: string | undefined, caPaths: readonly string[], now: () => number): Promise<ShowFileReport> {
  const { der, size, modified } = await readStaple(path);
  const cert = certPath ? await loadCertForValidation(certPath, await loadCa(caPaths), now()) : undefined;
  const file = { path, size, modified };
  const checked_at = iso(now())!;
  const bad = (error: ErrorInfo): ShowFileReport => ({
    command: 'show',
    exit_code: EXIT.NO_VALID_RESPONSE,
    outcome: 'no_valid_response',
    checked_at,
    file,
    response: null,
    validation: null,
    error,
  });
  if (size > MAX_STORED_RESPONSE_BYTES) return bad(tooLarge(size));
  let parsed: ParsedOcspResponse;
  try {
    parsed = parseOcspResponse(der);
  } catch (e) {
    return bad(errorInfo(e));
  }
  const response = describeParsed(parsed);
  if (!cert) return { command: 'show', exit_code: EXIT.GOOD, outcome: 'decoded', checked_at, file, response, validation: null, error: null };
  const validation = validate(parsed, cert, basename(path), now());
  const outcome: OcspCliOutcome = validation.valid ? validation.status! : 'no_valid_response';
  return { command: 'show', exit_code: EXIT_OF[outcome], outcome, checked_at, file, response, validation, error: validation.error };
}

function resolveStoreDir(dir: string): string {
  return basename(dir.replace(/\/+$/, '')) === 'ocsp' ? dir : join(dir, 'ocsp');
}

export async function showStore(storeDir: string, certPaths: readonly string[], caPaths: readonly string[], now: () => number): Promise<ShowStoreReport> {
  const directory = resolveStoreDir(storeDir);
  const ca = await loadCa(caPaths);
  const certs: LoadedCert[] = [];
  for (const c of certPaths) certs.push(await loadCertForValidation(c, ca, now()));
  let names: string[];
  try {
    const st = await stat(directory);
    if (!st.isDirectory()) throw new Error('not a directory');
    names = (await readdir(directory)).sort();
  } catch (e) {
    throw new CliError('ERR_CLI_READ', `no OCSP cache directory at '${directory}': ${(e as Error).message}`);
  }
  const files: StoreFileEntry[] = [];
  const ignored: string[] = [];
  for (const name of names) {
    if (!/^[0-9a-f]{64}$/.test(name)) {
      ignored.push(name);
      continue;
    }
    const path = join(directory, name);
    const cert = certs.find((c) => c.leaf.sha256 === name);
    const entry: StoreFileEntry = {
      name,
      path,
      size: 0,
      modified: null,
      certificate: cert?.file ?? null,
      decoded: false,
      status: null,
      responder_id: null,
      produced_at: null,
      this_update: null,
      next_update: null,
      dates_current: null,
      validation: null,
      error: null,
    };
    files.push(entry);
    let der: Buffer;
    try {
      const r = await readStaple(path);
      entry.size = r.size;
      entry.modified = r.modified;
      if (r.size > MAX_STORED_RESPONSE_BYTES) {
        entry.error = tooLarge(r.size);
        continue;
      }
      der = r.der;
    } catch (e) {
      entry.error = errorInfo(e);
      continue;
    }
    let parsed: ParsedOcspResponse;
    try {
      parsed = parseOcspResponse(der);
    } catch (e) {
      entry.error = errorInfo(e);
      continue;
    }
    entry.decoded = true;
    entry.responder_id = describeResponderId(parsed);
    entry.produced_at = iso(parsed.producedAt);
    const s = parsed.responses.length === 1 ? parsed.responses[0]! : undefined;
    if (s) {
      entry.status = s.status;
      entry.this_update = iso(s.thisUpdate);
      entry.next_update = iso(s.nextUpdate);
      const t = now();
      const end = s.nextUpdate ?? s.thisUpdate + DEFAULT_MAX_AGE_WITHOUT_NEXT_UPDATE_MS;
      entry.dates_current = s.thisUpdate <= t + DEFAULT_CLOCK_SKEW_MS && t < end;
    }
    if (cert) {
      entry.validation = validate(parsed, cert, name, now());
      if (entry.validation.error) entry.error = entry.validation.error;
    }
  }
  const missing = certs.filter((c) => !files.some((f) => f.name === c.leaf.sha256)).map((c) => ({ file: c.file, sha256: c.leaf.sha256 }));
  return { command: 'show', exit_code: EXIT.GOOD, outcome: 'listed', checked_at: iso(now())!, store_dir: storeDir, directory, files, ignored, missing, error: null };
}
