// Accounts: the unit of isolation. Every connection is bound to exactly one account; each account
// has its own subject index, so a subscription in one account never sees a message published in
// another (imports and exports are the only bridges, see imports.ts). nats-server 2.9.10's
// server/accounts.go is the ground truth for the behaviour; docs/accounts.md describes it.

import type { AccountConfig, AccountJetStreamOptions } from '../../config/types.js';
import { SubjectIndex, type Subscribable } from '../subjects.js';
import type { SubjectMappings } from '../../protocol/subject-transform.js';

export { DEFAULT_SYSTEM_ACCOUNT, GLOBAL_ACCOUNT } from '../../config/accounts.js';

/** Limits of an account; -1 = unlimited. */
export interface AccountLimitValues {
  maxConnections: number;
  maxLeafnodes: number;
  maxSubscriptions: number;
  maxPayload: number;
}

const UNLIMITED: AccountLimitValues = { maxConnections: -1, maxLeafnodes: -1, maxSubscriptions: -1, maxPayload: -1 };

export class Account<S extends Subscribable = Subscribable> {
  readonly name: string;
  readonly index: SubjectIndex<S>;
  /** The configuration entry (absent for `$G` and the default `$SYS`). */
  config!: AccountConfig | undefined;
  limits!: AccountLimitValues;
  jetstream!: AccountJetStreamOptions | undefined;
  /** Local client connections bound to this account (not leafs, not internal clients). */
  numClients = 0;
  numLeafs = 0;
  // Message counters (what /accstatz and the STATSZ events report).
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  /** Slow consumers among the account's connections (nats-server's acc.slowConsumers). */
  slowConsumers = 0;
  /** Operator mode: the account's public key and its JWT claims' issuer (src/server/jwt/). */
  publicKey!: string | undefined;
  /** When the account was (re)configured (accountz `updated`). */
  updated = new Date();
  /** Registered at run time (operator mode), not from the configuration: a reload keeps it. */
  dynamic = false;
  /** Set when an account is removed by a reload: connections still holding it are closed. */
  removed = false;
  /** `mappings {}`: applied to every inbound publish (set by imports.ts; null = none). */
  mappings: SubjectMappings | null = null;

  constructor(name: string, config?: AccountConfig) {
    this.name = name;
    this.index = new SubjectIndex<S>();
    this.reconfigure(config);
  }

  /** Applies a new configuration entry (reload, or a JWT update) keeping subscriptions. */
  reconfigure(config: AccountConfig | undefined): void {
    this.config = config;
    this.limits = { ...UNLIMITED, ...definedOnly(config?.limits) };
    this.jetstream = config?.jetstream;
    this.publicKey = config?.nkey;
    this.updated = new Date();
  }

  /** Whether one more client connection may bind to this account. */
  connectionAllowed(): boolean {
    const max = this.limits.maxConnections;
    return max < 0 || this.numClients < max;
  }
}

function definedOnly(l: AccountConfig['limits']): Partial<AccountLimitValues> {
  const out: Partial<AccountLimitValues> = {};
  if (!l) return out;
  for (const [k, v] of Object.entries(l)) if (typeof v === 'number') out[k as keyof AccountLimitValues] = v;
  return out;
}
