// Runs the console's in-browser chain modules (static/js/chain/) under Node on the
// vectors tests/console/test_chain_modules.py writes, and prints what they computed.
// Usage: node chain_modules.mjs VECTORS.json   (CHAIN_LIBS: path of vendor/chain-libs.js)
import { register } from "node:module";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const hooks = `export async function resolve(specifier, context, next) {
  if (specifier === "chain-libs") return { url: ${JSON.stringify(pathToFileURL(process.env.CHAIN_LIBS).href)}, shortCircuit: true };
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);

const dir = new URL("../../src/consortia/console/static/js/chain/", import.meta.url);
const load = (name) => import(new URL(name, dir).href);
const { fromHex, toHex, utf8 } = await load("bytes.js");
const { encode, decodeCanonical, struct, u64 } = await load("codec.js");
const { suiteHash, txId } = await load("digest.js");
const { merkleRoot, auditPath, verifyInclusion } = await load("merkle.js");
const { parseStateProof, stateRootFromProof } = await load("stateproof.js");
const { sign, verifySignature } = await load("signatures.js");
const { addressOf, generateSecret, holdKey, parsePrivatePem, toPem } = await load("keys.js");
const { proposeArgs, voteArgs } = await load("governance.js");

const v = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = { signatures: [], merkle: [], state: [], keys: [], signed: [], encode: [], generated: [], governance: [] };
for (const s of v.signatures) {
  out.signatures.push(verifySignature(s.key_type, fromHex(s.public_key), fromHex(s.message), fromHex(s.signature)));
}
for (const m of v.merkle) {
  const hash = suiteHash(m.suite);
  const leaves = m.leaves.map(fromHex);
  const root = merkleRoot(hash, leaves);
  const paths = leaves.map((_, i) => auditPath(hash, leaves, i).map(toHex));
  const verified = leaves.map((leaf, i) =>
    verifyInclusion(hash, root, leaf, i, leaves.length, auditPath(hash, leaves, i)),
  );
  out.merkle.push({ root: toHex(root), paths, verified });
}
for (const s of v.state) {
  const hash = suiteHash(s.suite);
  const proof = parseStateProof(fromHex(s.proof));
  const { root } = stateRootFromProof(hash, fromHex(s.key), s.value === null ? null : fromHex(s.value), proof);
  out.state.push(root === null ? null : toHex(root));
}
for (const k of v.keys) {
  const { keyType, secret } = parsePrivatePem(k.pem);
  const held = holdKey(keyType, secret);
  out.keys.push({ key_type: keyType, public_key: toHex(held.publicKey), address: toHex(addressOf(keyType, held.publicKey)) });
  const message = utf8(`signed in the browser by ${keyType}`);
  out.signed.push({ key_type: keyType, message: toHex(message), signature: toHex(sign(keyType, secret, held.publicKey, message)) });
}
for (const e of v.encode) {
  const b = e.body;
  const body = struct("TxBody", {
    ...b,
    sender: fromHex(b.sender),
    args: fromHex(b.args),
    nonce: u64(b.nonce),
    gas_limit: u64(b.gas_limit),
    expiry_height: u64(b.expiry_height),
  });
  const again = toHex(encode(decodeCanonical(fromHex(e.bytes))));
  out.encode.push({ bytes: toHex(encode(body)), tx_id: toHex(txId(suiteHash("sm"), body)), again });
}
for (const keyType of ["sm2", "p256", "secp256k1"]) {
  const held = holdKey(keyType, generateSecret(keyType));
  out.generated.push({ pem: toPem(held), public_key: toHex(held.publicKey), address: toHex(held.address) });
}
for (const g of v.governance ?? []) {
  const args = g.method === "propose" ? proposeArgs(g.kind, g.fields, g.deadline) : voteArgs(g.id, g.choice);
  out.governance.push(toHex(encode(args)));
}
console.log(JSON.stringify(out));
