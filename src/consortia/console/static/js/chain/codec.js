// Canonical MessagePack in the browser (docs/spec/encoding.md [ENC-CANON.1]) and
// the chain's structures as named views of their arrays.
//
// A Canonical struct is a MessagePack array of its fields in declaration order;
// these field lists mirror consortia/ledger/types.py and consortia/genesis.py.
// Integers of 2^32 and above are decoded as BigInt (uint64 form) and re-encoded
// in the same form, so decode -> encode gives back the node's exact bytes.

import { Decoder, Encoder } from "chain-libs";
import { equal } from "./bytes.js";

const encoder = new Encoder({ useBigInt64: true });
const decoder = new Decoder({ useBigInt64: true });

/** Canonical bytes of plain data (arrays, Uint8Array, strings, integers, null). */
export function encode(value) {
  return encoder.encode(value);
}

/** Decode `bytes`, refusing trailing bytes and anything that does not re-encode to itself. */
export function decodeCanonical(bytes) {
  const value = decoder.decode(bytes);
  if (!equal(encode(value), bytes)) throw new Error("the bytes are not in canonical form");
  return value;
}

const FIELDS = {
  TxBody: ["chain_id", "sender", "nonce", "module", "method", "args", "gas_limit", "expiry_height"],
  Transaction: ["body", "key_type", "public_key", "signature"],
  QuorumCert: ["epoch", "round", "height", "block_id", "signers", "signatures"],
  VoteData: ["chain_id", "epoch", "round", "height", "block_id"],
  ValidatorInfo: ["name", "organisation", "address", "key_type", "public_key", "weight", "endpoint"],
  ValidatorSet: ["epoch", "validators"],
  BlockHeader: [
    "chain_id", "epoch", "round", "height", "parent_id", "proposer", "timestamp_ms", "tx_root",
    "tx_count", "state_height", "state_root", "receipts_root", "justify", "next_validators",
  ],
  Block: ["header", "transactions", "signature"],
  CommitProof: ["headers", "qc"],
  EpochStart: ["epoch", "validators", "root_height", "root_id", "proof"],
  Genesis: [
    "chain_id", "suite", "timestamp_ms", "policy", "validators", "accounts", "governance", "modules",
    "applications",
  ],
  StateProof: ["depth", "bitmap", "siblings", "leaf_key_hash", "leaf_value_hash"],
};

/** The fields of a struct `type` as an object; `array` is kept as `raw` for re-encoding. */
function view(type, array) {
  const fields = FIELDS[type];
  if (!Array.isArray(array) || array.length !== fields.length) {
    throw new Error(`a ${type} is an array of ${fields.length} fields`);
  }
  const out = { raw: array };
  fields.forEach((name, i) => (out[name] = array[i]));
  return out;
}

/** The array of a struct `type` from an object with its field names. */
export function struct(type, values) {
  return FIELDS[type].map((name) => {
    if (!(name in values)) throw new Error(`${type}.${name} is missing`);
    return values[name];
  });
}

export const asValidatorSet = (a) => {
  const set = view("ValidatorSet", a);
  set.validators = set.validators.map((v) => view("ValidatorInfo", v));
  return set;
};

export const asQc = (a) => view("QuorumCert", a);

export function asHeader(a) {
  const header = view("BlockHeader", a);
  header.justify = asQc(header.justify);
  if (header.next_validators !== null) header.next_validators = asValidatorSet(header.next_validators);
  return header;
}

export function asTransaction(a) {
  const tx = view("Transaction", a);
  tx.body = view("TxBody", tx.body);
  return tx;
}

export function asBlock(a) {
  const block = view("Block", a);
  block.header = asHeader(block.header);
  block.transactions = block.transactions.map(asTransaction);
  return block;
}

export function asEpochStart(a) {
  const start = view("EpochStart", a);
  start.validators = asValidatorSet(start.validators);
  if (start.proof !== null) {
    start.proof = view("CommitProof", start.proof);
    start.proof.headers = start.proof.headers.map(asHeader);
    start.proof.qc = asQc(start.proof.qc);
  }
  return start;
}

export function asGenesis(a) {
  const genesis = view("Genesis", a);
  genesis.validators = asValidatorSet(genesis.validators);
  return genesis;
}

export const asStateProof = (a) => view("StateProof", a);

/** An integer field as a Number (they stay below 2^53 in practice) for display and arithmetic. */
export const num = (value) => Number(value);

/**
 * An unsigned 64-bit integer ready to encode in its shortest form: a Number below
 * 2^32 (fixint, uint8/16/32), else a BigInt (uint64) — the encoder would write a
 * larger Number as a float, which the chain's encoding never contains.
 */
export function u64(value) {
  const big = BigInt(value);
  if (big < 0n || big > 0xffffffffffffffffn) throw new Error(`${value} is not an unsigned 64-bit integer`);
  return big < 0x100000000n ? Number(big) : big;
}
