// Which validators to trust, and whether a certificate carries their quorum,
// checked in the browser as consortia/consensus/validators.py and the offline
// verifier do it:
//   * epoch 0's set is the genesis file's (its hash is the fingerprint the
//     members agreed at the ceremony);
//   * epoch e > 0's set is trusted only through the commit proof, under epoch
//     e - 1's set, of the block that ended epoch e - 1 and named it ([CONS-EPOCH.2]);
//   * a quorum certificate holds when validators with weight W - f, f = floor((W - 1) / 3),
//     signed DOMAIN_VOTE || encode(VoteData) for its block ([CONS-VOTE.1]).

import { concat, equal, fromHex } from "./bytes.js";
import {
  asBlock,
  asEpochStart,
  asGenesis,
  decodeCanonical,
  encode,
  num,
  struct,
} from "./codec.js";
import { DOMAIN, blockId, suiteHash } from "./digest.js";
import { verifySignature } from "./signatures.js";

/** The weight a certificate needs out of `total`: W - f with f = floor((W - 1) / 3). */
export const quorumOf = (total) => total - Math.floor((total - 1) / 3);

/** Total weight and quorum of a validator set. */
export function quorumWeight(set) {
  const total = set.validators.reduce((sum, v) => sum + num(v.weight), 0);
  return { total, quorum: quorumOf(total) };
}

/**
 * Check `qc` against `set`: each signer's signature over the vote bytes, and the
 * weight. Returns {ok, weight, total, quorum, signers: [{index, validator, ok}], reason}.
 */
export function checkQc(chainId, set, qc) {
  const { total, quorum } = quorumWeight(set);
  const result = { ok: false, weight: 0, total, quorum, signers: [], reason: null };
  if (num(qc.epoch) !== num(set.epoch)) {
    result.reason = `certificate of epoch ${qc.epoch} checked against the set of epoch ${set.epoch}`;
    return result;
  }
  if (qc.signers.length !== qc.signatures.length) {
    result.reason = "signer and signature counts differ";
    return result;
  }
  const vote = concat(
    DOMAIN.VOTE,
    encode(struct("VoteData", { chain_id: chainId, ...pick(qc, "epoch", "round", "height", "block_id") })),
  );
  let previous = -1;
  qc.signers.forEach((index, i) => {
    const validator = set.validators[num(index)];
    const ascending = num(index) > previous;
    previous = num(index);
    const ok =
      ascending && validator !== undefined && verifySignature(validator.key_type, validator.public_key, vote, qc.signatures[i]);
    result.signers.push({ index: num(index), validator, ok });
    if (ok) result.weight += num(validator.weight);
  });
  const allValid = result.signers.every((s) => s.ok);
  result.ok = allValid && result.weight >= quorum;
  if (!allValid) result.reason = "a signature does not verify";
  else if (!result.ok) result.reason = `weight ${result.weight} is below the quorum ${quorum}`;
  return result;
}

const pick = (object, ...names) => Object.fromEntries(names.map((n) => [n, object[n]]));

/** The trust anchor and validator sets of the chain a node serves, loaded as needed. */
export class Trust {
  /** @param getJson the API reader (path -> JSON) */
  constructor(getJson) {
    this.getJson = getJson;
    this.sets = new Map();
  }

  /** Read and decode the genesis: {chainId, suite, hash, fingerprint}. */
  async anchor() {
    if (!this.genesis) {
      const raw = fromHex((await this.getJson("v1/genesis/raw")).genesis);
      const genesis = asGenesis(decodeCanonical(raw));
      const hash = suiteHash(genesis.suite);
      this.genesis = { chainId: genesis.chain_id, suite: genesis.suite, hash, fingerprint: hash(raw) };
      this.sets.set(0, { set: genesis.validators, origin: { kind: "genesis" } });
    }
    return this.genesis;
  }

  /**
   * The validator set of `epoch`, each later epoch proven from the one before.
   * Returns {set, origin}; origin.kind is "genesis" or "commit-proof" (with the
   * ending block's height and the certificate check). Throws when a link fails.
   */
  async validatorSet(epoch) {
    const { chainId, hash } = await this.anchor();
    for (let e = 1; e <= epoch; e++) {
      if (this.sets.has(e)) continue;
      const previous = this.sets.get(e - 1).set;
      const start = asEpochStart(decodeCanonical(fromHex((await this.getJson(`v1/epochs/${e}`)).raw)));
      const ending = asBlock(decodeCanonical(fromHex((await this.getJson(`v1/blocks/${num(start.root_height)}/raw`)).block)));
      if (!equal(blockId(hash, ending.header.raw), start.root_id)) throw new Error(`epoch ${e}: root block id mismatch`);
      const named = ending.header.next_validators;
      if (named === null || !equal(encode(named.raw), encode(start.validators.raw))) {
        throw new Error(`epoch ${e}: the ending block does not name this set`);
      }
      const qc = checkCommitProof(chainId, hash, previous, start.root_id, start.proof);
      this.sets.set(e, { set: start.validators, origin: { kind: "commit-proof", height: num(start.root_height), qc } });
    }
    return this.sets.get(epoch);
  }
}

/** Check a commit proof of block `id` under `set` ([CONS-COMMIT.1]); returns the final QC check. */
function checkCommitProof(chainId, hash, set, id, proof) {
  if (proof === null || proof.headers.length === 0) throw new Error("no commit proof");
  let parent = id;
  for (const header of proof.headers) {
    if (!equal(header.parent_id, parent) || num(header.epoch) !== num(set.epoch)) {
      throw new Error("commit proof headers do not chain from the block");
    }
    parent = blockId(hash, header.raw);
  }
  const last = proof.headers[proof.headers.length - 1];
  if (!equal(proof.qc.block_id, parent) || num(proof.qc.height) !== num(last.height)) {
    throw new Error("commit proof certificate does not certify its last header");
  }
  if (num(last.round) !== num(last.justify.round) + 1 || num(last.justify.round) === 0) {
    throw new Error("commit proof does not end in two consecutive rounds");
  }
  const checks = [last.justify, proof.qc].map((qc) => checkQc(chainId, set, qc));
  const failed = checks.find((check) => !check.ok);
  if (failed) throw new Error(`commit proof certificate: ${failed.reason}`);
  return checks[1];
}
