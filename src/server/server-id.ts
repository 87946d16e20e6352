// The server's identity: an nkey public key with the server prefix ('N...'), as nats-server's
// `nkeys.CreateServer()` gives it. Made here from node:crypto (an Ed25519 key pair) so start-up
// does not load the nkeys library (tweetnacl and friends) for one public key.

import { generateKeyPairSync } from 'node:crypto';

/** nkeys' prefix byte for server keys ('N' once base32-encoded). */
const PREFIX_SERVER = 13 << 3;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** CRC-16/XMODEM (poly 0x1021, init 0), the checksum nkeys appends. */
function crc16(data: Uint8Array): number {
  let crc = 0;
  for (const b of data) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** RFC 4648 base32 without padding. */
function base32(data: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of data) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** Encodes a 32-byte Ed25519 public key as a server nkey (`N` + 55 characters). */
export function encodeServerPublicKey(pub: Uint8Array): string {
  const raw = new Uint8Array(pub.length + 3);
  raw[0] = PREFIX_SERVER;
  raw.set(pub, 1);
  const crc = crc16(raw.subarray(0, pub.length + 1));
  raw[pub.length + 1] = crc & 0xff;
  raw[pub.length + 2] = crc >>> 8;
  return base32(raw);
}

/** A fresh server ID (the public key of a new Ed25519 key pair). */
export function newServerId(): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  return encodeServerPublicKey(Buffer.from(jwk.x!, 'base64url'));
}
