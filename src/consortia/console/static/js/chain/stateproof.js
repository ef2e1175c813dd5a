// State proofs of the binary sparse Merkle tree (Diem's Jellyfish Merkle Tree,
// Gao et al. 2021 §4.2), mirroring consortia/state/_proof.py: the path from the
// root toward H(key), ending at a leaf H(0x00 || key_hash || value_hash) or an
// empty subtree (32 zero bytes); a bitmap marks the levels with a real sibling.

import { concat, equal } from "./bytes.js";
import { asStateProof, decodeCanonical } from "./codec.js";

const SIZE = 32;
const PLACEHOLDER = new Uint8Array(SIZE);

function sharesPrefix(a, b, bits) {
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> i % 8;
    if ((a[i >> 3] & mask) !== (b[i >> 3] & mask)) return false;
  }
  return true;
}

function bit(bytes, i) {
  return (bytes[i >> 3] >> (7 - (i % 8))) & 1;
}

/** Decode a proof (hex of `StateProof.to_bytes()`); throws when malformed. */
export function parseStateProof(bytes) {
  const p = asStateProof(decodeCanonical(bytes));
  const depth = Number(p.depth);
  if (!(depth >= 0 && depth <= 256)) throw new Error("proof depth out of range");
  if (p.bitmap.length !== Math.ceil(depth / 8)) throw new Error("bitmap length does not match depth");
  let count = 0;
  for (let i = 0; i < depth; i++) count += bit(p.bitmap, i);
  if (p.siblings.length !== SIZE * count) throw new Error("sibling count does not match bitmap");
  if ((p.leaf_key_hash === null) !== (p.leaf_value_hash === null)) throw new Error("half a leaf");
  return { ...p, depth };
}

/**
 * Recompute the root from `key -> value` (value null: absence) and the proof,
 * returning {root, steps}: one step per level, leaf first, for the page to show.
 */
export function stateRootFromProof(hash, key, value, proof) {
  const keyHash = hash(key);
  const steps = [];
  let node;
  if (value !== null) {
    if (!equal(proof.leaf_key_hash, keyHash) || !equal(proof.leaf_value_hash, hash(value))) {
      return { root: null, steps, reason: "the proof's leaf is not this key and value" };
    }
    node = hash(concat(Uint8Array.of(0), keyHash, proof.leaf_value_hash));
  } else if (proof.leaf_key_hash === null) {
    node = PLACEHOLDER;
  } else {
    if (equal(proof.leaf_key_hash, keyHash) || !sharesPrefix(proof.leaf_key_hash, keyHash, proof.depth)) {
      return { root: null, steps, reason: "the proof's leaf does not exclude this key" };
    }
    node = hash(concat(Uint8Array.of(0), proof.leaf_key_hash, proof.leaf_value_hash));
  }
  steps.push({ level: proof.depth, hash: node });
  let end = proof.siblings.length;
  for (let level = proof.depth - 1; level >= 0; level--) {
    let sibling = PLACEHOLDER;
    if (bit(proof.bitmap, level)) {
      sibling = proof.siblings.subarray(end - SIZE, end);
      end -= SIZE;
    }
    node = bit(keyHash, level)
      ? hash(concat(Uint8Array.of(1), sibling, node))
      : hash(concat(Uint8Array.of(1), node, sibling));
    steps.push({ level, hash: node });
  }
  return { root: node, steps, reason: null };
}
