// The staplers currently in service, shared between the stapling integration (which fills it on
// start and reload) and the monitoring/metrics code (which reads it). One entry per certificate
// and listener; replaced as a whole so readers never see half a reload.

import type { Stapler } from '../ocsp/index.js';

/** Where a stapled certificate is served. */
export type OcspListenerKind = 'client' | 'https' | 'cluster';

export interface StaplerEntry {
  listener: OcspListenerKind;
  stapler: Stapler;
}

export class OcspRegistry {
  private entries: readonly StaplerEntry[] = [];
  /** Staplers of other listeners (e.g. the cluster port), by source name. */
  private readonly sources = new Map<string, readonly StaplerEntry[]>();
  private all: readonly StaplerEntry[] = [];

  /** Replaces the whole set (start-up, reload). */
  set(entries: readonly StaplerEntry[]): void {
    this.entries = Object.freeze([...entries]);
    this.rebuild();
  }

  /** Replaces the entries of one other source (`cluster`); an empty list removes it. */
  setSource(name: string, entries: readonly StaplerEntry[]): void {
    if (entries.length === 0) this.sources.delete(name);
    else this.sources.set(name, Object.freeze([...entries]));
    this.rebuild();
  }

  list(): readonly StaplerEntry[] {
    return this.all;
  }

  private rebuild(): void {
    this.all = Object.freeze([...this.entries, ...[...this.sources.values()].flat()]);
  }
}
