// The staplers currently in service, shared between the stapling integration (which fills it on
// start and reload) and the monitoring/metrics code (which reads it). One entry per certificate
// and listener; replaced as a whole so readers never see half a reload.

import type { Stapler } from '../ocsp/index.js';

/** Where a stapled certificate is served. */
export type OcspListenerKind = 'client' | 'https' | 'websocket' | 'cluster' | 'leafnode';

export interface StaplerEntry {
  listener: OcspListenerKind;
  stapler: Stapler;
}

export class OcspRegistry {
  private entries: readonly StaplerEntry[] = [];
  /** One set per owner (the main stapling hook, the websocket listener's, the cluster port's). */
  private readonly groups = new Map<string, readonly StaplerEntry[]>();

  /** Replaces the whole set of one owner (start-up, reload). */
  set(entries: readonly StaplerEntry[], group = 'tls'): void {
    if (entries.length === 0) this.groups.delete(group);
    else this.groups.set(group, [...entries]);
    this.entries = Object.freeze([...this.groups.values()].flat());
  }

  list(): readonly StaplerEntry[] {
    return this.entries;
  }
}
