// Signed transactions built in the browser (consortia/ledger/types.py): the body
// is encoded canonically, signed over DOMAIN_TX || encode(body) with the key the
// page holds, and only the signed bytes go to the node.

import { concat } from "./bytes.js";
import { encode, struct, u64 } from "./codec.js";
import { DOMAIN } from "./digest.js";
import { sign } from "./signatures.js";

/** The SDK's defaults (consortia/sdk/_calls.py): gas for a native call, blocks until expiry. */
export const DEFAULT_GAS_LIMIT = 200_000;
export const DEFAULT_EXPIRY_BLOCKS = 1_000;

/**
 * Canonical bytes of a transaction signed by `key` ({keyType, secret, publicKey, address}):
 * `module.method(args)` with the account's next `nonce`, valid through `expiryHeight`.
 */
export function signedTransaction(key, { chainId, nonce, module, method, args, expiryHeight, gasLimit = DEFAULT_GAS_LIMIT }) {
  const body = struct("TxBody", {
    chain_id: chainId,
    sender: key.address,
    nonce: u64(nonce),
    module,
    method,
    args: encode(args),
    gas_limit: u64(gasLimit),
    expiry_height: u64(expiryHeight),
  });
  const signature = sign(key.keyType, key.secret, key.publicKey, concat(DOMAIN.TX, encode(body)));
  return encode(struct("Transaction", { body, key_type: key.keyType, public_key: key.publicKey, signature }));
}
