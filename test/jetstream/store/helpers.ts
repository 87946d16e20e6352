import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, MemoryStore, UNLIMITED, type MsgStore, type StoreLimits } from '../../../src/jetstream/store/index.js';

export interface Kind {
  name: 'memory' | 'file';
  open(limits?: Partial<StoreLimits>): MsgStore;
  /** file only: close and reopen the same store (recovery) */
  reopen?(s: MsgStore, limits?: Partial<StoreLimits>): Promise<MsgStore>;
  cleanup(): void;
}

export function tempDir(prefix = 'tsnats-store-'): string {
  return fs.mkdtempSync(join(tmpdir(), prefix));
}

export function kinds(): Kind[] {
  const dirs: string[] = [];
  return [
    {
      name: 'memory',
      open: (l = {}) => new MemoryStore({ ...UNLIMITED, ...l }),
      cleanup: () => {},
    },
    {
      name: 'file',
      open: (l = {}) => {
        const d = tempDir();
        dirs.push(d);
        // small blocks so that tests cross block boundaries
        return new FileStore(d, { ...UNLIMITED, ...l }, { blockSize: 512, syncIntervalMs: 0, compactMinBytes: 256 });
      },
      reopen: async (s, l = {}) => {
        const fsx = s as FileStore;
        await fsx.close();
        return new FileStore(fsx.dir, { ...UNLIMITED, ...l }, { blockSize: 512, syncIntervalMs: 0, compactMinBytes: 256 });
      },
      cleanup: () => {
        for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
      },
    },
  ];
}

export const b = (s: string): Buffer => Buffer.from(s);
