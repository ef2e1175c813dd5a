// Entry of the console's one bundled vendor module, vendor/chain-libs.js.
//
// scripts/vendor-console.sh bundles this file with esbuild (pinned in package.json)
// into a single ES module, so the browser can check hashes, proofs and signatures
// itself with well-kept libraries rather than code of ours:
//   @msgpack/msgpack  canonical MessagePack (docs/spec/encoding.md)
//   sm-crypto-v2      SM2 signatures with the ZA user-ID hash (GB/T 32918.2), SM3 (GB/T 32905)
//   @noble/curves     ECDSA over P-256 (FIPS 186-5) and secp256k1 (SEC 2)
//   @noble/hashes     SHA-256 (FIPS 180-4), Keccak-256 (addresses of secp256k1 accounts)
// Nothing here is fetched at run time; the node serves the bundle with the console.
export { Decoder, Encoder } from "@msgpack/msgpack";
export { sm2, sm3 } from "sm-crypto-v2";
export { p256 } from "@noble/curves/p256";
export { secp256k1 } from "@noble/curves/secp256k1";
export { sha256 } from "@noble/hashes/sha256";
export { keccak_256 } from "@noble/hashes/sha3";
