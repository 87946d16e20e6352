// The server ID is made without the nkeys library (start-up cost): it must still be a valid
// server nkey, as nats-server's `nkeys.CreateServer()` gives (checked with the nkeys library).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createServer, fromPublic } from '@nats-io/nkeys';
import { encodeServerPublicKey, newServerId } from '../../src/server/server-id.js';

describe('server id', () => {
  it('is a server public nkey (N..., 56 characters, valid checksum)', () => {
    for (let i = 0; i < 50; i++) {
      const id = newServerId();
      assert.match(id, /^N[A-Z2-7]{55}$/);
      assert.equal(fromPublic(id).getPublicKey(), id);
    }
  });

  it('encodes exactly as the nkeys library (its keys decoded and encoded again)', () => {
    const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    for (let i = 0; i < 50; i++) {
      const id = createServer().getPublicKey();
      let bits = 0;
      let value = 0;
      const raw: number[] = [];
      for (const ch of id) {
        value = (value << 5) | ALPHABET.indexOf(ch);
        bits += 5;
        if (bits >= 8) {
          raw.push((value >>> (bits - 8)) & 0xff);
          bits -= 8;
        }
      }
      // prefix byte, 32-byte key, 2-byte checksum
      assert.equal(raw.length, 35);
      assert.equal(encodeServerPublicKey(Uint8Array.from(raw.slice(1, 33))), id);
    }
  });
});
