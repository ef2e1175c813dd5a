// Signature checks and signing in the browser, as consortia/crypto/keys.py does them:
//   sm2        SM2 over e = SM3(ZA || M), ZA with the default user ID (GB/T 32918.2 §5.5)
//   p256       ECDSA-SHA256 on P-256 (FIPS 186-5), either s
//   secp256k1  ECDSA-SHA256 on secp256k1, low s only (as libsecp256k1 verifies)
// Signatures are DER (r, s); public keys 65-byte uncompressed SEC1 points.

import { p256, secp256k1, sha256, sm2 } from "chain-libs";
import { fromHex, toHex } from "./bytes.js";

/** The SM2 user ID every Consortia signature uses (GB/T 35276's default). */
export const SM2_USER_ID = "1234567812345678";

/** Key types the console can check and sign with. */
export const KEY_TYPES = ["sm2", "p256", "secp256k1"];

const ECDSA = { p256: [p256, false], secp256k1: [secp256k1, true] };

/** Whether `signature` is `publicKey`'s signature over `message`; never throws. */
export function verifySignature(keyType, publicKey, message, signature) {
  try {
    if (keyType === "sm2") {
      return sm2.doVerifySignature(message, toHex(signature), toHex(publicKey), {
        der: true,
        hash: true,
        userId: SM2_USER_ID,
      });
    }
    const [curve, lowS] = ECDSA[keyType] ?? [];
    if (!curve) return false;
    return curve.verify(signature, sha256(message), publicKey, { format: "der", lowS });
  } catch {
    return false;
  }
}

/** DER signature of `message` by the 32-byte `secret` of a `keyType` key. */
export function sign(keyType, secret, publicKey, message) {
  if (keyType === "sm2") {
    return fromHex(
      sm2.doSignature(message, toHex(secret), {
        der: true,
        hash: true,
        publicKey: toHex(publicKey),
        userId: SM2_USER_ID,
      }),
    );
  }
  const [curve] = ECDSA[keyType] ?? [];
  if (!curve) throw new Error(`cannot sign with a ${keyType} key`);
  return curve.sign(sha256(message), secret).toDERRawBytes();
}
