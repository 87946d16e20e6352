// Disk cache of staples, in nats-server's layout so a store_dir can move between the two servers:
// `<storeDir>/ocsp/<lowercase hex SHA-256 of the leaf DER>` holds the raw DER OCSPResponse.
// The directory is created 0700; files are written atomically (temp file in the same directory,
// write, fsync, rename, fsync directory) with mode 0600. The store never decides whether a file is
// good: the stapler re-validates everything it reads.

import { promises as fsp, constants as fsc } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { OcspStoreError } from './errors.js';

/** Largest cache file read back (a valid OCSP response is a few KiB). */
export const MAX_STORED_RESPONSE_BYTES = 1024 * 1024;
const TEMP_PREFIX = 'tmp-cert-status';
const STALE_TEMP_FILE_MS = 60_000;

export class StapleStore {
  /** `<storeDir>/ocsp` */
  readonly dir: string;

  constructor(storeDir: string) {
    this.dir = join(storeDir, 'ocsp');
  }

  /**
   * Creates the directory (0700) if needed. Errors as nats-server:
   * `could not create OCSP storage directory - <err>`, `OCSP storage directory is not a directory`.
   */
  async init(): Promise<void> {
    try {
      await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      // A recursive mkdir reports ENOENT on a read-only file system even when the parent exists;
      // a plain mkdir names the real cause (EROFS, EACCES...).
      const cause = (err as NodeJS.ErrnoException).code === 'ENOENT' ? await fsp.mkdir(this.dir, { mode: 0o700 }).then(() => undefined, (e: unknown) => e) : err;
      if (cause && (cause as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new OcspStoreError('ERR_OCSP_STORE_DIR', `could not create OCSP storage directory - ${(cause as Error).message}`, {
          cause,
        });
      }
    }
    const st = await fsp.stat(this.dir).catch((err: unknown) => {
      throw new OcspStoreError('ERR_OCSP_STORE_DIR', `could not create OCSP storage directory - ${(err as Error).message}`, {
        cause: err,
      });
    });
    if (!st.isDirectory()) throw new OcspStoreError('ERR_OCSP_STORE_DIR', 'OCSP storage directory is not a directory');
    await this.removeStaleTempFiles();
  }

  /**
   * A writer killed between open() and rename() leaves a temp file behind. Remove those older than
   * a minute (a younger one may belong to another process writing right now). Best effort.
   */
  private async removeStaleTempFiles(): Promise<void> {
    const names = await fsp.readdir(this.dir).catch(() => [] as string[]);
    const cutoff = Date.now() - STALE_TEMP_FILE_MS;
    for (const name of names) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const path = join(this.dir, name);
      const st = await fsp.lstat(path).catch(() => undefined);
      if (st?.isFile() && st.mtimeMs < cutoff) await fsp.rm(path, { force: true }).catch(() => undefined);
    }
  }

  /** Path of the cache file for a leaf certificate (by its SHA-256 hex). */
  pathFor(sha256Hex: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256Hex)) throw new OcspStoreError('ERR_OCSP_STORE_WRITE', `bad certificate hash ${sha256Hex}`);
    return join(this.dir, sha256Hex);
  }

  /**
   * Reads the cached response, or undefined if there is none. Throws (an Error with the reason) if
   * the file exists but cannot be read or is implausibly large.
   */
  async read(sha256Hex: string): Promise<Buffer | undefined> {
    const path = this.pathFor(sha256Hex);
    let fh: fsp.FileHandle;
    try {
      // O_NONBLOCK: a FIFO planted where the file should be must not block start-up (it is refused below).
      fh = await fsp.open(path, fsc.O_RDONLY | (fsc.O_NOFOLLOW ?? 0) | (fsc.O_NONBLOCK ?? 0));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new Error('not a regular file');
      if (st.size > MAX_STORED_RESPONSE_BYTES) throw new Error(`file of ${st.size} bytes is too large`);
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  }

  /** Atomically replaces the cached response. Throws OcspStoreError on failure (temp file removed). */
  async write(sha256Hex: string, der: Uint8Array): Promise<void> {
    const final = this.pathFor(sha256Hex);
    const tmp = join(this.dir, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}`);
    let fh: fsp.FileHandle | undefined;
    try {
      fh = await fsp.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
      await fh.writeFile(der);
      await fh.sync();
      await fh.close();
      fh = undefined;
      await fsp.rename(tmp, final);
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw new OcspStoreError('ERR_OCSP_STORE_WRITE', `failed to write ocsp status: ${(err as Error).message}`, { cause: err });
    }
    // Make the rename durable. Some platforms cannot fsync a directory; that is not an error.
    try {
      const dh = await fsp.open(this.dir, fsc.O_RDONLY);
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    } catch {
      // ignore
    }
  }
}
