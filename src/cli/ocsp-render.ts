// Text rendering of the `tsnats ocsp` reports (the --json output is the report objects themselves).

import { formatDuration } from '../ocsp/index.js';
import type { CertificateDescription, ResponseDescription } from './ocsp-describe.js';
import type {
  CheckAttemptReport,
  CheckReport,
  IssuerSource,
  OcspCliOutcome,
  ShowFileReport,
  ShowStoreReport,
  ValidationReport,
} from './ocsp.js';

export const ISSUER_SOURCE_TEXT: Record<IssuerSource, string> = {
  cert_file: 'the second certificate in the certificate file',
  ca_file: 'the --ca bundle',
  system_roots: "Node's bundled root certificates (no --ca given)",
};


export function fmtDur(ms: number): string {
  if (ms <= 0) return '0s';
  return formatDuration(ms >= 1000 ? Math.round(ms / 1000) * 1000 : ms);
}

/** Continuation lines of a multi-line value line up under the value column. */
function ml(s: string, indent = 18): string {
  return s.replace(/\n/g, '\n' + ' '.repeat(indent));
}

function yesNo(b: boolean): string {
  return b ? 'yes' : 'no';
}

class Lines {
  private readonly buf: string[] = [];
  line(s = ''): this {
    this.buf.push(s);
    return this;
  }
  kv(k: string, v: string | number | null | undefined, indent = 2, width = 16): this {
    if (v === null || v === undefined || v === '') return this;
    this.buf.push(`${' '.repeat(indent)}${k.padEnd(width)}${v}`);
    return this;
  }
  toString(): string {
    return this.buf.join('\n') + '\n';
  }
}

function when(isoTime: string | null, now: number): string | null {
  if (!isoTime) return null;
  const t = Date.parse(isoTime);
  const d = t - now;
  return `${isoTime} (${d >= 0 ? `in ${fmtDur(d)}` : `${fmtDur(-d)} ago`})`;
}

function certLines(l: Lines, c: CertificateDescription, now: number): void {
  l.kv('subject', c.subject);
  l.kv('issuer', c.issuer);
  l.kv('serial', c.serial);
  l.kv('sha256', c.sha256);
  l.kv('not before', c.not_before);
  l.kv('not after', when(c.not_after, now));
}

const OUTCOME_TEXT: Record<OcspCliOutcome, string> = {
  good: 'good',
  revoked: 'REVOKED',
  unknown: 'UNKNOWN',
  no_valid_response: 'NO VALID RESPONSE',
  not_applicable: 'not applicable',
  input_error: 'input error',
  decoded: 'decoded (not validated)',
  listed: 'listed',
};

function attemptLine(a: CheckAttemptReport, i: number): string {
  const http = a.http_status !== null ? `HTTP ${a.http_status}` : 'no HTTP response';
  const result = a.accepted ? 'valid response' : a.error ? `${a.error.code}: ${a.error.message.replace(/\n/g, ' | ')}` : 'ok';
  return `  ${i + 1}. ${a.method.padEnd(4)} ${a.url}  ${http}  ${a.duration_ms.toFixed(1)}ms${a.probe ? '  (probe)' : ''}  ${result}`;
}

export function renderCheck(r: CheckReport): string {
  const now = Date.parse(r.checked_at);
  const l = new Lines();
  l.line(`Certificate     ${r.certificate.file}`);
  certLines(l, r.certificate, now);
  l.kv('must-staple', yesNo(r.certificate.must_staple));
  l.kv('aia ocsp urls', r.certificate.ocsp_urls.length > 0 ? r.certificate.ocsp_urls.join(', ') : '(none)');
  l.line();
  if (r.issuer) {
    l.line(`Issuer          ${r.issuer.subject}`);
    l.kv('found in', ISSUER_SOURCE_TEXT[r.issuer.source]);
    l.kv('serial', r.issuer.serial);
    l.kv('sha256', r.issuer.sha256);
    l.kv('not after', when(r.issuer.not_after, now));
  } else {
    l.line(`Issuer          (not found)`);
  }
  l.line();
  const srcText = r.responders.source === 'override' ? ' (from --url)' : r.responders.source === 'aia' ? ' (from the certificate AIA)' : '';
  l.line(`Responders      ${r.responders.urls.length > 0 ? r.responders.urls.join(', ') + srcText : '(none)'}`);
  if (r.attempts.length > 0) {
    l.line('Attempts');
    r.attempts.forEach((a, i) => {
      l.line(attemptLine(a, i));
      if (!a.accepted && a.response) {
        l.line(
          `       the response said ${a.response.status ?? '?'}, signed by ${a.response.responder_id.type === 'by_name' ? a.response.responder_id.value : `key ${a.response.responder_id.value}`}`,
        );
      }
    });
  }
  l.line();
  if (r.response) {
    const p = r.response;
    l.line(`Response        ${p.status.toUpperCase()} (valid; from ${p.method} ${p.url})`);
    if (p.status === 'revoked') {
      l.kv('revoked at', p.revocation_time);
      l.kv('reason', p.revocation_reason ?? '(none given)');
    }
    l.kv('this update', when(p.this_update, now));
    l.kv('next update', p.next_update ? when(p.next_update, now) : '(none: usable for 1h after this update)');
    l.kv('produced at', p.produced_at);
    l.kv('usable until', when(p.expires_at, now));
    const eku = p.signer.eku ? p.signer.eku.join(', ') : 'none';
    l.kv(
      'signer',
      p.signer.type === 'issuer' ? `the issuer (${p.signer.subject})` : `delegated responder ${p.signer.subject} (EKU ${eku}, valid until ${p.signer.not_after})`,
    );
    l.kv('certid hash', p.cert_id_hash);
  } else if (r.error) {
    l.line(`Response        none valid`);
    l.kv('error', ml(`${r.error.code}: ${r.error.message}`));
  } else {
    l.line(`Response        (not fetched)`);
  }
  l.line();
  const d = r.decision;
  l.line(`Decision        mode ${d.mode}, must-staple ${yesNo(d.must_staple)}: ${d.stapled ? 'tsnats staples this certificate' : 'tsnats does not staple this certificate'}`);
  l.kv('would staple', yesNo(d.would_staple));
  l.kv('would start', d.would_start ? 'yes' : ml(`no: ${d.startup_error}`));
  l.kv('would shut down', d.would_shut_down ? 'yes (on receiving this status while running)' : 'no');
  l.line(`  ${d.summary}`);
  for (const w of r.warnings) l.line(`Warning: ${w}`);
  l.line();
  l.line(`Result: ${OUTCOME_TEXT[r.outcome]} (exit ${r.exit_code})`);
  return l.toString();
}

function responseLines(l: Lines, p: ResponseDescription): void {
  l.kv('responder id', p.responder_id.type === 'by_name' ? `by name: ${p.responder_id.value}` : `by key: ${p.responder_id.value}`);
  l.kv('produced at', p.produced_at);
  l.kv('signature', p.signature_algorithm);
  if (p.critical_extensions.length > 0) l.kv('critical ext', p.critical_extensions.join(', '));
  p.responses.forEach((s, i) => {
    l.line(`  response #${i + 1}`);
    l.kv('certid hash', s.cert_id.hash_algorithm, 4);
    l.kv('issuer name', s.cert_id.issuer_name_hash, 4);
    l.kv('issuer key', s.cert_id.issuer_key_hash, 4);
    l.kv('serial', s.cert_id.serial, 4);
    l.kv('status', s.status, 4);
    l.kv('revoked at', s.revocation_time, 4);
    l.kv('reason', s.revocation_reason, 4);
    l.kv('this update', s.this_update, 4);
    l.kv('next update', s.next_update ?? '(none)', 4);
    if (s.critical_extensions.length > 0) l.kv('critical ext', s.critical_extensions.join(', '), 4);
  });
  if (p.certificates.length === 0) l.kv('certificates', '(none embedded)');
  p.certificates.forEach((c, i) => {
    l.line(`  certificate #${i + 1}`);
    if (c.error) {
      l.kv('error', c.error, 4);
      return;
    }
    l.kv('subject', c.subject, 4);
    l.kv('issuer', c.issuer, 4);
    l.kv('serial', c.serial, 4);
    l.kv('valid', `${c.not_before} to ${c.not_after}`, 4);
    l.kv('eku', c.eku ? c.eku.join(', ') : '(none)', 4);
    l.kv('sha256', c.sha256, 4);
  });
}

function validationLines(l: Lines, v: ValidationReport, now: number): void {
  l.line(`Validation      for ${v.certificate.file} (${v.certificate.subject})`);
  if (v.valid) {
    l.kv('result', `valid, status ${v.status}`);
    l.kv('usable until', when(v.expires_at, now));
    l.kv('signer', v.signer!.type === 'issuer' ? `the issuer (${v.signer!.subject})` : `delegated responder ${v.signer!.subject}`);
  } else {
    l.kv('result', `INVALID: ${v.error!.code}: ${v.error!.message}`);
  }
  if (v.file_name_matches === false) l.kv('file name', `does not match the certificate (tsnats looks for ${v.certificate.sha256})`);
  l.kv('tsnats', v.tsnats_would_load ? 'would load this staple at start-up instead of fetching' : 'would ignore this file and fetch a new response');
}

export function renderShowFile(r: ShowFileReport): string {
  const now = Date.parse(r.checked_at);
  const l = new Lines();
  l.line(`File            ${r.file.path} (${r.file.size} bytes, modified ${r.file.modified})`);
  if (r.response) {
    l.line(`Response        successful, basic, ${r.response.size} bytes`);
    responseLines(l, r.response);
  } else if (r.error) {
    l.line(`Response        cannot be decoded`);
    l.kv('error', ml(`${r.error.code}: ${r.error.message}`));
  }
  if (r.validation) {
    l.line();
    validationLines(l, r.validation, now);
  }
  l.line();
  l.line(`Result: ${OUTCOME_TEXT[r.outcome]} (exit ${r.exit_code})`);
  return l.toString();
}

export function renderStore(r: ShowStoreReport): string {
  const now = Date.parse(r.checked_at);
  const l = new Lines();
  l.line(`OCSP cache      ${r.directory} (${r.files.length} file${r.files.length === 1 ? '' : 's'})`);
  for (const f of r.files) {
    l.line();
    l.line(`${f.name}${f.certificate ? `  (${f.certificate})` : ''}`);
    l.kv('size', `${f.size} bytes, modified ${f.modified}`);
    if (!f.decoded) {
      l.kv('error', f.error ? `${f.error.code}: ${f.error.message}` : 'cannot be decoded');
      continue;
    }
    l.kv('status', `${f.status ?? '(several responses)'} (as stated; ${f.validation ? 'validated with --cert' : 'signature not checked without --cert'})`);
    l.kv('responder id', f.responder_id ? `${f.responder_id.type === 'by_name' ? 'by name' : 'by key'}: ${f.responder_id.value}` : null);
    l.kv('produced at', f.produced_at);
    l.kv('this update', f.this_update);
    l.kv('next update', f.next_update ? when(f.next_update, now) : '(none)');
    if (f.dates_current !== null) l.kv('dates', f.dates_current ? 'current' : 'NOT current (expired or not yet valid)');
    if (f.validation) {
      const v = f.validation;
      l.kv('validation', v.valid ? `valid, status ${v.status}, usable until ${when(v.expires_at, now)}` : `INVALID: ${v.error!.code}: ${v.error!.message}`);
    }
  }
  if (r.ignored.length > 0) {
    l.line();
    l.line(`Ignored         ${r.ignored.join(', ')} (not cache files)`);
  }
  for (const m of r.missing) l.line(`No cached staple for ${m.file} (${m.sha256})`);
  l.line();
  l.line(`Result: ${OUTCOME_TEXT[r.outcome]} (exit ${r.exit_code})`);
  return l.toString();
}

