// Operator mode at server start (nats-server 2.9.10 NewServer/Start): the URL resolver's basic
// "anyone home" fetch of its base URL (a failure stops the start, as nats-server), the
// `Trusted Operators` log lines, and the validation warnings of preloaded account JWTs.

import { decodeJwt, type OperatorOptions } from '../../config/operator.js';
import type { AccountConfig } from '../../config/types.js';
import type { Logger } from '../logger.js';
import { jwtAuthenticatorFor } from './strategy.js';
import { UrlResolver } from './resolver.js';

/** Go's time.Unix(t, 0) printed with %v: `2006-01-02 15:04:05 -0700 MST` in local time. */
function goTime(sec: number): string {
  const d = new Date(sec * 1000);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  const zone = off === 0 ? 'UTC' : (new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((x) => x.type === 'timeZoneName')?.value ?? '');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${sign}${p(Math.floor(abs / 60))}${p(abs % 60)} ${zone}`;
}

/**
 * `register` adds an account (from its JWT's configuration) to the server's registry and returns
 * it (the system account when it is the one named).
 */
export async function startOperatorMode(
  op: OperatorOptions,
  systemAccount: string | undefined,
  log: Logger,
  register: (config: AccountConfig) => void,
): Promise<void> {
  const strategy = jwtAuthenticatorFor(op, systemAccount);
  if (strategy.resolver instanceof UrlResolver) await strategy.resolver.fetch('');
  // The system account named by the operator JWT or the configuration: resolved now. nats-server
  // stops when a MEMORY resolver does not have it, and uses an empty placeholder for the others.
  if (systemAccount && systemAccount !== '$SYS' && op.operatorJwts.length === 1) {
    try {
      register((await strategy.lookupAccount(systemAccount)).claims.config);
    } catch (e) {
      if (strategy.resolver?.kind === 'memory') throw new Error(`error resolving system account: ${(e as Error).message}`);
      register({ name: systemAccount, nkey: systemAccount, users: [], exports: [], imports: [] });
    }
  }
  if (op.operatorJwts.length > 0) log.notice('Trusted Operators');
  for (const j of op.operatorJwts) {
    const c = decodeJwt(j, 'operator');
    log.notice(`  System  : ${JSON.stringify(c.aud)}`);
    log.notice(`  Operator: ${JSON.stringify(c.name)}`);
    log.notice(`  Issued  : ${goTime(c.iat)}`);
    log.notice(`  Expires : ${c.exp === 0 ? 'Never' : goTime(c.exp)}`);
  }
  if (op.operatorJwts.length > 0 && (systemAccount === undefined || systemAccount === '')) log.warn('Trusted Operators should utilize a System Account');
  if (op.operatorJwts.length > 0) {
    for (const w of strategy.preloadWarnings()) (w.startsWith('Preloaded') ? log.error.bind(log) : log.warn.bind(log))(w);
  }
}
