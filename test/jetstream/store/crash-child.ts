// Child process for the crash test: appends (and sometimes deletes) in a FileStore and reports each
// completed operation on stdout (synchronously) until it is killed.
import { writeSync } from 'node:fs';
import { FileStore, UNLIMITED } from '../../../src/jetstream/store/index.js';
import { payloadFor, subjectFor } from './crash-data.js';

const dir = process.argv[2];
const blockSize = Number(process.argv[3] ?? 64 * 1024);
// small compaction threshold so that kills also land during block compaction
const s = new FileStore(dir, { ...UNLIMITED }, { blockSize, syncIntervalMs: 0, compactMinBytes: 4096 });
let out = '';
const report = (line: string) => {
  out += line + '\n';
  if (out.length > 512) {
    writeSync(1, out);
    out = '';
  }
};
writeSync(1, `R ${s.state().lastSeq}\n`);
for (;;) {
  const seq = s.state().lastSeq + 1;
  const got = s.store(subjectFor(seq), seq % 3 === 0 ? Buffer.from(`NATS/1.0\r\nN: ${seq}\r\n\r\n`) : null, payloadFor(seq));
  if (got.seq !== seq) throw new Error(`expected seq ${seq}, got ${got.seq}`);
  // report synchronously after the store returned: everything reported must survive
  writeSync(1, `S ${seq}\n`);
  if (seq % 10 === 0 && s.remove(seq - 5)) writeSync(1, `D ${seq - 5}\n`);
  if (seq % 97 === 0) {
    const n = s.purge({ subject: subjectFor(seq), seq: seq - 50 });
    writeSync(1, `P ${subjectFor(seq)} ${seq - 50} ${n}\n`);
  }
  void report;
}
