// A `.creds` file (nsc's format: the user JWT and the user's nkey seed, each between `-----...-----`
// lines), as nats-server reads it for a leaf node remote's `credentials`: the CONNECT carries the
// JWT and the signature of the hub's nonce made with the seed.

import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decodeSeed, PREFIX_USER } from '../nkey.js';

/** nats-server's credsRe: the blocks between decoration lines. */
const CREDS_RE = /\s*(?:(?:-{3,}.*-{3,}\r?\n)([\w\-.=]+)(?:\r?\n-{3,}.*-{3,}(\r?\n|$)))/g;

export interface Creds {
  jwt: string;
  key: KeyObject;
}

/** Parses a creds file's text; throws nats-server's texts (`Credentials file malformed`, `... malformed seed`). */
export function parseCreds(text: string): Creds {
  const items = [...text.matchAll(CREDS_RE)].map((m) => m[1]!);
  if (items.length < 2) throw new Error('Credentials file malformed');
  const seed = decodeSeed(items[1]!);
  if (!seed || seed.prefix !== PREFIX_USER) throw new Error('Credentials file has malformed seed');
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seed.seed)]);
  return { jwt: items[0]!, key: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) };
}

/** The CONNECT `jwt` and `sig` for a nonce, read from the creds file now (as nats-server, on every connect). */
export function credsConnectFields(file: string, nonce: string): { jwt: string; sig: string } {
  const c = parseCreds(readFileSync(file, 'utf8'));
  return { jwt: c.jwt, sig: sign(null, Buffer.from(nonce, 'latin1'), c.key).toString('base64url') };
}
