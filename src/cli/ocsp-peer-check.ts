// `tsnats ocsp check --peer`: would tsnats (`ocsp_peer`) admit a peer presenting this certificate?
// Runs the server's own peer check (src/ocsp/peer.ts) once, without a cache, on the chain the
// certificate file and the CA files give (leaf, the intermediates in the file, then the CA files up
// to a self-issued root), and exits with `tsnats ocsp check`'s statuses (docs/cli-ocsp.md).

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseCaBundle, parseCertificateChain, isIssuedBy, type CertificateInfo } from '../ocsp/certificate.js';
import { OcspPeerChecker, PeerResponseCache, httpUrls, type PeerPolicy } from '../ocsp/peer.js';
import { CliError, EXIT } from './ocsp.js';

export const PEER_USAGE = `Usage:
  tsnats ocsp check --peer --cert <file> --ca <file>... [--timeout <dur>] [--clock-skew <dur>]
                    [--ttl-unset-next-update <dur>] [--warn-only] [--unknown-is-good]
                    [--allow-when-ca-unreachable] [--json]

Checks a client certificate exactly as a tsnats server with \`ocsp_peer\` does (every certificate of
the chain that names an OCSP responder, against its issuer) and says whether it would be admitted.
--cert holds the leaf (and the intermediates the client sends); --ca the trusted CA file(s).
Options mirror ocsp_peer: ca_timeout (default 2s), allowed_clockskew (30s),
cache_ttl_when_next_update_unset (1h), warn_only, unknown_is_good, allow_when_ca_unreachable.

Exit status: 0 admitted; 1 usage or input error; 2 refused: revoked; 3 refused: unknown;
4 refused: no valid response (responder down, invalid answer); 5 admitted, nothing to check
(no certificate of the chain names an OCSP responder).
`;

function seconds(v: string | undefined, name: string, def: number): number {
  if (v === undefined) return def;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new CliError('ERR_CLI_USAGE', `bad --${name} ${JSON.stringify(v)} (e.g. 2s, 500ms, 1.5)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's']!;
  return Number(m[1]) * unit;
}

async function read(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new CliError('ERR_CLI_READ', `cannot read ${what} '${path}': ${(e as Error).message}`);
  }
}

/** Leaf, the file's intermediates, then CA certificates, each the issuer of the previous. */
export function buildChain(certs: CertificateInfo[], ca: CertificateInfo[]): CertificateInfo[] {
  const pool = [...certs.slice(1), ...ca];
  const chain = [certs[0]!];
  for (let c = certs[0]!; chain.length < 16; ) {
    if (isIssuedBy(c, c)) break;
    const next = pool.find((x) => x !== c && isIssuedBy(c, x));
    if (!next) throw new CliError('ERR_OCSP_NO_ISSUER', `no issuer found for '${c.subject}' in the certificate file or the CA files`);
    chain.push(next);
    c = next;
  }
  return chain;
}

export async function runPeerCheck(rest: string[], out: { write(chunk: string): unknown }, now: () => number): Promise<number> {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: rest,
      strict: true,
      options: {
        cert: { type: 'string' },
        ca: { type: 'string', multiple: true },
        timeout: { type: 'string' },
        'clock-skew': { type: 'string' },
        'ttl-unset-next-update': { type: 'string' },
        'warn-only': { type: 'boolean' },
        'unknown-is-good': { type: 'boolean' },
        'allow-when-ca-unreachable': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new CliError('ERR_CLI_USAGE', (e as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  if (values.help) {
    out.write(PEER_USAGE);
    return EXIT.GOOD;
  }
  if (typeof values.cert !== 'string') throw new CliError('ERR_CLI_USAGE', '--cert <file> is required');
  const caPaths = (values.ca as string[] | undefined) ?? [];
  if (caPaths.length === 0) throw new CliError('ERR_CLI_USAGE', '--ca <file> is required (the CA file the server verifies clients with)');
  const policy: PeerPolicy = {
    caTimeoutMs: seconds(values.timeout as string | undefined, 'timeout', 2000),
    clockSkewMs: seconds(values['clock-skew'] as string | undefined, 'clock-skew', 30_000),
    ttlWhenNextUpdateUnsetMs: seconds(values['ttl-unset-next-update'] as string | undefined, 'ttl-unset-next-update', 3_600_000),
    warnOnly: values['warn-only'] === true,
    unknownIsGood: values['unknown-is-good'] === true,
    allowWhenCaUnreachable: values['allow-when-ca-unreachable'] === true,
  };
  let certs: CertificateInfo[];
  let ca: CertificateInfo[];
  try {
    certs = parseCertificateChain(await read(values.cert, 'certificate file'));
    ca = parseCaBundle(await Promise.all(caPaths.map((p) => read(p, 'CA file'))));
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError((e as { code?: string }).code ?? 'ERR_OCSP_CERT_PARSE', (e as Error).message);
  }
  const chain = buildChain(certs, ca);
  const log: string[] = [];
  const logger = {
    debug: (m: string) => void log.push(`[DBG] ${m}`),
    warn: (m: string) => void log.push(`[WRN] ${m}`),
    error: (m: string) => void log.push(`[ERR] ${m}`),
  };
  const checker = new OcspPeerChecker({ cache: new PeerResponseCache({ type: 'none', preserveRevoked: false, saveIntervalMs: 300_000 }), logger, now });
  const v = await checker.check(chain.map((c) => c.der), policy, logger);
  const eligible = chain.slice(0, -1).filter((c) => httpUrls(c).length > 0).length;
  const bad = v.links.find((l) => !l.ok);
  let exit: number;
  let outcome: string;
  if (v.admitted) {
    exit = eligible === 0 && chain.length > 1 ? EXIT.NOT_APPLICABLE : EXIT.GOOD;
    outcome = exit === EXIT.GOOD ? (v.warnOnly ? 'admitted_warn_only' : 'admitted') : 'not_applicable';
  } else if (bad?.outcome === 'revoked') {
    exit = EXIT.REVOKED;
    outcome = 'revoked';
  } else if (bad?.outcome === 'unknown') {
    exit = EXIT.UNKNOWN;
    outcome = 'unknown';
  } else {
    exit = EXIT.NO_VALID_RESPONSE;
    outcome = 'no_valid_response';
  }
  const report = {
    command: 'check',
    peer: true,
    exit_code: exit,
    outcome,
    admitted: v.admitted,
    subject: v.peerSubject,
    chain: chain.map((c) => ({ subject: c.subject, serial: c.serialHex, ocsp_urls: c.ocspUrls })),
    links: v.links.map((l) => ({ subject: l.subject, outcome: l.outcome, ok: l.ok, ...(l.reason ? { reason: l.reason } : {}), ...(l.detail ? { detail: l.detail } : {}) })),
    ...(v.reason ? { reason: v.reason } : {}),
    policy: {
      ca_timeout: policy.caTimeoutMs / 1000,
      allowed_clockskew: policy.clockSkewMs / 1000,
      cache_ttl_when_next_update_unset: policy.ttlWhenNextUpdateUnsetMs / 1000,
      warn_only: policy.warnOnly,
      unknown_is_good: policy.unknownIsGood,
      allow_when_ca_unreachable: policy.allowWhenCaUnreachable,
    },
    log,
  };
  if (values.json) {
    out.write(JSON.stringify(report, null, 2) + '\n');
    return exit;
  }
  const lines = [`Peer certificate: ${v.peerSubject}`, `Chain: ${chain.map((c) => c.subject).join(' <- ')}`];
  for (const l of v.links) lines.push(`  [${l.subject}] ${l.outcome}${l.ok ? '' : ' (refuses)'}${l.reason ? `: ${l.reason}` : ''}${l.detail ? ` (${l.detail})` : ''}`);
  if (eligible === 0) lines.push('  no certificate of the chain names an OCSP responder: nothing to check');
  lines.push(
    v.admitted
      ? `Verdict: admitted${v.warnOnly ? ' (only because of warn_only)' : ''}`
      : `Verdict: refused (${v.reason ?? 'client not OCSP valid'}): tsnats logs "TLS handshake error: client not OCSP valid"`,
  );
  out.write(lines.join('\n') + '\n');
  return exit;
}
