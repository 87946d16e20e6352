// Deterministic content for the crash test: any message found after recovery can be verified.
export function subjectFor(seq: number): string {
  return `crash.${seq % 7}`;
}
export function payloadFor(seq: number): Buffer {
  const len = (seq * 7919) % 700;
  const b = Buffer.alloc(len + 8);
  b.writeDoubleLE(seq, 0);
  for (let i = 0; i < len; i++) b[8 + i] = (seq + i) & 0xff;
  return b;
}
