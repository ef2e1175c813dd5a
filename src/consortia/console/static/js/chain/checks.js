// The checks of the proofs page: each proof is re-derived in the browser from the
// node's raw bytes, step by step, so a reader sees what is checked and why it
// holds ("why you can trust it"). A step records its outcome and the values it
// compared; the first failing step ends the run, since later ones would build on
// something already shown false. `tamper` changes one bit of what the node sent
// before checking, to show that the checks catch it.
//
// The rules are the verifier's (consortia/verify, docs/spec): block id
// H(DOMAIN_BLOCK || header), tx_root over H(DOMAIN_TX_LEAF || tx) leaves (RFC 6962),
// state proofs of the sparse Merkle tree, quorum certificates of W - f weight.

import { concat, equal, flipBit, fromHex, toHex, utf8 } from "./bytes.js";
import { asBlock, asQc, decodeCanonical, encode, num } from "./codec.js";
import { DOMAIN, blockId, hashName, txId, txLeaf } from "./digest.js";
import { auditPath, merkleRoot, rootFromPath } from "./merkle.js";
import { verifySignature } from "./signatures.js";
import { parseStateProof, stateRootFromProof } from "./stateproof.js";
import { checkQc } from "./trust.js";

class Stop extends Error {}

/** The steps of one run: {id, ok, params, rows, signers?}; `ok: null` marks a step not applicable. */
class Run {
  constructor() {
    this.steps = [];
  }

  step(id, ok, params = {}, rows = [], extra = {}) {
    this.steps.push({ id, ok, params, rows, ...extra });
    if (ok === false) throw new Stop();
  }
}

const hex = (bytes) => toHex(bytes);

function indexOfBytes(haystack, needle, from = 0) {
  outer: for (let i = from; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** `raw` with one bit flipped inside the first occurrence of `inside` (a field's bytes). */
function tamperWithin(raw, inside) {
  const at = indexOfBytes(raw, inside);
  return flipBit(raw, (at < 0 ? raw.length : at + inside.length) - 1);
}

async function anchorStep(run, trust) {
  const anchor = await trust.anchor();
  run.step("anchor", true, { chain: anchor.chainId, hash: hashName(anchor.suite) }, [
    ["chain", anchor.chainId],
    ["suite", anchor.suite],
    ["fingerprint", hex(anchor.fingerprint)],
  ]);
  return anchor;
}

function decodeBlockStep(run, raw) {
  let block;
  try {
    block = asBlock(decodeCanonical(raw));
  } catch (error) {
    run.step("decode", false, { reason: error.message });
  }
  run.step("decode", true, { bytes: raw.length, txs: block.transactions.length }, [
    ["height", String(num(block.header.height))],
    ["epoch", String(num(block.header.epoch))],
  ]);
  return block;
}

/** Block id, tx_root, validator set, proposer signature and certificate of a decoded block. */
async function certifyBlock(run, trust, anchor, block, certificateHex, { checkTxRoot = true } = {}) {
  const { hash, chainId } = anchor;
  const header = block.header;
  const id = blockId(hash, header.raw);
  run.step("block_id", true, { hash: hashName(anchor.suite) }, [["block_id", hex(id)]]);

  if (checkTxRoot) {
    const root = merkleRoot(hash, block.transactions.map((tx) => txLeaf(hash, tx.raw)));
    run.step("tx_root", equal(root, header.tx_root), { count: block.transactions.length }, [
      ["computed", hex(root)],
      ["header", hex(header.tx_root)],
    ]);
  }

  const epoch = num(header.epoch);
  let trusted;
  try {
    trusted = await trust.validatorSet(epoch);
  } catch (error) {
    run.step("validators", false, { epoch, reason: error.message });
  }
  const origin = trusted.origin;
  run.step(
    origin.kind === "genesis" ? "validators_genesis" : "validators_epoch",
    true,
    { epoch, count: trusted.set.validators.length, height: origin.height ?? 0, weight: origin.qc?.weight ?? 0 },
    trusted.set.validators.map((v) => [`validator`, `${v.name} · ${v.organisation} · ${num(v.weight)}`]),
  );

  if (num(header.height) > 0) {
    const proposer = trusted.set.validators[num(header.proposer)];
    const signed =
      proposer !== undefined &&
      verifySignature(proposer.key_type, proposer.public_key, concat(DOMAIN.BLOCK, id), block.signature);
    run.step("proposer", signed, { name: proposer?.name ?? `#${num(header.proposer)}`, key: proposer?.key_type ?? "" });
  }

  if (certificateHex === null) {
    run.step("qc_missing", false);
  }
  let qc;
  try {
    qc = asQc(decodeCanonical(fromHex(certificateHex)));
  } catch (error) {
    run.step("qc_decode", false, { reason: error.message });
  }
  const names = equal(qc.block_id, id) && num(qc.height) === num(header.height);
  run.step("qc_names", names, {}, [
    ["qc_block", hex(qc.block_id)],
    ["block_id", hex(id)],
  ]);
  const check = checkQc(chainId, trusted.set, qc);
  run.step(
    "qc",
    check.ok,
    { weight: check.weight, total: check.total, quorum: check.quorum, signed: check.signers.length },
    [],
    { signers: check.signers },
  );
  return id;
}

async function rawBlock(getJson, height) {
  const body = await getJson(`v1/blocks/${height}/raw`);
  return { raw: fromHex(body.block), certificate: body.certificate };
}

/** Check block `height`: decoding, id, tx_root, validator set, proposer, certificate. */
export async function checkBlock({ trust, getJson, height, tamper = false }) {
  const run = new Run();
  try {
    const anchor = await anchorStep(run, trust);
    let { raw, certificate } = await rawBlock(getJson, height);
    if (tamper) raw = tamperWithin(raw, asBlock(decodeCanonical(raw)).header.state_root);
    const block = decodeBlockStep(run, raw);
    await certifyBlock(run, trust, anchor, block, certificate);
  } catch (error) {
    if (!(error instanceof Stop)) throw error;
  }
  return run.steps;
}

/** Check transaction `id`: its id and signature, its audit path to tx_root, and the block's certificate. */
export async function checkTransaction({ trust, getJson, id, tamper = false }) {
  const run = new Run();
  try {
    const anchor = await anchorStep(run, trust);
    const { hash } = anchor;
    const record = await getJson(`v1/transactions/${id}`);
    run.step("tx_located", record.status === "committed", { height: record.height ?? 0, index: record.index ?? 0 });
    let { raw, certificate } = await rawBlock(getJson, record.height);
    if (tamper) {
      const body = asBlock(decodeCanonical(raw)).transactions[record.index].body;
      raw = tamperWithin(raw, body.args.length ? body.args : body.sender);
    }
    const block = decodeBlockStep(run, raw);
    const tx = block.transactions[record.index];
    if (tx === undefined) run.step("tx_id", false, {}, [["wanted", id]]);
    const computed = txId(hash, tx.body.raw);
    run.step("tx_id", equal(computed, fromHex(id)), {}, [
      ["computed", hex(computed)],
      ["wanted", id],
    ]);
    if (tx.key_type === "eth") {
      run.step("tx_signature_eth", null);
    } else {
      const signed = verifySignature(tx.key_type, tx.public_key, concat(DOMAIN.TX, encode(tx.body.raw)), tx.signature);
      run.step("tx_signature", signed, { key: tx.key_type }, [["public_key", hex(tx.public_key)]]);
    }
    const leaves = block.transactions.map((t) => txLeaf(hash, t.raw));
    const path = auditPath(hash, leaves, record.index);
    const root = rootFromPath(hash, leaves[record.index], record.index, leaves.length, path);
    run.step(
      "tx_path",
      root !== null && equal(root, block.header.tx_root),
      { index: record.index, size: leaves.length, steps: path.length },
      [...path.map((s, i) => [`sibling`, `${i + 1}: ${hex(s)}`]), ["computed", root ? hex(root) : "—"], ["header", hex(block.header.tx_root)]],
    );
    await certifyBlock(run, trust, anchor, block, certificate, { checkTxRoot: false });
  } catch (error) {
    if (!(error instanceof Stop)) throw error;
  }
  return run.steps;
}

/** The state key of `address`'s balance of asset `symbol` (modules/assets/types.py). */
export const balanceKey = (address, symbol) => concat(utf8("assets/bal/"), fromHex(address), utf8(`/${symbol}`));

/** Check a state value: its proof up to a state root, the header committing to it, and its certificate. */
export async function checkState({ trust, getJson, key, tamper = false }) {
  const run = new Run();
  try {
    const anchor = await anchorStep(run, trust);
    const { hash } = anchor;
    const record = await getJson(`v1/state/${key}`);
    let value = record.value === null ? null : fromHex(record.value);
    let proofBytes = fromHex(record.proof);
    if (tamper && value !== null) value = flipBit(value, value.length - 1);
    else if (tamper) proofBytes = flipBit(proofBytes, proofBytes.length - 1);
    run.step(value === null ? "state_absent" : "state_value", true, { version: record.version }, [
      ["key", key],
      ...(value === null ? [] : [["value", hex(value)], ["decoded", describe(value)]]),
    ]);
    let proof;
    try {
      proof = parseStateProof(proofBytes);
    } catch (error) {
      run.step("state_proof", false, { reason: error.message });
    }
    const walked = stateRootFromProof(hash, fromHex(key), value, proof);
    if (walked.root === null) run.step("state_proof", false, { reason: walked.reason });
    run.step(
      "state_proof",
      true,
      { depth: proof.depth },
      walked.steps.map((s) => [`level`, `${s.level}: ${hex(s.hash)}`]),
    );
    if (record.header_height === null) run.step("state_header_missing", false);
    const { raw, certificate } = await rawBlock(getJson, record.header_height);
    const block = decodeBlockStep(run, raw);
    const header = block.header;
    run.step(
      "state_root",
      num(header.state_height) === record.version && equal(header.state_root, walked.root),
      { height: num(header.height), version: record.version },
      [
        ["computed", hex(walked.root)],
        ["header", hex(header.state_root)],
      ],
    );
    await certifyBlock(run, trust, anchor, block, certificate, { checkTxRoot: false });
  } catch (error) {
    if (!(error instanceof Stop)) throw error;
  }
  return run.steps;
}

/** A state value decoded for reading (MessagePack), or "" when it is not MessagePack. */
function describe(value) {
  try {
    return JSON.stringify(decodeCanonical(value), (_, v) =>
      typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? hex(v) : v,
    );
  } catch {
    return "";
  }
}
