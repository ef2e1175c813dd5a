// Acting in governance with a key held in this browser tab: import a PEM key
// file or generate one, open a proposal, vote. Transactions are built, encoded
// and signed here (chain/transactions.js); the node receives only the signed
// bytes. The key is kept in sessionStorage, so it lives as long as the tab.
import { useEffect, useState } from "preact/hooks";
import { html } from "../html.js";
import { T, useT } from "../i18n.js";
import { ApiError, getJson, postJson } from "../api.js";
import { fromHex, toHex } from "../chain/bytes.js";
import { CHOICES, InputError, PROPOSAL_FORMS, ROLES, proposeArgs, voteArgs } from "../chain/governance.js";
import { generateSecret, holdKey, parsePrivatePem, toPem } from "../chain/keys.js";
import { KEY_TYPES } from "../chain/signatures.js";
import { DEFAULT_EXPIRY_BLOCKS, signedTransaction } from "../chain/transactions.js";
import { explorerHref } from "./explorer.js";

const STORE_KEY = "consortia.console.key";
const WAIT_S = 20; // the node answers once the transaction commits, or after this many seconds
const DEFAULT_DEADLINE_BLOCKS = 1_000;

// --- the held key ----------------------------------------------------------------

let held = restoreKey();
const listeners = new Set();

function restoreKey() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORE_KEY));
    return saved ? holdKey(saved.keyType, fromHex(saved.secret)) : null;
  } catch {
    return null;
  }
}

function setHeldKey(key) {
  held = key;
  try {
    if (key) sessionStorage.setItem(STORE_KEY, JSON.stringify({ keyType: key.keyType, secret: toHex(key.secret) }));
    else sessionStorage.removeItem(STORE_KEY);
  } catch {
    // storage disabled: the key lasts for this page only
  }
  for (const listener of listeners) listener(key);
}

function useHeldKey() {
  const [key, setKey] = useState(held);
  useEffect(() => {
    listeners.add(setKey);
    return () => listeners.delete(setKey);
  }, []);
  return key;
}

const hexAddress = (key) => `0x${toHex(key.address)}`;

// --- sending -------------------------------------------------------------------------

/**
 * Sign `governance.method(argsAt(status))` with the held key and send it; resolves
 * to an outcome for <Outcome>. `argsAt` builds the arguments from the node's status
 * (a deadline is relative to its height) and may throw InputError.
 */
async function send(key, method, argsAt) {
  try {
    const [status, account] = await Promise.all([getJson("v1/status"), getJson(`v1/accounts/${hexAddress(key)}`)]);
    const raw = signedTransaction(key, {
      chainId: status.chain_id,
      nonce: account.nonce,
      module: "governance",
      method,
      args: argsAt(status),
      expiryHeight: status.height + DEFAULT_EXPIRY_BLOCKS,
    });
    const { status: code, body } = await postJson(`v1/transactions?wait=${WAIT_S}`, { tx: `0x${toHex(raw)}` }, {
      timeoutMs: (WAIT_S + 10) * 1000,
    });
    if (code === 202) return { phase: "pending", txId: body.tx_id };
    const created = body.receipt.events.find((e) => e.name === "proposal_created");
    return {
      phase: body.receipt.status === "OK" ? "committed" : "refused",
      txId: body.tx_id,
      height: body.height,
      code: body.receipt.status,
      message: body.receipt.message,
      proposalId: created?.attributes.id ?? null,
    };
  } catch (error) {
    if (error instanceof InputError) return { phase: "invalid", k: error.k };
    if (error instanceof ApiError) return { phase: "rejected", code: error.code, message: error.message };
    return { phase: "unreachable" };
  }
}

function Outcome({ outcome, id }) {
  if (!outcome) return html`<div role="status" aria-live="polite" id=${id}></div>`;
  const { phase } = outcome;
  const p = { code: outcome.code ?? "", message: outcome.message ?? "", height: outcome.height ?? "", proposal: outcome.proposalId ?? "" };
  return html`
    <div role="status" aria-live="polite" id=${id} data-outcome=${phase}>
      ${phase === "invalid"
        ? html`<${T} as="p" class="notice" k=${outcome.k} />`
        : html`<${T} as="p" class=${phase === "committed" ? "verdict verdict-pass" : phase === "sending" || phase === "pending" ? "" : "notice"} k=${`governance.act.outcome.${phase}`} p=${p} />`}
      ${outcome.txId ? html`<p><a href=${explorerHref.tx(outcome.txId)}><${T} k="governance.act.view_tx" /></a></p>` : null}
      ${outcome.proposalId !== null && outcome.proposalId !== undefined
        ? html`<p><a href=${`#/governance/proposal/${outcome.proposalId}`} id="created-proposal"><${T} k="governance.act.view_proposal" p=${{ id: outcome.proposalId }} /></a></p>`
        : null}
    </div>
  `;
}

// --- key panel -----------------------------------------------------------------------

/** The key this tab holds (with its roles on chain), or the ways to get one. */
export function KeyPanel() {
  const key = useHeldKey();
  return html`
    <section aria-labelledby="key-heading" id="key-panel">
      <${T} as="h2" id="key-heading" k="governance.key.heading" />
      <${T} as="p" class="explain" k="governance.key.explain" />
      ${key ? html`<${HeldKey} key_=${key} />` : html`<${GetKey} />`}
    </section>
  `;
}

function HeldKey({ key_: key }) {
  const address = hexAddress(key);
  const [roles, setRoles] = useState(null);
  useEffect(() => {
    let live = true;
    getJson(`v1/governance/roles/${address}`)
      .then((r) => live && setRoles(r))
      .catch(() => live && setRoles({ roles: [], weight: 0 }));
    return () => {
      live = false;
    };
  }, [address]);
  const download = () => {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([toPem(key)], { type: "application/x-pem-file" }));
    link.download = `${address.slice(2, 10)}.pem`;
    link.click();
    URL.revokeObjectURL(link.href);
  };
  const governor = roles?.roles.includes("governor");
  return html`
    <dl class="fields" id="held-key">
      <div><dt><${T} k="governance.key.type" /></dt><dd><code data-value="key_type">${key.keyType}</code></dd></div>
      <div><dt><${T} k="governance.key.address" /></dt><dd><a href=${explorerHref.account(address)}><code class="hex" data-value="address">${address}</code></a></dd></div>
      <div>
        <dt><${T} k="governance.key.roles" /></dt>
        <dd id="held-roles" data-governor=${roles === null ? "" : governor ? "yes" : "no"}>
          ${roles === null
            ? html`<${T} k="common.loading" />`
            : roles.roles.length
              ? html`<ul class="inline-list">${roles.roles.map((role) => html`<li key=${role}><${RoleName} role=${role} /></li>`)}</ul>`
              : html`<${T} k="governance.key.no_roles" />`}
        </dd>
      </div>
    </dl>
    ${roles !== null && !governor ? html`<${T} as="p" class="notice" k="governance.key.not_governor" />` : null}
    <p class="proof-actions">
      <button type="button" onClick=${download}><${T} k="governance.key.download" /></button>
      <button type="button" id="forget-key" onClick=${() => setHeldKey(null)}><${T} k="governance.key.forget" /></button>
    </p>
  `;
}

function RoleName({ role }) {
  if (!ROLES.includes(role)) return html`<span data-value="role">${role}</span>`;
  return html`<${T} k=${`governance.role.${role}`} />`;
}

function GetKey() {
  const [pem, setPem] = useState("");
  const [problem, setProblem] = useState(null);
  const [keyType, setKeyType] = useState("sm2");
  useEffect(() => {
    getJson("v1/status")
      .then((s) => setKeyType(s.suite === "intl" ? "p256" : "sm2"))
      .catch(() => {});
  }, []);
  const importPem = (text) => {
    try {
      const { keyType: type, secret } = parsePrivatePem(text);
      setProblem(null);
      setPem("");
      setHeldKey(holdKey(type, secret));
    } catch {
      setProblem("governance.key.bad_pem");
    }
  };
  const onFile = async (event) => {
    const file = event.currentTarget.files?.[0];
    if (file) importPem(await file.text());
  };
  return html`
    <div class="proof-forms">
      <form class="stat proof-form" id="import-key" onSubmit=${(e) => (e.preventDefault(), importPem(pem))}>
        <${T} as="h3" k="governance.key.import.title" />
        <${T} as="label" for="key-file" k="governance.key.import.file" />
        <input id="key-file" type="file" accept=".pem,.key,application/x-pem-file" onChange=${onFile} />
        <${T} as="label" for="key-pem" k="governance.key.import.paste" />
        <textarea id="key-pem" rows="5" spellcheck=${false} value=${pem} onInput=${(e) => setPem(e.currentTarget.value)}></textarea>
        <button type="submit"><${T} k="governance.key.import.button" /></button>
        <div role="status" aria-live="polite">${problem ? html`<${T} as="p" class="notice" k=${problem} />` : null}</div>
      </form>
      <form class="stat proof-form" id="generate-key" onSubmit=${(e) => (e.preventDefault(), setHeldKey(holdKey(keyType, generateSecret(keyType))))}>
        <${T} as="h3" k="governance.key.generate.title" />
        <${T} as="p" class="hint" k="governance.key.generate.hint" />
        <${T} as="label" for="key-type" k="governance.key.type" />
        <select id="key-type" value=${keyType} onChange=${(e) => setKeyType(e.currentTarget.value)}>
          ${KEY_TYPES.map((type) => html`<option key=${type} value=${type} data-value="key_type">${type}</option>`)}
        </select>
        <button type="submit"><${T} k="governance.key.generate.button" /></button>
      </form>
    </div>
  `;
}

// --- proposing -------------------------------------------------------------------------

const FIELD_INPUT = {
  address: { pattern: "(0x)?[0-9a-fA-F]{40}" },
  code_hash: { pattern: "(0x)?[0-9a-fA-F]{64}" },
  weight: { inputmode: "numeric", pattern: "\\d+" },
};

/** Open a proposal of one of the kinds in PROPOSAL_FORMS, signed with the held key. */
export function ProposeForm() {
  const t = useT();
  const key = useHeldKey();
  const [kind, setKind] = useState("grant_role");
  const [fields, setFields] = useState({ role: ROLES[0] });
  const [blocks, setBlocks] = useState(String(DEFAULT_DEADLINE_BLOCKS));
  const [outcome, setOutcome] = useState(null);
  if (!key) return null;
  const set = (name) => (e) => setFields({ ...fields, [name]: e.currentTarget.value });
  const submit = async (event) => {
    event.preventDefault();
    setOutcome({ phase: "sending" });
    const deadline = (status) => status.height + Number(blocks || DEFAULT_DEADLINE_BLOCKS);
    setOutcome(await send(key, "propose", (status) => proposeArgs(kind, fields, deadline(status))));
  };
  return html`
    <section aria-labelledby="propose-heading" id="propose">
      <${T} as="h2" id="propose-heading" k="governance.act.propose.heading" />
      <${T} as="p" class="explain" k="governance.act.propose.explain" />
      <form class="stat proof-form" id="propose-form" onSubmit=${submit}>
        <${T} as="label" for="propose-kind" k="governance.act.field.kind" />
        <select id="propose-kind" value=${kind} onChange=${(e) => setKind(e.currentTarget.value)}>
          ${Object.keys(PROPOSAL_FORMS).map((k) => html`<option key=${k} value=${k} data-i18n=${`governance.kind.${k}`}>${t(`governance.kind.${k}`)}</option>`)}
        </select>
        ${PROPOSAL_FORMS[kind].fields.map(
          (name) => html`
            <div class="form-field" key=${`${kind}-${name}`}>
              <${T} as="label" for=${`propose-${name}`} k=${`governance.act.field.${name}`} />
              ${name === "role"
                ? html`
                    <select id="propose-role" value=${fields.role} onChange=${set("role")}>
                      ${ROLES.map((role) => html`<option key=${role} value=${role} data-i18n=${`governance.role.${role}`}>${t(`governance.role.${role}`)}</option>`)}
                    </select>
                  `
                : html`<input id=${`propose-${name}`} autocomplete="off" spellcheck=${false} value=${fields[name] ?? ""} onInput=${set(name)} ...${FIELD_INPUT[name] ?? {}} />`}
            </div>
          `,
        )}
        <${T} as="label" for="propose-blocks" k="governance.act.field.blocks" />
        <input id="propose-blocks" inputmode="numeric" pattern="\\d+" value=${blocks} onInput=${(e) => setBlocks(e.currentTarget.value)} />
        <button type="submit" disabled=${outcome?.phase === "sending"}><${T} k="governance.act.propose.button" /></button>
      </form>
      <${Outcome} outcome=${outcome} id="propose-outcome" />
    </section>
  `;
}

// --- voting ------------------------------------------------------------------------------

/** Vote on an open proposal with the held key (a later vote replaces an earlier one). */
export function VoteForm({ id }) {
  const key = useHeldKey();
  const [outcome, setOutcome] = useState(null);
  const vote = async (choice) => {
    setOutcome({ phase: "sending" });
    setOutcome(await send(key, "vote", () => voteArgs(id, choice)));
  };
  return html`
    <section aria-labelledby="vote-heading" id="vote">
      <${T} as="h2" id="vote-heading" k="governance.act.vote.heading" />
      ${key
        ? html`
            <${T} as="p" class="explain" k="governance.act.vote.explain" p=${{ address: hexAddress(key) }} />
            <p class="proof-actions">
              ${CHOICES.map(
                (choice) => html`
                  <button type="button" key=${choice} data-choice=${choice} disabled=${outcome?.phase === "sending"} onClick=${() => vote(choice)}>
                    <${T} k=${`governance.act.vote.${choice}`} />
                  </button>
                `,
              )}
            </p>
          `
        : html`<p><${T} k="governance.act.vote.need_key" /> <a href="#/governance"><${T} k="governance.act.vote.get_key" /></a></p>`}
      <${Outcome} outcome=${outcome} id="vote-outcome" />
    </section>
  `;
}
