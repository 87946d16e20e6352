// The staplers currently in service, shared between the stapling integration (which fills it on
// start and reload) and the monitoring/metrics code (which reads it). One entry per certificate
// and listener; replaced as a whole so readers never see half a reload.

import type { Stapler } from '../ocsp/index.js';

/** Where a stapled certificate is served. */
export type OcspListenerKind = 'client' | 'https';

export interface StaplerEntry {
  listener: OcspListenerKind;
  stapler: Stapler;
}

export class OcspRegistry {
  private entries: readonly StaplerEntry[] = [];

  /** Replaces the whole set (start-up, reload). */
  set(entries: readonly StaplerEntry[]): void {
    this.entries = Object.freeze([...entries]);
  }

  list(): readonly StaplerEntry[] {
    return this.entries;
  }
}
