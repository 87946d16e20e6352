// Client sockets read into one buffer shared by every connection, instead of Node's default of a
// fresh ArrayBuffer per read: plaintext sockets (libuv reads into it) and TLS sockets (Node's
// TLSWrap copies each decrypted record into it, through the same stream listener).
//
// Why: under load every read otherwise allocates up to 64 KiB of external memory, and that
// garbage (not the parsing) is what the collector spends its time on. Node has the mechanism
// built in (`net.Socket`'s `onread` option: libuv reads into the given buffer and a callback gets
// the byte count), but only accepts it when a socket is constructed, not for sockets a net.Server
// accepts or TLSSockets wrapping them; so it is enabled here by setting the same three fields the
// constructor sets, before the socket's first read (a TLS socket's first decrypted read: records
// decrypted earlier are taken from its stream buffer by the caller). Found by their symbols'
// descriptions; where they are missing (another Node version), `readIntoShared` returns false and
// the socket keeps Node's default reads.
//
// Contract for the consumer: the bytes passed to `onData` are valid only during the call (the
// next read, on any connection, overwrites them). The parser and the client copy what they keep
// (ProtocolParser.chunksReused).
import { Socket } from 'node:net';

type UserBufferHandle = { useUserBuffer?: (buf: Uint8Array) => void };
type Fields = { kBuffer: symbol; kBufferCb: symbol; kBufferGen: symbol };

/** nats-server reads into buffers of up to 64 KiB; so does Node by default. */
const SIZE = 64 * 1024;

let fields: Fields | null | undefined;
let shared: Buffer | null = null;

function lookupFields(): Fields | null {
  const probe = new Socket();
  const bySymbol = new Map(Object.getOwnPropertySymbols(probe).map((s) => [s.description, s]));
  probe.destroy();
  const kBuffer = bySymbol.get('kBuffer');
  const kBufferCb = bySymbol.get('kBufferCb');
  const kBufferGen = bySymbol.get('kBufferGen');
  if (!kBuffer || !kBufferCb || !kBufferGen) return null;
  return { kBuffer, kBufferCb, kBufferGen };
}

/**
 * Makes `sock` read into the shared buffer and hand each read to `onData` (a view valid during the
 * call only); the socket emits no 'data' events then. `pause()`/`resume()` keep working (Node stops
 * and restarts the handle's reading for such sockets), as do 'end', 'close' and 'error'. Call it
 * before the socket's first read (in the 'connection' callback), or for a TLS socket once its
 * handshake is done. Returns false, changing nothing, where this Node does not support it.
 */
export function readIntoShared(sock: Socket, onData: (chunk: Buffer) => void): boolean {
  if (fields === undefined) fields = lookupFields();
  const handle = (sock as unknown as { _handle?: UserBufferHandle | null })._handle;
  if (fields === null || !handle || typeof handle.useUserBuffer !== 'function') return false;
  const buf = (shared ??= Buffer.allocUnsafe(SIZE));
  const s = sock as unknown as Record<symbol, unknown>;
  s[fields.kBuffer] = buf;
  s[fields.kBufferGen] = null;
  s[fields.kBufferCb] = (nread: number, b: Buffer): void => onData(b.subarray(0, nread));
  handle.useUserBuffer(buf);
  return true;
}
