// Binary Merkle trees of RFC 6962 §2.1 (the block's tx_root and receipts_root),
// mirroring consortia/ledger/merkle.py: leaf H(0x00 || leaf), node H(0x01 || l || r),
// split at the largest power of two below n; inclusion checked with RFC 9162 §2.1.3.2.

import { concat, equal } from "./bytes.js";

const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);

const leafHash = (hash, leaf) => hash(concat(LEAF, leaf));
const nodeHash = (hash, left, right) => hash(concat(NODE, left, right));

function rootOfHashes(hash, nodes) {
  while (nodes.length > 1) {
    const paired = [];
    for (let i = 0; i + 1 < nodes.length; i += 2) paired.push(nodeHash(hash, nodes[i], nodes[i + 1]));
    if (nodes.length % 2) paired.push(nodes[nodes.length - 1]);
    nodes = paired;
  }
  return nodes[0];
}

/** Root over `leaves` (the empty tree's root is H("")). */
export function merkleRoot(hash, leaves) {
  if (!leaves.length) return hash(new Uint8Array(0));
  return rootOfHashes(hash, leaves.map((leaf) => leafHash(hash, leaf)));
}

/** Audit path of `leaves[index]`: the sibling hashes, bottom-up. */
export function auditPath(hash, leaves, index) {
  const hashes = leaves.map((leaf) => leafHash(hash, leaf));
  const path = [];
  let lo = 0;
  let hi = hashes.length;
  while (hi - lo > 1) {
    const k = 1 << (31 - Math.clz32(hi - lo - 1)); // largest power of two below the width
    path.push([lo, hi, k]);
    if (index - lo < k) hi = lo + k;
    else lo += k;
  }
  return path.reverse().map(([l, h, k]) =>
    index - l < k ? rootOfHashes(hash, hashes.slice(l + k, h)) : rootOfHashes(hash, hashes.slice(l, l + k)),
  );
}

/** The root that `leaf` at `index` of `size` leaves and its audit path lead to, or null. */
export function rootFromPath(hash, leaf, index, size, siblings) {
  if (index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let digest = leafHash(hash, leaf);
  for (const sibling of siblings) {
    if (sn === 0) return null;
    if (fn & 1 || fn === sn) {
      digest = nodeHash(hash, sibling, digest);
      if (!(fn & 1)) {
        while ((fn & 1) === 0 && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      digest = nodeHash(hash, digest, sibling);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 ? digest : null;
}

/** Whether `leaf` is at `index` of a `size`-leaf tree with `root`. */
export const verifyInclusion = (hash, root, leaf, index, size, siblings) =>
  equal(rootFromPath(hash, leaf, index, size, siblings), root);
