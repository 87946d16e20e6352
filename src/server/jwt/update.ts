// Account JWT updates (nats-server 2.9.10 updateAccountClaimsWithRefresh, and reloadAuthorization
// with a MEMORY resolver): the account's configuration is replaced (subscriptions stay), then its
// JWT users are re-checked in order — beyond the account's connection limit:
// ERR_MAX_ACCOUNT_CONNECTIONS; a bearer user when bearer tokens are now disallowed:
// ERR_AUTH_VIOLATION; a revoked user: ERR_USER_AUTH_REVOKED.
// On reload with a MEMORY resolver every registered account is fetched again from the new
// preloads; one that is gone is forgotten (`Reloaded: deleting account [removed]: "A..."`).

import type { OperatorOptions } from '../../config/operator.js';
import { ERR_AUTH_VIOLATION, ERR_MAX_ACCOUNT_CONNECTIONS, ERR_USER_AUTH_REVOKED } from '../../protocol/errors.js';
import { ClosedReason, type Client } from '../client.js';
import type { Server } from '../server.js';
import { decodeAccountClaims, isRevoked, NO_LIMIT, validateAccount, type AccountClaims } from './claims.js';
import { jwtAuthenticatorFor } from './strategy.js';

/** Applies new claims of a registered account to it and to its connected JWT users. */
export function applyAccountClaims(server: Server, claims: AccountClaims): void {
  const acc = server.accounts.get(claims.subject);
  if (!acc) return;
  acc.reconfigure(claims.config);
  const users: Client[] = [];
  for (const c of server.clients.values()) if (c.account === acc && c.session) users.push(c);
  users.sort((a, b) => a.cid - b.cid);
  users.forEach((c, i) => {
    const s = c.session!;
    if (claims.conn !== NO_LIMIT && i >= claims.conn) {
      c.sendErr(ERR_MAX_ACCOUNT_CONNECTIONS);
      c.close(ClosedReason.MaxAccountConnectionsExceeded);
    } else if (s.bearer && claims.disallowBearer) {
      c.sendErr(ERR_AUTH_VIOLATION);
      c.close(ClosedReason.AuthenticationViolation);
    } else if (isRevoked(claims.revocations, s.pubKey, s.issuedAt)) {
      c.sendErr(ERR_USER_AUTH_REVOKED);
      c.close(ClosedReason.Revocation);
    }
  });
}

/** After a reload in operator mode with a MEMORY resolver: every registered account re-read from the preloads. */
export function reloadMemoryAccounts(server: Server, op: OperatorOptions, systemAccount: string | undefined): void {
  if (op.resolver?.kind !== 'memory') return;
  const strategy = jwtAuthenticatorFor(op, systemAccount);
  for (const acc of [...server.accounts.all()]) {
    if (!acc.dynamic) continue;
    const jwt = op.resolverPreload[acc.name];
    let claims: AccountClaims | undefined;
    try {
      claims = jwt !== undefined ? decodeAccountClaims(jwt) : undefined;
    } catch {
      claims = undefined;
    }
    if (!claims) {
      server.logger.notice(`Reloaded: deleting account [removed]: ${JSON.stringify(acc.name)}`);
      strategy.forgetAccount(acc.name);
      continue;
    }
    if (!strategy.trusted.has(claims.issuer) || validateAccount(claims)) {
      server.logger.notice(`Reloaded: deleting account [bad claims]: ${JSON.stringify(acc.name)}`);
      strategy.forgetAccount(acc.name);
      continue;
    }
    strategy.updateAccount(claims);
    applyAccountClaims(server, claims);
  }
}
