// The chain's hashes and signing domains (consortia/crypto/hashing.py, ledger/types.py).

import { keccak_256, sha256, sm3 } from "chain-libs";
import { concat, fromHex, utf8 } from "./bytes.js";
import { encode } from "./codec.js";

const tag = (name) => utf8(`CONSORTIA/${name}/v1\u0000`);

/** Domain tags: signed and hashed data starts with one, so no signature replays as another type. */
export const DOMAIN = {
  TX: tag("TX"),
  BLOCK: tag("BLOCK"),
  VOTE: tag("VOTE"),
  TX_LEAF: tag("TXLEAF"),
};

/** SM3 (GB/T 32905-2016) of `bytes`. */
export const sm3Digest = (bytes) => fromHex(sm3(bytes));

/** The suite's 32-byte hash: SM3 on `sm` chains, SHA-256 on `intl` ones. */
export function suiteHash(suite) {
  if (suite === "sm") return sm3Digest;
  if (suite === "intl") return (bytes) => sha256(bytes);
  throw new Error(`unknown cryptographic suite ${suite}`);
}

/** Name of the suite's hash, for the page. */
export const hashName = (suite) => (suite === "sm" ? "SM3" : "SHA-256");

/** Keccak-256 (Ethereum's), for secp256k1 account addresses. */
export const keccak = (bytes) => keccak_256(bytes);

/** Block id: H(DOMAIN_BLOCK || encode(header)). */
export const blockId = (hash, headerArray) => hash(concat(DOMAIN.BLOCK, encode(headerArray)));

/** Transaction id: H(DOMAIN_TX || encode(body)). */
export const txId = (hash, bodyArray) => hash(concat(DOMAIN.TX, encode(bodyArray)));

/** Leaf of a transaction in `tx_root`: H(DOMAIN_TX_LEAF || encode(tx)) (signature included). */
export const txLeaf = (hash, txArray) => hash(concat(DOMAIN.TX_LEAF, encode(txArray)));
