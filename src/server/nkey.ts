// NKey users (nats-server 2.9.10 `server/nkey.go`, the nkey branch of `auth.go`):
//
//   - the nonce: 11 random bytes, base64url without padding (15 characters), a new one in every
//     client's INFO when nkey users are configured;
//   - public user keys: base32 (RFC 4648 alphabet, no padding) of prefix byte `U` (20 << 3) + the
//     32-byte Ed25519 key + CRC-16 (XMODEM, little endian), checked as Go's `nkeys.Decode` does
//     (alphabet, CRC, exact prefix byte);
//   - the CONNECT `sig`: base64url without padding, else standard base64 with padding (Go's
//     `RawURLEncoding` then `StdEncoding`, both strict about their alphabet), an Ed25519 signature
//     of the nonce's bytes.
//
// Verification uses node:crypto's native Ed25519 (about 100x faster than tweetnacl, which
// @nats-io/nkeys uses), on libuv's thread pool so the event loop keeps serving other connections
// meanwhile: one KeyObject per configured key, built once.

import { createPublicKey, randomFillSync, verify as edVerify, type KeyObject } from 'node:crypto';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const B32_INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < B32.length; i++) B32_INDEX[B32.charCodeAt(i)] = i;

/** nkeys `PrefixByteUser`. */
const PREFIX_USER = 20 << 3;

/** CRC-16/XMODEM (polynomial 0x1021, initial 0), as nkeys' crc16. */
const CRC_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

function crc16(b: Uint8Array, end: number): number {
  let crc = 0;
  for (let i = 0; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC_TABLE[((crc >> 8) ^ b[i]!) & 0xff]!;
  return crc;
}

/** Go's `base32.StdEncoding.WithPadding(NoPadding).Decode` (CR/LF skipped); undefined when corrupt. */
function base32Decode(s: string): Uint8Array | undefined {
  const src = s.replace(/[\r\n]/g, '');
  const rem = src.length % 8;
  if (rem === 1 || rem === 3 || rem === 6) return undefined;
  const out = new Uint8Array(Math.floor((src.length * 5) / 8));
  let bits = 0;
  let value = 0;
  let j = 0;
  for (let i = 0; i < src.length; i++) {
    const code = src.charCodeAt(i);
    const v = code < 128 ? B32_INDEX[code]! : -1;
    if (v < 0) return undefined;
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (value >> bits) & 0xff;
    }
  }
  return out.subarray(0, j);
}

/** The raw Ed25519 key of a public user nkey (`U...`), or undefined if `s` is not one. */
export function decodeUserKey(s: string): Uint8Array | undefined {
  const raw = base32Decode(s);
  if (!raw || raw.length < 4) return undefined;
  const end = raw.length - 2;
  const crc = raw[end]! | (raw[end + 1]! << 8);
  if (crc16(raw, end) !== crc) return undefined;
  if (raw[0] !== PREFIX_USER) return undefined;
  return raw.subarray(1, end);
}

/** nkeys prefix bytes of public keys (operator `O`, account `A`, user `U`, server `N`). */
export const PREFIX_OPERATOR = 14 << 3;
export const PREFIX_ACCOUNT = 0;
export { PREFIX_USER };
export const PREFIX_SERVER = 13 << 3;

/** The raw Ed25519 key of a public nkey with the given prefix byte (any public prefix if omitted). */
export function decodePublicKey(s: string, prefix?: number): Uint8Array | undefined {
  if (typeof s !== 'string' || s.length !== 56) return undefined;
  const raw = base32Decode(s);
  if (!raw || raw.length !== 35) return undefined;
  const end = raw.length - 2;
  const crc = raw[end]! | (raw[end + 1]! << 8);
  if (crc16(raw, end) !== crc) return undefined;
  const p = raw[0]!;
  if (prefix !== undefined ? p !== prefix : p !== PREFIX_OPERATOR && p !== PREFIX_ACCOUNT && p !== PREFIX_USER && p !== PREFIX_SERVER) {
    return undefined;
  }
  return raw.subarray(1, end);
}

/** A node:crypto Ed25519 public key for a public nkey (any prefix), or undefined. */
export function nkeyPublicKeyObject(s: string, prefix?: number): KeyObject | undefined {
  const raw = decodePublicKey(s, prefix);
  if (!raw) return undefined;
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
  } catch {
    return undefined;
  }
}

/** nkeys `PrefixByteSeed`. */
const PREFIX_SEED = 18 << 3;

/**
 * The raw 32-byte Ed25519 seed of an encoded nkey seed (`SU...`, `SA...`, `SO...`) and the key
 * type's prefix byte, or undefined when it is not one (alphabet, CRC, seed prefix).
 */
export function decodeSeed(s: string): { seed: Uint8Array; prefix: number } | undefined {
  const raw = base32Decode(s.trim());
  if (!raw || raw.length !== 36) return undefined;
  const end = raw.length - 2;
  const crc = raw[end]! | (raw[end + 1]! << 8);
  if (crc16(raw, end) !== crc) return undefined;
  if ((raw[0]! & 0xf8) !== PREFIX_SEED) return undefined;
  const prefix = ((raw[0]! & 7) << 5) | ((raw[1]! & 0xf8) >> 3);
  return { seed: raw.subarray(2, 34), prefix };
}

/** Go's `nkeys.IsValidPublicUserKey`. */
export function isValidPublicUserKey(s: string): boolean {
  return decodeUserKey(s) !== undefined;
}

// ---- nonce -------------------------------------------------------------------------------------

export const NONCE_RAW_LEN = 11;
export const NONCE_LEN = 15;

const POOL_NONCES = 64;
const pool = Buffer.alloc(NONCE_RAW_LEN * POOL_NONCES);
let poolNext = POOL_NONCES;

/** A fresh nonce: 11 random bytes, base64url without padding (15 characters). */
export function newNonce(): string {
  if (poolNext === POOL_NONCES) {
    randomFillSync(pool);
    poolNext = 0;
  }
  const off = poolNext++ * NONCE_RAW_LEN;
  return pool.toString('base64url', off, off + NONCE_RAW_LEN);
}

// ---- signature ---------------------------------------------------------------------------------

const RAW_URL_RE = /^[A-Za-z0-9_-]*$/;
const STD_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Go's `base64.RawURLEncoding.DecodeString`, falling back to `StdEncoding`; undefined if neither. */
export function decodeSig(s: string): Buffer | undefined {
  const src = s.replace(/[\r\n]/g, '');
  if (RAW_URL_RE.test(src) && src.length % 4 !== 1) return Buffer.from(src, 'base64url');
  if (STD_RE.test(src) && src.length % 4 === 0) {
    const pad = src.endsWith('==') ? 2 : src.endsWith('=') ? 1 : 0;
    // Padding only in the last quantum, where it fits.
    if (src.indexOf('=') === -1 || src.indexOf('=') === src.length - pad) return Buffer.from(src, 'base64');
  }
  return undefined;
}

/** A configured nkey's public key, ready to verify signatures. */
export class NkeyVerifier {
  private readonly key: KeyObject | undefined;

  constructor(publicKey: string) {
    const raw = decodeUserKey(publicKey);
    this.key =
      raw && raw.length === 32
        ? createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' })
        : undefined;
  }

  /** As verify(), on libuv's thread pool (the event loop stays free for other connections). */
  verifyAsync(nonce: string, sig: Buffer): Promise<boolean> {
    const key = this.key;
    if (!key || sig.length !== 64) return Promise.resolve(false);
    return new Promise((resolve) => {
      try {
        edVerify(null, Buffer.from(nonce, 'latin1'), key, sig, (err, ok) => resolve(!err && ok));
      } catch {
        resolve(false);
      }
    });
  }

  /** Whether `sig` is this key's Ed25519 signature of the nonce's bytes. */
  verify(nonce: string, sig: Buffer): boolean {
    if (!this.key || sig.length !== 64) return false;
    try {
      return edVerify(null, Buffer.from(nonce, 'latin1'), this.key, sig);
    } catch {
      return false;
    }
  }
}
