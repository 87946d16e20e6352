// The accounts a server knows: `$G` (always), the configured ones, and the system account
// (`system_account`, else `$SYS` created automatically unless `no_system_account`, as nats-server
// 2.9.10 does). Interest changes in any account's index go to one observer (routes, leafs).

import type { ServerOptions } from '../../config/types.js';
import type { Subscribable } from '../subjects.js';
import { Account, DEFAULT_SYSTEM_ACCOUNT, GLOBAL_ACCOUNT } from './account.js';

export type InterestObserver<S extends Subscribable> = (acc: Account<S>, sub: S, added: boolean) => void;

export class Accounts<S extends Subscribable> {
  readonly global: Account<S>;
  system: Account<S> | undefined;
  private readonly byName = new Map<string, Account<S>>();
  private readonly observers: InterestObserver<S>[] = [];

  constructor(opts: ServerOptions) {
    this.global = this.add(new Account<S>(GLOBAL_ACCOUNT));
    this.configure(opts);
  }

  /** (Re)builds the configured accounts; existing accounts keep their subscriptions. Returns the removed ones. */
  configure(opts: ServerOptions): Account<S>[] {
    const wanted = new Set<string>([GLOBAL_ACCOUNT]);
    for (const c of opts.accounts ?? []) {
      wanted.add(c.name);
      const a = this.byName.get(c.name);
      if (a) a.reconfigure(c);
      else this.add(new Account<S>(c.name, c));
    }
    let sys: Account<S> | undefined;
    if (!opts.noSystemAccount) {
      const name = opts.systemAccount !== undefined && opts.systemAccount !== '' ? opts.systemAccount : DEFAULT_SYSTEM_ACCOUNT;
      sys = this.byName.get(name) ?? (name === DEFAULT_SYSTEM_ACCOUNT ? this.add(new Account<S>(name)) : undefined);
      if (sys) wanted.add(sys.name);
    }
    this.system = sys;
    const removed: Account<S>[] = [];
    for (const [name, a] of this.byName) {
      if (!wanted.has(name) && !a.dynamic) {
        a.removed = true;
        this.byName.delete(name);
        removed.push(a);
      }
    }
    return removed;
  }

  /** Registers an account (operator mode adds accounts as their JWTs are resolved). */
  add(a: Account<S>): Account<S> {
    this.byName.set(a.name, a);
    const idx = a.index;
    idx.observer = this.observers.length === 0 ? null : (sub, added) => this.notify(a, sub, added);
    return a;
  }

  get(name: string): Account<S> | undefined {
    return this.byName.get(name);
  }

  all(): IterableIterator<Account<S>> {
    return this.byName.values();
  }

  get size(): number {
    return this.byName.size;
  }

  /** Told about every insert/remove in every account's index (routes, leaf nodes). */
  observe(o: InterestObserver<S>): () => void {
    this.observers.push(o);
    for (const a of this.byName.values()) a.index.observer = (sub, added) => this.notify(a, sub, added);
    return () => {
      const i = this.observers.indexOf(o);
      if (i >= 0) this.observers.splice(i, 1);
      if (this.observers.length === 0) for (const a of this.byName.values()) a.index.observer = null;
    };
  }

  private notify(a: Account<S>, sub: S, added: boolean): void {
    for (const o of this.observers) o(a, sub, added);
  }
}
