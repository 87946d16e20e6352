// FileStore: append-only message blocks on disk with an in-memory offset index.
//
// Layout under the stream directory (nats-server's, file formats our own):
//   msgs/<n>.blk   records, appended only to the last block (the write block)
//   msgs/<n>.dlt   append-only log of sequences deleted from block n (tombstones), removed with the block
// Record: u32 len | u8 type | u64 seq | i64 ts | u16 subj_len | u32 hdr_len | subject | hdr | data | u32 crc32
//   (little-endian; crc32 covers every byte before it, len included).
//   type 1 = message; 2 = floor (every seq <= seq is deleted: FIFO evictions, purge, compact);
//   3 = mark (the stream's last sequence is at least seq: skips, compaction past the end);
//   4 = erased message (MSG.DELETE without no_erase overwrites the record in place, same length).
// Each store() is one write(2) of the whole record before it returns (survives kill -9); fsync runs on a
// timer (default every 2 minutes, like nats-server's stream sync interval) and on flush()/close().
// Recovery scans every block, verifies length and checksum of each record and truncates a block at
// its first torn or corrupt record (logged through `warn`): a complete record is never lost, a
// corrupt one never returned. The index keeps 12 bytes per stored message (offset, length, subject id).

import * as fs from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { BaseStore } from './base.js';
import { type StoreLimits, type StoredMsg, StoreError, UNLIMITED, fileMsgSize } from './types.js';

const HDR = 31; // fixed part incl. crc
const T_MSG = 1;
const T_FLOOR = 2;
const T_MARK = 3;
const T_ERASED = 4; // a message record overwritten in place (secure delete): keeps its slot, holds no data
const HAS_HDR = 0x80000000;
const OFF_MASK = 0x7fffffff;
const DELETED = 0xffffffff;
const DLT_REC = 12;
const MAX_GAP = 1 << 22;
const IDX_HEAD = 4 + 4 + 4 + 4 + 4 + 8 + 4 + 8 + 8 + 8 + 8 + 8 + 4;

export interface FileStoreOptions {
  /** target block size in bytes (default from limits as nats-server: 8 MiB, 4 MiB with per-subject limits, max_bytes/4 clamped to [32 KiB, 8 MiB]) */
  blockSize?: number;
  /** fsync interval in ms (default 120000); 0 disables the timer (fsync only on flush/close) */
  syncIntervalMs?: number;
  /** recovery warnings (torn tails, corrupt records) */
  warn?: (msg: string) => void;
  /** fsync after every append and delete (slow; nats-server 2.9.10 has no such mode): survives power loss too */
  syncAlways?: boolean;
  /** a sealed block at least this big (default 2 MiB, as nats-server) is rewritten without its deleted records once under 25 % live */
  compactMinBytes?: number;
}

interface Block {
  n: number;
  path: string;
  fd: number;
  size: number;
  base: number;
  count: number;
  live: number;
  /** bytes of the live message records (compaction trigger) */
  liveBytes: number;
  offs: Uint32Array;
  lens: Uint32Array;
  sids: Uint32Array;
  dltFd: number;
  dltSize: number;
  dirty: boolean;
  /** offset of the last record in the file (-1: none) */
  lastRecOff: number;
  /** size of the block when opened from its index: the bytes the background check covers */
  verifySize: number;
  /** crc32 of the whole block file, valid while crcOk (appends and erases clear it) */
  crc: number;
  crcOk: boolean;
  /** ts of the last message record (for the block index) */
  lastTs: bigint;
  /** highest floor / mark record in this block and their ts */
  floorSeq: number;
  floorTs: bigint;
  markSeq: number;
  markTs: bigint;
}

function blockSizeFor(l: StoreLimits): number {
  if (l.maxBytes > 0) {
    let b = Math.floor(l.maxBytes / 4) + 1;
    if (b % 100 !== 0) b += 100 - (b % 100);
    return Math.min(Math.max(b, 32 * 1024), 8 * 1024 * 1024);
  }
  if (l.maxMsgsPerSubject > 0) return 4 * 1024 * 1024;
  return 8 * 1024 * 1024;
}

function ioError(what: string, e: unknown): StoreError {
  const m = e instanceof Error ? e.message : String(e);
  return new StoreError('io', `${what}: ${m}`, { cause: e });
}

function writeFully(fd: number, buf: Buffer, pos: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = fs.writeSync(fd, buf, done, buf.length - done, pos + done);
    if (n <= 0) throw new Error('short write');
    done += n;
  }
}

export class FileStore extends BaseStore {
  readonly kind = 'file' as const;
  readonly dir: string;
  readonly msgsDir: string;
  private blocks: Block[] = [];
  private wb!: Block;
  private blockSize: number;
  private compactMin: number;
  private syncAlways: boolean;
  private floor = 0;
  private floorBlock: Block | undefined;
  private subjIds = new Map<string, number>();
  private subjNames: string[] = [];
  private syncTimer: NodeJS.Timeout | undefined;
  private warn: (msg: string) => void;
  private lastHit: Block | undefined;
  /** blocks were created or removed since the last directory fsync */
  private dirDirty = false;
  /** blocks opened through their index, not yet checked byte for byte */
  private unverified: Block[] = [];
  private verifying: Promise<void> | undefined;
  /** bytes dropped by recovery (torn/corrupt records) */
  readonly recoveredLostBytes: number = 0;

  constructor(dir: string, limits: StoreLimits = UNLIMITED, opts: FileStoreOptions = {}) {
    super(limits);
    this.dir = dir;
    this.msgsDir = join(dir, 'msgs');
    this.blockSize = opts.blockSize ?? blockSizeFor(limits);
    this.warn = opts.warn ?? (() => {});
    this.compactMin = opts.compactMinBytes ?? 2 * 1024 * 1024;
    this.syncAlways = opts.syncAlways === true;
    try {
      fs.mkdirSync(this.msgsDir, { recursive: true, mode: 0o750 });
      this.recover();
    } catch (e) {
      this.closeFds();
      if (e instanceof StoreError) throw e;
      throw ioError(`open ${this.msgsDir}`, e);
    }
    const iv = opts.syncIntervalMs ?? 120_000;
    if (iv > 0) {
      this.syncTimer = setInterval(() => {
        try {
          this.syncNow();
        } catch (e) {
          this.warn(`jetstream store ${this.dir}: fsync failed: ${(e as Error).message}`);
        }
      }, iv);
      this.syncTimer.unref();
    }
    // limits may have changed while the stream was down (or a crash left evictions unwritten)
    try {
      this.enforceLimits();
      if (this.limits.maxAgeNs > 0n) this.expireAged();
    } catch (e) {
      this.reportError(e);
    }
    if (this.unverified.length > 0) this.verifying = this.verifyInBackground();
  }

  protected override reportError(e: unknown): void {
    this.warn(`jetstream store ${this.dir}: ${(e as Error).message}`);
  }

  /** resolves once every block opened through its index has been checked in full */
  verified(): Promise<void> {
    return this.verifying ?? Promise.resolve();
  }

  /** runs the pending byte-for-byte checks now, synchronously (tools, tests) */
  verifyNow(): void {
    this.checkOpen();
    while (this.unverified.length > 0) {
      const b = this.unverified.shift()!;
      if (this.blocks.includes(b)) this.verifyBlock(b);
    }
  }

  /**
   * Checks, one block per event-loop turn, that each block opened through its index still has the crc32
   * recorded in the index. A block that changed is scanned: messages whose record is damaged are
   * removed (tombstoned) and logged; the index is rewritten.
   */
  private async verifyInBackground(): Promise<void> {
    while (this.unverified.length > 0) {
      await new Promise<void>((r) => setImmediate(r));
      if (this.closed) return;
      const b = this.unverified.shift()!;
      if (!this.blocks.includes(b)) continue;
      try {
        this.verifyBlock(b);
      } catch (e) {
        this.warn(`jetstream store ${this.dir}: block ${b.n}: verification failed: ${(e as Error).message}`);
      }
    }
  }

  private verifyBlock(b: Block): void {
    // the bytes the index described (the write block may have grown since)
    const size = b.verifySize;
    const expect = b.crc;
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const r = fs.readSync(b.fd, buf, got, size - got, got);
      if (r <= 0) break;
      got += r;
    }
    if (got === size && crc32(buf) === expect) {
      if (size === b.size) b.crcOk = true;
      return;
    }
    const bad: number[] = [];
    for (let i = 0; i < b.count; i++) {
      const o = b.offs[i];
      if (o === DELETED) continue;
      const at = o & OFF_MASK;
      const len = b.lens[i];
      if (at >= size) continue; // appended after the open: written by us, not covered by the index
      const ok =
        at + len <= got &&
        buf.readUInt32LE(at) === len &&
        crc32(buf.subarray(at, at + len - 4)) === buf.readUInt32LE(at + len - 4) &&
        buf.readUInt32LE(at + 5) + buf.readUInt32LE(at + 9) * 0x100000000 === b.base + i;
      if (!ok) bad.push(b.base + i);
    }
    if (bad.length > 0) {
      this.warn(`jetstream store ${this.dir}: block ${b.n}: ${bad.length} damaged message record(s) removed: ${bad.slice(0, 10).join(', ')}${bad.length > 10 ? ', ...' : ''}`);
      this.removeBatch(bad, false);
    }
    b.crcOk = false;
    if (this.blocks.includes(b)) this.writeIdx(b);
  }

  // ---------- recovery ----------
  private recover(): void {
    const names = fs
      .readdirSync(this.msgsDir)
      .map((f) => /^(\d+)\.blk$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    let lastMsgSeq = 0;
    let lastMsgTs = 0n;
    let lost = 0;
    let scratch = Buffer.allocUnsafe(0);
    for (const [k, n] of names.entries()) {
      const b = this.openBlock(n, false);
      const fileSize = fs.fstatSync(b.fd).size;
      if (this.loadIdx(b, fileSize)) {
        // the index matches the block's size and its last record is intact: no scan now; the
        // whole block is verified in the background (verified())
        if (b.count > 0 && b.base + b.count - 1 > lastMsgSeq) {
          lastMsgSeq = b.base + b.count - 1;
          lastMsgTs = b.lastTs;
        }
        this.noteControl(b);
        this.blocks.push(b);
        this.readDeletes(b);
        this.unverified.push(b);
        continue;
      }
      if (scratch.length < fileSize) scratch = Buffer.allocUnsafe(Math.max(fileSize, 1 << 20));
      let got = 0;
      while (got < fileSize) {
        const r = fs.readSync(b.fd, scratch, got, fileSize - got, got);
        if (r <= 0) break;
        got += r;
      }
      const buf = scratch.subarray(0, got);
      let off = 0;
      let bad = '';
      const valid = (at: number): boolean => {
        if (at + HDR > buf.length) return false;
        const l = buf.readUInt32LE(at);
        return l >= HDR && at + l <= buf.length && crc32(buf.subarray(at, at + l - 4)) === buf.readUInt32LE(at + l - 4);
      };
      while (off < buf.length) {
        if (off + HDR > buf.length) {
          bad = 'torn record';
          break;
        }
        const len = buf.readUInt32LE(off);
        if (len < HDR || off + len > buf.length) {
          bad = 'torn record';
          break;
        }
        if (crc32(buf.subarray(off, off + len - 4)) !== buf.readUInt32LE(off + len - 4)) {
          if (off + len < buf.length && valid(off + len)) {
            // a damaged record between intact ones: skip just this one
            this.warn(`jetstream store ${this.dir}: block ${n}: corrupt record of ${len} bytes at offset ${off} skipped`);
            lost += len;
            off += len;
            continue;
          }
          bad = 'checksum mismatch';
          break;
        }
        const type = buf[off + 4];
        const seq = buf.readUInt32LE(off + 5) + buf.readUInt32LE(off + 9) * 0x100000000;
        const slen = buf.readUInt16LE(off + 21);
        const hlen = buf.readUInt32LE(off + 23);
        if (HDR + slen + hlen > len || seq <= 0) {
          bad = 'bad record';
          break;
        }
        if (type === T_MSG || type === T_ERASED) {
          if (seq <= lastMsgSeq || (b.count > 0 && seq < b.base + b.count)) {
            bad = `sequence ${seq} out of order`;
            break;
          }
          if (b.count > 0 && seq > b.base + b.count) {
            // gaps: a compacted block, or a damaged record skipped just before
            if (seq - (b.base + b.count) > MAX_GAP) {
              bad = `sequence ${seq} out of order`;
              break;
            }
            while (b.base + b.count < seq) this.pushDeleted(b);
          }
          if (b.count === 0) b.base = seq;
          if (type === T_ERASED) this.pushDeleted(b);
          else {
            const subject = buf.toString('utf8', off + 27, off + 27 + slen);
            this.pushIndex(b, off, len, hlen > 0, this.sid(subject));
          }
          lastMsgSeq = seq;
          b.lastTs = lastMsgTs = buf.readBigInt64LE(off + 13);
        } else if (type === T_FLOOR) {
          if (seq >= b.floorSeq) {
            b.floorSeq = seq;
            b.floorTs = buf.readBigInt64LE(off + 13);
          }
        } else if (type === T_MARK) {
          if (seq >= b.markSeq) {
            b.markSeq = seq;
            b.markTs = buf.readBigInt64LE(off + 13);
          }
        } else {
          bad = `unknown record type ${type}`;
          break;
        }
        b.lastRecOff = off;
        off += len;
      }
      if (bad) {
        lost += buf.length - off;
        this.warn(
          `jetstream store ${this.dir}: block ${n}: ${bad} at offset ${off}, truncated ${buf.length - off} bytes`,
        );
        fs.ftruncateSync(b.fd, off);
      }
      b.size = off;
      b.crc = crc32(buf.subarray(0, off));
      b.crcOk = true;
      this.noteControl(b);
      this.blocks.push(b);
      this.readDeletes(b);
      // a sealed block gets an index so the next start need not scan it
      if (k < names.length - 1) this.writeIdx(b);
    }
    (this as { recoveredLostBytes: number }).recoveredLostBytes = lost;
    // last sequence and its time
    this.last = 0;
    this.lastTs = 0n;
    for (const [s, t] of [
      [lastMsgSeq, lastMsgTs],
      [this.floor, this.floorTsRec],
      [this.markRec, this.markTsRec],
    ] as Array<[number, bigint]>) {
      if (s > this.last || (s === this.last && t > this.lastTs)) {
        this.last = s;
        this.lastTs = t;
      }
    }
    // apply the floor
    if (this.floor > 0) {
      for (const b of this.blocks) {
        if (b.count === 0 || b.base > this.floor) continue;
        const upto = Math.min(b.count, this.floor - b.base + 1);
        for (let i = 0; i < upto; i++) {
          this.kill(b, i);
        }
      }
    }
    if (this.blocks.length === 0) {
      this.blocks.push(this.openBlock(1, true));
      this.dirDirty = true;
    }
    this.wb = this.blocks[this.blocks.length - 1];
    // drop emptied blocks (not the write block)
    for (const b of this.blocks.slice(0, -1)) if (b.live === 0) this.removeBlock(b);
    // rebuild the shared state
    this.first = 0;
    for (const b of this.blocks) {
      for (let i = 0; i < b.count; i++) {
        const o = b.offs[i];
        if (o === DELETED) continue;
        const seq = b.base + i;
        if (this.msgs === 0) this.first = seq;
        this.indexMsg(seq, this.subjNames[b.sids[i]], this.acct(b, i));
      }
    }
    if (this.msgs === 0) this.first = this.last > 0 ? this.last + 1 : 0;
    else this.firstTsStale = true;
  }

  private floorTsRec = 0n;
  private markRec = 0;
  private markTsRec = 0n;
  private noteControl(b: Block): void {
    if (b.floorSeq > 0 && b.floorSeq >= this.floor) {
      this.floor = b.floorSeq;
      this.floorTsRec = b.floorTs;
      this.floorBlock = b;
    }
    if (b.markSeq > 0 && b.markSeq >= this.markRec) {
      this.markRec = b.markSeq;
      this.markTsRec = b.markTs;
    }
  }

  // ---- block index files (<n>.idx): a snapshot of a block's index (written when a block is sealed
  // and for the write block on close), trusted only when the block still has the recorded size and
  // crc32 of all its bytes; otherwise the block is scanned record by record ----
  private idxPath(b: Block): string {
    return b.path.replace(/\.blk$/, '.idx');
  }

  private blockCrc(b: Block): number {
    if (!b.crcOk) {
      const buf = Buffer.allocUnsafe(b.size);
      let got = 0;
      while (got < b.size) {
        const r = fs.readSync(b.fd, buf, got, b.size - got, got);
        if (r <= 0) throw new Error('short read');
        got += r;
      }
      b.crc = crc32(buf);
      b.crcOk = true;
    }
    return b.crc;
  }

  private writeIdx(b: Block): void {
    try {
      const names: string[] = [];
      const local = new Map<number, number>();
      const lsids = new Uint32Array(b.count);
      for (let i = 0; i < b.count; i++) {
        if (b.offs[i] === DELETED) continue;
        const g = b.sids[i];
        let l = local.get(g);
        if (l === undefined) {
          l = names.length;
          local.set(g, l);
          names.push(this.subjNames[g]);
        }
        lsids[i] = l;
      }
      const nameBufs = names.map((x) => Buffer.from(x));
      const head = Buffer.alloc(IDX_HEAD);
      let p = head.write('TSIX', 0, 'latin1');
      p = head.writeUInt32LE(2, p);
      p = head.writeUInt32LE(b.size, p);
      p = head.writeUInt32LE(this.blockCrc(b), p);
      p = head.writeInt32LE(b.lastRecOff, p);
      p = head.writeDoubleLE(b.base, p);
      p = head.writeUInt32LE(b.count, p);
      p = head.writeBigInt64LE(b.lastTs, p);
      p = head.writeDoubleLE(b.floorSeq, p);
      p = head.writeBigInt64LE(b.floorTs, p);
      p = head.writeDoubleLE(b.markSeq, p);
      p = head.writeBigInt64LE(b.markTs, p);
      head.writeUInt32LE(names.length, p);
      const parts: Buffer[] = [head];
      for (const nb of nameBufs) {
        const l = Buffer.allocUnsafe(2);
        l.writeUInt16LE(nb.length, 0);
        parts.push(l, nb);
      }
      const arr = (a: Uint32Array) => Buffer.from(a.buffer, a.byteOffset, b.count * 4);
      parts.push(arr(b.offs), arr(b.lens), arr(lsids));
      const body = Buffer.concat(parts);
      const sum = Buffer.allocUnsafe(4);
      sum.writeUInt32LE(crc32(body), 0);
      const tmp = `${this.idxPath(b)}.tmp`;
      fs.writeFileSync(tmp, Buffer.concat([body, sum]), { mode: 0o640 });
      fs.renameSync(tmp, this.idxPath(b));
    } catch (e) {
      // an index is an optimisation: without it the block is scanned at the next start
      this.warn(`jetstream store ${this.dir}: block ${b.n}: index not written: ${(e as Error).message}`);
    }
  }

  /** the last record of a block, checked in full (length up to the end of the file, checksum) */
  private lastRecordOk(b: Block, fileSize: number, at: number): boolean {
    if (at < 0) return fileSize === 0;
    const len = fileSize - at;
    if (len < HDR || len > 64 * 1024 * 1024) return false;
    const r = Buffer.allocUnsafe(len);
    if (fs.readSync(b.fd, r, 0, len, at) !== len) return false;
    return r.readUInt32LE(0) === len && crc32(r.subarray(0, len - 4)) === r.readUInt32LE(len - 4);
  }

  private loadIdx(b: Block, fileSize: number): boolean {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(this.idxPath(b));
    } catch {
      return false;
    }
    try {
      if (buf.length < IDX_HEAD + 4 || buf.toString('latin1', 0, 4) !== 'TSIX' || buf.readUInt32LE(4) !== 2) return false;
      if (crc32(buf.subarray(0, buf.length - 4)) !== buf.readUInt32LE(buf.length - 4)) return false;
      if (buf.readUInt32LE(8) !== fileSize) return false;
      const wholeCrc = buf.readUInt32LE(12);
      const lastRecOff = buf.readInt32LE(16);
      if (!this.lastRecordOk(b, fileSize, lastRecOff)) return false;
      let p = 20;
      const base = buf.readDoubleLE(p);
      const count = buf.readUInt32LE((p += 8));
      const lastTs = buf.readBigInt64LE((p += 4));
      const floorSeq = buf.readDoubleLE((p += 8));
      const floorTs = buf.readBigInt64LE((p += 8));
      const markSeq = buf.readDoubleLE((p += 8));
      const markTs = buf.readBigInt64LE((p += 8));
      const nn = buf.readUInt32LE((p += 8));
      p += 4;
      const gids: number[] = [];
      for (let i = 0; i < nn; i++) {
        const l = buf.readUInt16LE(p);
        gids.push(this.sid(buf.toString('utf8', p + 2, p + 2 + l)));
        p += 2 + l;
      }
      if (p + count * 12 + 4 !== buf.length) return false;
      const cap = Math.max(256, count);
      const take = (at: number) => {
        const a = new Uint32Array(cap);
        new Uint8Array(a.buffer).set(buf.subarray(at, at + count * 4));
        return a;
      };
      b.offs = take(p);
      b.lens = take(p + count * 4);
      b.sids = take(p + count * 8);
      let live = 0;
      let liveBytes = 0;
      for (let i = 0; i < count; i++) {
        if (b.offs[i] === DELETED) continue;
        const g = gids[b.sids[i]];
        if (g === undefined) return false;
        b.sids[i] = g;
        live++;
        liveBytes += b.lens[i];
      }
      b.base = base;
      b.count = count;
      b.live = live;
      b.liveBytes = liveBytes;
      b.lastRecOff = lastRecOff;
      b.crc = wholeCrc;
      b.crcOk = true;
      b.verifySize = fileSize;
      b.size = fileSize;
      b.lastTs = lastTs;
      b.floorSeq = floorSeq;
      b.floorTs = floorTs;
      b.markSeq = markSeq;
      b.markTs = markTs;
      return true;
    } catch {
      return false;
    }
  }

  private readDeletes(b: Block): void {
    const p = b.path.replace(/\.blk$/, '.dlt');
    let buf: Buffer;
    try {
      buf = fs.readFileSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    let off = 0;
    for (; off + DLT_REC <= buf.length; off += DLT_REC) {
      if (crc32(buf.subarray(off, off + 8)) !== buf.readUInt32LE(off + 8)) break;
      const seq = Number(buf.readBigUInt64LE(off));
      const i = seq - b.base;
      if (b.count > 0 && i >= 0 && i < b.count) this.kill(b, i);
    }
    b.dltFd = fs.openSync(p, 'r+');
    if (off !== buf.length) {
      this.warn(`jetstream store ${this.dir}: block ${b.n}: delete log torn at ${off}, truncated ${buf.length - off} bytes`);
      fs.ftruncateSync(b.dltFd, off);
    }
    b.dltSize = off;
  }

  private openBlock(n: number, create: boolean): Block {
    const path = join(this.msgsDir, `${n}.blk`);
    const fd = fs.openSync(path, create ? 'w+' : 'r+', 0o640);
    const cap = 256;
    return {
      n,
      path,
      fd,
      size: 0,
      base: 0,
      count: 0,
      live: 0,
      liveBytes: 0,
      offs: new Uint32Array(cap),
      lens: new Uint32Array(cap),
      sids: new Uint32Array(cap),
      dltFd: -1,
      dltSize: 0,
      dirty: create,
      lastRecOff: -1,
      verifySize: 0,
      crc: 0,
      crcOk: create,
      lastTs: 0n,
      floorSeq: 0,
      floorTs: 0n,
      markSeq: 0,
      markTs: 0n,
    };
  }

  private sid(subject: string): number {
    let id = this.subjIds.get(subject);
    if (id === undefined) {
      id = this.subjNames.length;
      this.subjNames.push(subject);
      this.subjIds.set(subject, id);
    }
    return id;
  }

  private pushIndex(b: Block, off: number, len: number, hasHdr: boolean, sid: number): void {
    if (b.count === b.offs.length) {
      const grow = (a: Uint32Array) => {
        const n = new Uint32Array(a.length * 2);
        n.set(a);
        return n;
      };
      b.offs = grow(b.offs);
      b.lens = grow(b.lens);
      b.sids = grow(b.sids);
    }
    b.offs[b.count] = (off | (hasHdr ? HAS_HDR : 0)) >>> 0;
    b.lens[b.count] = len;
    b.sids[b.count] = sid;
    b.count++;
    b.live++;
    b.liveBytes += len;
  }

  private pushDeleted(b: Block): void {
    this.pushIndex(b, 0, 0, false, 0);
    this.kill(b, b.count - 1);
  }

  private kill(b: Block, i: number): void {
    if (b.offs[i] === DELETED) return;
    b.offs[i] = DELETED;
    b.live--;
    b.liveBytes -= b.lens[i];
  }

  private acct(b: Block, i: number): number {
    // record = 31 + s + h + d; accounting = 22+s+d+8 (+4+h with headers)
    return b.offs[i] & HAS_HDR ? b.lens[i] + 3 : b.lens[i] - 1;
  }

  private find(seq: number): Block | undefined {
    const h = this.lastHit;
    if (h && h.count > 0 && seq >= h.base && seq < h.base + h.count) return h;
    const bl = this.blocks;
    let lo = 0;
    let hi = bl.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const b = bl[mid];
      if (b.count === 0 || seq < b.base) {
        // empty blocks sit only at the end (write block) or hold no sequences
        if (b.count === 0 && mid === bl.length - 1) hi = mid - 1;
        else if (b.count === 0) lo = mid + 1;
        else hi = mid - 1;
      } else if (seq >= b.base + b.count) lo = mid + 1;
      else {
        this.lastHit = b;
        return b;
      }
    }
    return undefined;
  }

  // ---------- primitives ----------
  protected _append(seq: number, subject: string, hdr: Buffer | null, data: Buffer, ts: bigint): number {
    const slen = Buffer.byteLength(subject);
    if (slen > 0xffff) throw new StoreError('bad_request', 'subject too long');
    const hlen = hdr ? hdr.length : 0;
    const len = HDR + slen + hlen + data.length;
    let wb = this.wb;
    if (wb.count > 0 && (seq !== wb.base + wb.count || wb.size + len > this.blockSize)) wb = this.rotate();
    const buf = Buffer.allocUnsafe(len);
    buf.writeUInt32LE(len, 0);
    buf[4] = T_MSG;
    buf.writeUInt32LE(seq % 0x100000000, 5);
    buf.writeUInt32LE(Math.floor(seq / 0x100000000), 9);
    buf.writeBigInt64LE(ts, 13);
    buf.writeUInt16LE(slen, 21);
    buf.writeUInt32LE(hlen, 23);
    buf.write(subject, 27, 'utf8');
    let p = 27 + slen;
    if (hdr) p += hdr.copy(buf, p);
    p += data.copy(buf, p);
    buf.writeUInt32LE(crc32(buf.subarray(0, p)), p);
    this.appendRaw(wb, buf);
    if (wb.count === 0) wb.base = seq;
    wb.lastTs = ts;
    this.pushIndex(wb, wb.size - len, len, hlen > 0, this.sid(subject));
    return fileMsgSize(subject, hdr, data);
  }

  private appendRaw(b: Block, buf: Buffer): void {
    try {
      writeFully(b.fd, buf, b.size);
      if (this.syncAlways) fs.fsyncSync(b.fd);
    } catch (e) {
      try {
        fs.ftruncateSync(b.fd, b.size);
      } catch {
        /* keep the first error */
      }
      throw ioError(`write ${b.path}`, e);
    }
    b.lastRecOff = b.size;
    b.size += buf.length;
    b.dirty = !this.syncAlways;
    if (this.syncAlways && this.dirDirty) this.syncNow();
    b.crcOk = false;
  }

  private controlRecord(type: number, seq: number, ts: bigint): Buffer {
    const buf = Buffer.alloc(HDR);
    buf.writeUInt32LE(HDR, 0);
    buf[4] = type;
    buf.writeBigUInt64LE(BigInt(seq), 5);
    buf.writeBigInt64LE(ts, 13);
    buf.writeUInt32LE(crc32(buf.subarray(0, HDR - 4)), HDR - 4);
    return buf;
  }

  private rotate(): Block {
    this.writeIdx(this.wb);
    const b = this.openBlock(this.wb.n + 1, true);
    this.dirDirty = true;
    this.blocks.push(b);
    this.wb = b;
    return b;
  }

  protected _has(seq: number): boolean {
    const b = this.find(seq);
    return b !== undefined && b.offs[seq - b.base] !== DELETED;
  }
  protected _subject(seq: number): string | undefined {
    const b = this.find(seq);
    if (!b || b.offs[seq - b.base] === DELETED) return undefined;
    return this.subjNames[b.sids[seq - b.base]];
  }
  protected _size(seq: number): number {
    const b = this.find(seq);
    if (!b || b.offs[seq - b.base] === DELETED) return 0;
    return this.acct(b, seq - b.base);
  }
  protected _read(seq: number): StoredMsg | undefined {
    const b = this.find(seq);
    if (!b) return undefined;
    const i = seq - b.base;
    const o = b.offs[i];
    if (o === DELETED) return undefined;
    const len = b.lens[i];
    const buf = Buffer.allocUnsafe(len);
    try {
      const n = fs.readSync(b.fd, buf, 0, len, o & OFF_MASK);
      if (n !== len) throw new Error(`short read (${n} of ${len})`);
    } catch (e) {
      throw ioError(`read ${b.path}`, e);
    }
    if (buf[4] === T_ERASED) return undefined; // erased, its delete not yet indexed (crash between the two writes)
    if (crc32(buf.subarray(0, len - 4)) !== buf.readUInt32LE(len - 4) || Number(buf.readBigUInt64LE(5)) !== seq) {
      this.warn(`jetstream store ${this.dir}: block ${b.n}: message ${seq} fails its checksum: removed`);
      this.removeBatch([seq], false);
      throw new StoreError('corrupt', `message ${seq} is corrupt on disk`);
    }
    const slen = buf.readUInt16LE(21);
    const hlen = buf.readUInt32LE(23);
    const sEnd = 27 + slen;
    return {
      seq,
      subject: this.subjNames[b.sids[i]],
      hdr: hlen > 0 ? buf.subarray(sEnd, sEnd + hlen) : null,
      data: buf.subarray(sEnd + hlen, len - 4),
      ts: buf.readBigInt64LE(13),
    };
  }
  protected _ts(seq: number): bigint {
    const b = this.find(seq);
    if (!b) return 0n;
    const o = b.offs[seq - b.base];
    if (o === DELETED) return 0n;
    const buf = Buffer.allocUnsafe(8);
    try {
      fs.readSync(b.fd, buf, 0, 8, (o & OFF_MASK) + 13);
    } catch (e) {
      throw ioError(`read ${b.path}`, e);
    }
    return buf.readBigInt64LE(0);
  }
  protected _unindex(seq: number): void {
    const b = this.find(seq);
    if (!b) return;
    this.kill(b, seq - b.base);
  }
  protected _persistRemoval(seqs: number[], floor: number): void {
    // on failure everything written here is taken back, so the caller can leave its state unchanged
    const wb = this.wb;
    const undo = {
      wbSize: wb.size,
      wbLastRecOff: wb.lastRecOff,
      floor: this.floor,
      floorBlock: this.floorBlock,
      wbFloorSeq: wb.floorSeq,
      wbFloorTs: wb.floorTs,
      dlt: [] as Array<[Block, number]>,
    };
    try {
      if (floor > this.floor) this.writeFloor(floor);
      if (seqs.length > 0) {
        const byBlock = new Map<Block, number[]>();
        for (const s of seqs) {
          const b = this.findAny(s);
          if (!b) continue;
          let a = byBlock.get(b);
          if (!a) byBlock.set(b, (a = []));
          a.push(s);
        }
        for (const [b, list] of byBlock) {
          const buf = Buffer.allocUnsafe(list.length * DLT_REC);
          list.forEach((s, k) => {
            buf.writeBigUInt64LE(BigInt(s), k * DLT_REC);
            buf.writeUInt32LE(crc32(buf.subarray(k * DLT_REC, k * DLT_REC + 8)), k * DLT_REC + 8);
          });
          if (b.dltFd < 0) b.dltFd = fs.openSync(b.path.replace(/\.blk$/, '.dlt'), 'a+', 0o640);
          undo.dlt.push([b, b.dltSize]);
          writeFully(b.dltFd, buf, b.dltSize);
          b.dltSize += buf.length;
          b.dirty = true;
          if (this.syncAlways) this.syncBlock(b);
        }
      }
    } catch (e) {
      try {
        for (const [b, size] of undo.dlt) {
          fs.ftruncateSync(b.dltFd, size);
          b.dltSize = size;
        }
        if (wb.size !== undo.wbSize) {
          fs.ftruncateSync(wb.fd, undo.wbSize);
          wb.size = undo.wbSize;
          wb.lastRecOff = undo.wbLastRecOff;
        }
        this.floor = undo.floor;
        this.floorBlock = undo.floorBlock;
        wb.floorSeq = undo.wbFloorSeq;
        wb.floorTs = undo.wbFloorTs;
      } catch {
        this.warn(`jetstream store ${this.dir}: could not take back a failed delete: it may apply after a restart`);
      }
      if (e instanceof StoreError) throw e;
      throw ioError(`delete in ${this.msgsDir}`, e);
    }
  }
  protected override _afterRemoval(): void {
    // the removals are durable already: a failure here (unlink, compaction) only delays reclaiming
    // disk space (a block with nothing live is dropped at the next open)
    try {
      for (const b of this.blocks.slice()) {
        if (b === this.wb) continue;
        if (b.live === 0) this.removeBlock(b);
        else if (b.size >= this.compactMin && b.liveBytes * 4 < b.size) this.compactBlock(b);
      }
    } catch (e) {
      this.warn(`jetstream store ${this.dir}: reclaiming blocks failed: ${(e as Error).message}`);
    }
  }

  /** block holding seq's slot, deleted or not */
  private findAny(seq: number): Block | undefined {
    for (let k = this.blocks.length - 1; k >= 0; k--) {
      const b = this.blocks[k];
      if (b.count > 0 && seq >= b.base && seq < b.base + b.count) return b;
    }
    return undefined;
  }
  /** overwrites a stored record in place with random bytes (same length, valid checksum, type erased) */
  protected override _erase(seq: number): void {
    const b = this.find(seq);
    if (!b) return;
    const i = seq - b.base;
    const o = b.offs[i];
    if (o === DELETED) return;
    const len = b.lens[i];
    const buf = randomBytes(len);
    buf.writeUInt32LE(len, 0);
    buf[4] = T_ERASED;
    buf.writeBigUInt64LE(BigInt(seq), 5);
    buf.writeBigInt64LE(0n, 13);
    buf.writeUInt16LE(0, 21);
    buf.writeUInt32LE(0, 23);
    buf.writeUInt32LE(crc32(buf.subarray(0, len - 4)), len - 4);
    try {
      writeFully(b.fd, buf, o & OFF_MASK);
    } catch (e) {
      throw ioError(`erase in ${b.path}`, e);
    }
    b.dirty = true;
    b.crcOk = false;
  }

  protected _persistSkip(last: number, lastTs: bigint): void {
    this.appendRaw(this.wb, this.controlRecord(T_MARK, last, lastTs));
    this.wb.markSeq = last;
    this.wb.markTs = lastTs;
  }

  private writeFloor(floor: number): void {
    this.appendRaw(this.wb, this.controlRecord(T_FLOOR, floor, this.lastTs));
    this.floor = floor;
    this.floorBlock = this.wb;
    this.wb.floorSeq = floor;
    this.wb.floorTs = this.lastTs;
  }
  /** index of the first block whose last slot is >= seq (blocks are in sequence order) */
  private firstBlockFrom(seq: number): number {
    const bl = this.blocks;
    let lo = 0;
    let hi = bl.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const b = bl[mid];
      if (b.count > 0 && b.base + b.count - 1 < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  protected _nextLive(from: number, to: number): number {
    if (from > to) return -1;
    const bl = this.blocks;
    for (let k = this.firstBlockFrom(from); k < bl.length; k++) {
      const b = bl[k];
      if (b.count === 0 || b.live === 0) continue;
      const end = b.base + b.count - 1;
      if (end < from) continue;
      if (b.base > to) return -1;
      const stop = Math.min(end, to);
      for (let s = Math.max(from, b.base); s <= stop; s++) if (b.offs[s - b.base] !== DELETED) return s;
    }
    return -1;
  }
  protected override _countLive(from: number, to: number): number {
    let n = 0;
    for (const b of this.blocks) {
      if (b.count === 0 || b.live === 0) continue;
      const end = b.base + b.count - 1;
      if (end < from || b.base > to) continue;
      if (b.base >= from && end <= to) {
        n += b.live;
        continue;
      }
      const stop = Math.min(end, to);
      for (let s = Math.max(from, b.base); s <= stop; s++) if (b.offs[s - b.base] !== DELETED) n++;
    }
    return n;
  }

  protected _prevLive(from: number, to: number): number {
    for (let k = this.blocks.length - 1; k >= 0; k--) {
      const b = this.blocks[k];
      if (b.count === 0 || b.live === 0) continue;
      if (b.base > from) continue;
      const end = b.base + b.count - 1;
      if (end < to) return -1;
      for (let s = Math.min(from, end); s >= Math.max(to, b.base); s--) if (b.offs[s - b.base] !== DELETED) return s;
    }
    return -1;
  }

  /**
   * Rewrites a sealed block with only its live records (plus its floor/mark records): written to a
   * temporary file, fsynced, renamed over the block; then its delete log goes. A crash at any point
   * leaves either the old block (with its delete log) or the new one (a stale delete log is harmless).
   */
  private compactBlock(b: Block): void {
    const old = Buffer.allocUnsafe(b.size);
    let got = 0;
    while (got < b.size) {
      const r = fs.readSync(b.fd, old, got, b.size - got, got);
      if (r <= 0) throw new Error('short read');
      got += r;
    }
    const parts: Buffer[] = [];
    if (b.floorSeq > 0) parts.push(this.controlRecord(T_FLOOR, b.floorSeq, b.floorTs));
    if (b.markSeq > 0) parts.push(this.controlRecord(T_MARK, b.markSeq, b.markTs));
    let pos = parts.reduce((n, x) => n + x.length, 0);
    const newOffs = new Uint32Array(b.offs.length);
    for (let i = 0; i < b.count; i++) {
      const o = b.offs[i];
      if (o === DELETED) {
        newOffs[i] = DELETED;
        continue;
      }
      const at = o & OFF_MASK;
      parts.push(old.subarray(at, at + b.lens[i]));
      newOffs[i] = (pos | (o & HAS_HDR)) >>> 0;
      pos += b.lens[i];
    }
    const body = Buffer.concat(parts, pos);
    const tmp = `${b.path}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o640);
    try {
      writeFully(fd, body, 0);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fs.renameSync(tmp, b.path);
    } catch (e) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already closed */
      }
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    fs.closeSync(b.fd);
    b.fd = fs.openSync(b.path, 'r+');
    if (b.dltFd >= 0) fs.closeSync(b.dltFd);
    b.dltFd = -1;
    b.dltSize = 0;
    fs.rmSync(b.path.replace(/\.blk$/, '.dlt'), { force: true });
    b.offs = newOffs;
    b.size = pos;
    b.lastRecOff = parts.length > 0 ? pos - parts[parts.length - 1].length : -1;
    b.crc = crc32(body);
    b.crcOk = true;
    b.dirty = false;
    this.writeIdx(b);
  }

  private removeBlock(b: Block): void {
    if (b === this.wb) return;
    // keep the floor durable: it lives in the block being removed
    if (this.floorBlock === b && this.floor > 0) this.writeFloor(this.floor);
    // the delete log first: an unlinked .blk with a stale .dlt is harmless, the reverse too
    try {
      fs.closeSync(b.fd);
    } catch {
      /* ignore */
    }
    if (b.dltFd >= 0)
      try {
        fs.closeSync(b.dltFd);
      } catch {
        /* ignore */
      }
    fs.rmSync(b.path, { force: true });
    fs.rmSync(b.path.replace(/\.blk$/, '.dlt'), { force: true });
    fs.rmSync(this.idxPath(b), { force: true });
    this.dirDirty = true;
    this.blocks.splice(this.blocks.indexOf(b), 1);
    if (this.lastHit === b) this.lastHit = undefined;
  }

  // ---------- durability ----------
  private syncBlock(b: Block): void {
    try {
      fs.fsyncSync(b.fd);
      if (b.dltFd >= 0) fs.fsyncSync(b.dltFd);
      if (this.dirDirty) this.syncNow();
    } catch (e) {
      throw ioError(`fsync ${b.path}`, e);
    }
    b.dirty = false;
  }

  private syncNow(): void {
    for (const b of this.blocks) {
      if (!b.dirty) continue;
      fs.fsyncSync(b.fd);
      if (b.dltFd >= 0) fs.fsyncSync(b.dltFd);
      b.dirty = false;
    }
    if (this.dirDirty) {
      // new and removed block files: their directory entries
      const fd = fs.openSync(this.msgsDir, 'r');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      this.dirDirty = false;
    }
  }

  async flush(): Promise<void> {
    this.checkOpen();
    try {
      this.syncNow();
    } catch (e) {
      throw ioError(`fsync ${this.msgsDir}`, e);
    }
  }

  private closeFds(): void {
    for (const b of this.blocks) {
      try {
        fs.closeSync(b.fd);
      } catch {
        /* ignore */
      }
      if (b.dltFd >= 0)
        try {
          fs.closeSync(b.dltFd);
        } catch {
          /* ignore */
        }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.stopTimers();
    if (this.syncTimer) clearInterval(this.syncTimer);
    this.syncTimer = undefined;
    try {
      this.syncNow();
    } catch (e) {
      this.warn(`jetstream store ${this.dir}: fsync on close failed: ${(e as Error).message}`);
    }
    this.writeIdx(this.wb);
    this.closeFds();
    this.closed = true;
  }

  /** closes and removes the whole stream directory (messages, meta.inf, consumers) */
  async destroy(): Promise<void> {
    if (!this.closed) {
      this.stopTimers();
      if (this.syncTimer) clearInterval(this.syncTimer);
      this.closeFds();
      this.closed = true;
    }
    await fs.promises.rm(this.dir, { recursive: true, force: true });
  }

  /** number of blocks on disk (tests, monitoring) */
  blockCount(): number {
    return this.blocks.length;
  }
}

/** Opens (creating or recovering) the file store of a stream directory (`.../streams/<name>`). */
export function openFileStreamStore(dir: string, limits: StoreLimits, opts?: FileStoreOptions): FileStore {
  return new FileStore(dir, limits, opts);
}
