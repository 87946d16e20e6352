// A small DER tree for structure-aware mutations of OCSP responses: decode a TLV tree (looking
// inside OCTET STRINGs and BIT STRINGs that hold DER, as the OCSP envelope does), change it, and
// encode it again with correct lengths, or with a deliberately wrong length field on one node.

export interface DerNode {
  /** Identifier octets (tag). */
  id: Buffer;
  /** Content octets of a primitive node. */
  content?: Buffer;
  /** Children of a constructed node, or of a primitive string that wraps DER (`encap`). */
  children?: DerNode[];
  /** The children sit inside a primitive OCTET STRING, or a BIT STRING after its unused-bits byte. */
  encap?: 'octet' | 'bit';
  /** Length octets written instead of the correct ones. */
  lenOverride?: Buffer;
}

interface Parsed {
  node: DerNode;
  next: number;
}

function parseTlv(buf: Buffer, off: number, end: number, depth: number): Parsed | null {
  if (off >= end || depth > 32) return null;
  let p = off + 1;
  if ((buf[off]! & 0x1f) === 0x1f) {
    while (p < end && buf[p]! & 0x80) p++;
    p++;
  }
  if (p >= end) return null;
  const id = buf.subarray(off, p);
  const l0 = buf[p++]!;
  let len: number;
  if (l0 < 0x80) len = l0;
  else {
    const n = l0 & 0x7f;
    if (n === 0 || n > 4 || p + n > end) return null;
    len = 0;
    for (let k = 0; k < n; k++) len = len * 256 + buf[p++]!;
  }
  if (p + len > end) return null;
  const content = buf.subarray(p, p + len);
  const next = p + len;
  if (id[0]! & 0x20) {
    const children = parseAll(content, depth + 1);
    return children ? { node: { id, children }, next } : null;
  }
  // Primitive strings that hold exactly one DER SEQUENCE: keep their inside as a tree.
  if (id.length === 1 && id[0] === 0x04 && content[0] === 0x30) {
    const children = parseAll(content, depth + 1);
    if (children && children.length === 1) return { node: { id, children, encap: 'octet' }, next };
  }
  if (id.length === 1 && id[0] === 0x03 && content[0] === 0x00 && content[1] === 0x30) {
    const children = parseAll(content.subarray(1), depth + 1);
    if (children && children.length === 1) return { node: { id, children, encap: 'bit' }, next };
  }
  return { node: { id, content }, next };
}

function parseAll(buf: Buffer, depth: number): DerNode[] | null {
  const out: DerNode[] = [];
  let off = 0;
  while (off < buf.length) {
    const r = parseTlv(buf, off, buf.length, depth);
    if (!r) return null;
    out.push(r.node);
    off = r.next;
  }
  return out;
}

/** Decodes one DER TLV spanning all of `buf`, or null. */
export function decodeDer(buf: Buffer): DerNode | null {
  const r = parseTlv(buf, 0, buf.length, 0);
  return r && r.next === buf.length ? r.node : null;
}

/** Minimal DER length octets. */
export function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function contentOf(node: DerNode): Buffer {
  if (!node.children) return node.content ?? Buffer.alloc(0);
  const parts = node.children.map(encodeDer);
  if (node.encap === 'bit') parts.unshift(Buffer.from([0]));
  return Buffer.concat(parts);
}

export function encodeDer(node: DerNode): Buffer {
  const content = contentOf(node);
  return Buffer.concat([node.id, node.lenOverride ?? derLength(content.length), content]);
}

export function cloneDer(node: DerNode): DerNode {
  return { ...node, children: node.children?.map(cloneDer) };
}

export interface Located {
  node: DerNode;
  parent: DerNode | null;
  index: number;
  /** Child indexes from the root, e.g. `1.0.1.0.0` (stable across responses of the same shape). */
  path: string;
}

/** Every node of the tree, depth first. */
export function walk(root: DerNode): Located[] {
  const out: Located[] = [];
  const visit = (node: DerNode, parent: DerNode | null, index: number, path: string): void => {
    out.push({ node, parent, index, path });
    node.children?.forEach((c, i) => visit(c, node, i, path ? `${path}.${i}` : String(i)));
  };
  visit(root, null, 0, '');
  return out;
}
