// Account keys held in the browser: generate, import the PEM files `consortia`
// writes (PKCS#8 "PRIVATE KEY" or SEC1 "EC PRIVATE KEY", RFC 5208/5915), derive
// the public key and the account address (consortia/crypto/keys.py). The secret
// never leaves the page: only signatures and public keys are sent to the node.

import { p256, secp256k1, sha256, sm2 } from "chain-libs";
import { concat, fromHex, toHex } from "./bytes.js";
import { keccak, sm3Digest } from "./digest.js";

const CURVE_OIDS = {
  "2a811ccf5501822d": "sm2", // 1.2.156.10197.1.301
  "2a8648ce3d030107": "p256", // 1.2.840.10045.3.1.7
  "2b8104000a": "secp256k1", // 1.3.132.0.10
};
const EC_PUBLIC_KEY = "2a8648ce3d0201"; // 1.2.840.10045.2.1
const SM2_ALGORITHM = "2a811ccf5501822d";

/** One DER element at `at`: {tag, body, end}; throws on a truncated or long-form-overflow one. */
function element(der, at) {
  const tag = der[at];
  let length = der[at + 1];
  let start = at + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n < 1 || n > 3) throw new Error("unsupported DER length");
    length = 0;
    for (let i = 0; i < n; i++) length = (length << 8) | der[start + i];
    start += n;
  }
  const end = start + length;
  if (tag === undefined || end > der.length) throw new Error("truncated DER");
  return { tag, body: der.subarray(start, end), end };
}

/** The elements inside a constructed DER body. */
function children(body) {
  const out = [];
  for (let at = 0; at < body.length; ) {
    const e = element(body, at);
    out.push(e);
    at = e.end;
  }
  return out;
}

function ecPrivateKey(body, curveHint) {
  const parts = children(body);
  if (parts[0]?.tag !== 0x02 || parts[1]?.tag !== 0x04) throw new Error("not an ECPrivateKey");
  let keyType = curveHint;
  const params = parts.find((p) => p.tag === 0xa0);
  if (params) keyType = CURVE_OIDS[toHex(children(params.body)[0].body)] ?? keyType;
  if (!keyType) throw new Error("the key names no curve Consortia supports");
  const secret = new Uint8Array(32);
  const d = parts[1].body;
  if (d.length > 32) throw new Error("private key longer than 32 bytes");
  secret.set(d, 32 - d.length);
  return { keyType, secret };
}

/** {keyType, secret} of a PEM private key; throws with a reason when it is not one we use. */
export function parsePrivatePem(text) {
  const match = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/.exec(text);
  if (!match) throw new Error("not a PEM document (no BEGIN/END lines)");
  if (match[1] === "ENCRYPTED PRIVATE KEY") throw new Error("encrypted keys are not supported");
  const der = Uint8Array.from(atob(match[2].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
  const outer = element(der, 0);
  if (match[1] === "EC PRIVATE KEY") return ecPrivateKey(outer.body, null);
  if (match[1] !== "PRIVATE KEY") throw new Error(`a PEM ${match[1]} is not a private key`);
  const [version, algorithm, key] = children(outer.body);
  if (version?.tag !== 0x02 || algorithm?.tag !== 0x30 || key?.tag !== 0x04) {
    throw new Error("not a PKCS#8 private key");
  }
  const [alg, curve] = children(algorithm.body);
  const algHex = toHex(alg.body);
  if (algHex !== EC_PUBLIC_KEY && algHex !== SM2_ALGORITHM) throw new Error("not an elliptic-curve key");
  const hint = curve ? CURVE_OIDS[toHex(curve.body)] : algHex === SM2_ALGORITHM ? "sm2" : null;
  return ecPrivateKey(element(key.body, 0).body, hint);
}

/** The 65-byte uncompressed public key of a secret. */
export function publicKeyOf(keyType, secret) {
  if (keyType === "sm2") return fromHex(sm2.getPublicKeyFromPrivateKey(toHex(secret)));
  if (keyType === "p256") return p256.getPublicKey(secret, false);
  if (keyType === "secp256k1") return secp256k1.getPublicKey(secret, false);
  throw new Error(`unknown key type ${keyType}`);
}

/** A fresh secret from the browser's CSPRNG (crypto.getRandomValues). */
export function generateSecret(keyType) {
  if (keyType === "sm2") return fromHex(sm2.generateKeyPairHex().privateKey.padStart(64, "0"));
  if (keyType === "p256") return p256.utils.randomPrivateKey();
  if (keyType === "secp256k1") return secp256k1.utils.randomPrivateKey();
  throw new Error(`unknown key type ${keyType}`);
}

/** Account address: the last 20 bytes of H(x || y), H = SM3, SHA-256 or Keccak-256 by key type. */
export function addressOf(keyType, publicKey) {
  const xy = publicKey.subarray(1);
  const h = { sm2: sm3Digest, p256: sha256, secp256k1: keccak }[keyType];
  return h(xy).subarray(12);
}

/** A key the page holds: {keyType, secret, publicKey, address}. */
export function holdKey(keyType, secret) {
  const publicKey = publicKeyOf(keyType, secret);
  return { keyType, secret, publicKey, address: addressOf(keyType, publicKey) };
}

function tlv(tag, body) {
  const n = body.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return concat(Uint8Array.of(tag, ...length), body);
}

/** SEC1 "EC PRIVATE KEY" PEM of a held key (RFC 5915), the form `consortia` reads back. */
export function toPem(key) {
  const [oid] = Object.entries(CURVE_OIDS).find(([, keyType]) => keyType === key.keyType);
  const der = tlv(
    0x30,
    concat(
      tlv(0x02, Uint8Array.of(1)),
      tlv(0x04, key.secret),
      tlv(0xa0, tlv(0x06, fromHex(oid))),
      tlv(0xa1, tlv(0x03, concat(Uint8Array.of(0), key.publicKey))),
    ),
  );
  const base64 = btoa(String.fromCharCode(...der));
  const lines = base64.match(/.{1,64}/g).join("\n");
  return `-----BEGIN EC PRIVATE KEY-----\n${lines}\n-----END EC PRIVATE KEY-----\n`;
}
