// Arguments of the governance module's methods, as arrays in field order
// (consortia/modules/governance/types.py): proposals a governor can open from
// the console, and votes.

import { fromHex } from "./bytes.js";
import { encode, u64 } from "./codec.js";

/** A form value that cannot be encoded; `field` names it and `k` is the catalogue message saying why. */
export class InputError extends Error {
  constructor(field, k) {
    super(`${field}: ${k}`);
    this.field = field;
    this.k = k;
  }
}

function hexOf(field, text, length) {
  const hex = String(text ?? "").trim().replace(/^0x/i, "");
  if (!new RegExp(`^[0-9a-fA-F]{${2 * length}}$`).test(hex)) throw new InputError(field, `governance.act.invalid.${field}`);
  return fromHex(hex);
}
const address = (text) => hexOf("address", text, 20);
const hash32 = (text) => hexOf("code_hash", text, 32);
const name = (text) => {
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(text ?? "")) throw new InputError("name", "governance.act.invalid.name");
  return text;
};
const weight = (text) => {
  if (!/^\d{1,9}$/.test(text ?? "") || Number(text) < 1) throw new InputError("weight", "governance.act.invalid.weight");
  return u64(text);
};

export const ROLES = ["org_admin", "governor", "validator_operator", "auditor", "member"];
export const CHOICES = ["yes", "no", "abstain"];

/**
 * Proposal kinds the console can open, each with its form fields and payload
 * encoder (fields -> payload array). The other kinds (organisations, policy,
 * validators' admission, upgrades, permissions, thresholds, waivers) carry
 * certificates or structured values and are opened with `consortia gov propose`.
 */
export const PROPOSAL_FORMS = {
  grant_role: {
    fields: ["address", "role", "organisation", "weight"],
    payload: (f) => [address(f.address), f.role, f.organisation ?? "", weight(f.weight || "1")],
  },
  revoke_role: { fields: ["address", "role"], payload: (f) => [address(f.address), f.role] },
  freeze_account: { fields: ["address"], payload: (f) => [address(f.address)] },
  unfreeze_account: { fields: ["address"], payload: (f) => [address(f.address)] },
  approve_contract: { fields: ["code_hash", "note"], payload: (f) => [hash32(f.code_hash), f.note ?? ""] },
  remove_validator: { fields: ["name"], payload: (f) => [name(f.name)] },
  reweight_validator: { fields: ["name", "weight"], payload: (f) => [name(f.name), weight(f.weight)] },
};

/** `governance.propose` arguments: [kind, payload bytes, deadline_height]. */
export function proposeArgs(kind, fields, deadlineHeight) {
  const form = PROPOSAL_FORMS[kind];
  if (!form) throw new InputError("kind", "governance.act.invalid.kind");
  return [kind, encode(form.payload(fields)), u64(deadlineHeight)];
}

/** `governance.vote` arguments: [proposal_id, choice]. */
export function voteArgs(proposalId, choice) {
  if (!CHOICES.includes(choice)) throw new InputError("choice", "governance.act.invalid.choice");
  return [u64(proposalId), choice];
}
