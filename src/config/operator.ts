// Operator mode configuration (`operator`, `resolver`, `resolver_preload`, `trusted_keys`): the
// types only for now; parsing lands with JWT support (issue 14, docs/accounts.md).

export interface OperatorOptions {
  /** The operator JWTs (`operator: <jwt or file>` or a list), as read (decoded by src/server/jwt/). */
  operatorJwts: string[];
  /** `trusted_keys` / `trusted`: operator public keys trusted without a JWT. */
  trustedKeys: string[];
  /** `resolver`: MEMORY, URL(<url>), or a full/cache directory resolver. */
  resolver?: { kind: 'memory' } | { kind: 'url'; url: string } | { kind: 'dir'; dir: string; type: 'full' | 'cache'; allowDelete?: boolean; intervalMs?: number; limit?: number };
  /** `resolver_preload { <account public key>: <account jwt> }`. */
  resolverPreload: Record<string, string>;
}
