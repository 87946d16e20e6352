// Activation tokens of imports in operator mode (nats-server 2.9.10's checkActivation): the
// exporting account's claims come from the JWT strategy's registered accounts. Loaded with the
// imports/exports wiring only in operator mode (server.applyAccountLinks).

import type { OperatorOptions } from '../../config/operator.js';
import { checkActivation } from './claims.js';
import { jwtAuthenticatorFor } from './strategy.js';

/** Whether `token` lets `importer` import `imp` from `exporter`: when it expires (0 = never), or undefined when not. */
export type ActivationCheck = (token: string, exporter: string, importer: string, imp: { kind: 'stream' | 'service'; subject: string }) => { expiresAt: number } | undefined;

export function activationChecker(op: OperatorOptions, systemAccount: string | undefined): ActivationCheck {
  const strategy = jwtAuthenticatorFor(op, systemAccount);
  return (token, exporter, importer, imp) => {
    const claims = strategy.registered.get(exporter)?.claims;
    return claims ? checkActivation(token, claims, importer, imp) : undefined;
  };
}
