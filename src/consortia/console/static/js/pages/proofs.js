// Proofs you can check: the browser re-derives a block's certificate, a
// transaction's inclusion or a state value's proof from the node's raw bytes,
// with SM3/SM2 (or SHA-256/ECDSA) computed here, and shows each step. The node is
// not trusted: only the genesis fingerprint is, which members compare out of band.
//
// Routes (after #/proofs): "" (the three forms), /block/{height}, /tx/{id},
// /state/{key hex}; a trailing /tampered checks a copy with one bit changed.
import { useEffect, useState } from "preact/hooks";
import { html } from "../html.js";
import { T, useT } from "../i18n.js";
import { getJson } from "../api.js";
import { balanceKey, checkBlock, checkState, checkTransaction } from "../chain/checks.js";
import { toHex } from "../chain/bytes.js";
import { Trust } from "../chain/trust.js";

const trust = new Trust(getJson); // validator sets never change once proven: keep them per page load

export const proofsHref = {
  home: () => "#/proofs",
  block: (height) => `#/proofs/block/${height}`,
  tx: (id) => `#/proofs/tx/${id}`,
  state: (key) => `#/proofs/state/${key}`,
};

const KINDS = {
  block: { valid: (v) => /^\d{1,19}$/.test(v), run: (v, tamper) => checkBlock({ trust, getJson, height: Number(v), tamper }) },
  tx: { valid: (v) => /^(0x)?[0-9a-fA-F]{64}$/.test(v), run: (v, tamper) => checkTransaction({ trust, getJson, id: v, tamper }) },
  state: { valid: (v) => /^(0x)?([0-9a-fA-F]{2}){1,256}$/.test(v), run: (v, tamper) => checkState({ trust, getJson, key: v, tamper }) },
};

export function Proofs({ route }) {
  const [kind, subject, mode] = route;
  const known = kind === undefined || (KINDS[kind]?.valid(subject ?? "") && (mode === undefined || mode === "tampered"));
  return html`
    <${T} as="h1" tabindex="-1" data-autofocus k="nav.proofs" />
    <${T} as="p" class="lede" k="proofs.lede" />
    ${!known
      ? html`<${T} as="p" class="notice" role="status" k="proofs.badroute" />`
      : kind === undefined
        ? html`<${Forms} />`
        : html`<${Result} kind=${kind} subject=${subject} tamper=${mode === "tampered"} />`}
  `;
}

// --- choosing what to check ------------------------------------------------------

function Forms() {
  const t = useT();
  const [block, setBlock] = useState("");
  const [tx, setTx] = useState("");
  const [address, setAddress] = useState("");
  const [symbol, setSymbol] = useState("");
  const go = (href) => (event) => {
    event.preventDefault();
    window.location.hash = href;
  };
  const stateKey = () => {
    try {
      return toHex(balanceKey(address.trim(), symbol.trim()));
    } catch {
      return "";
    }
  };
  const field = (id, label, value, set, extra = {}) => html`
    <${T} as="label" for=${id} k=${label} />
    <input id=${id} autocomplete="off" spellcheck=${false} value=${value} onInput=${(e) => set(e.currentTarget.value)} ...${extra} />
  `;
  return html`
    <div class="proof-forms">
      <form class="stat proof-form" id="proof-block-form" onSubmit=${go(proofsHref.block(block.trim()))} aria-labelledby="proof-block-h">
        <${T} as="h2" id="proof-block-h" k="proofs.form.block.title" />
        <${T} as="p" class="hint" k="proofs.form.block.hint" />
        ${field("proof-block", "proofs.form.block.label", block, setBlock, { inputmode: "numeric", required: true, pattern: "\\d+" })}
        <button type="submit"><${T} k="proofs.form.check" /></button>
      </form>
      <form class="stat proof-form" id="proof-tx-form" onSubmit=${go(proofsHref.tx(tx.trim()))} aria-labelledby="proof-tx-h">
        <${T} as="h2" id="proof-tx-h" k="proofs.form.tx.title" />
        <${T} as="p" class="hint" k="proofs.form.tx.hint" />
        ${field("proof-tx", "proofs.form.tx.label", tx, setTx, { required: true, placeholder: t("proofs.form.tx.placeholder") })}
        <button type="submit"><${T} k="proofs.form.check" /></button>
      </form>
      <form class="stat proof-form" id="proof-state-form" onSubmit=${go(proofsHref.state(stateKey()))} aria-labelledby="proof-state-h">
        <${T} as="h2" id="proof-state-h" k="proofs.form.state.title" />
        <${T} as="p" class="hint" k="proofs.form.state.hint" />
        ${field("proof-address", "proofs.form.state.address", address, setAddress, { required: true, pattern: "(0x)?[0-9a-fA-F]{40}" })}
        ${field("proof-symbol", "proofs.form.state.symbol", symbol, setSymbol, { required: true })}
        <button type="submit"><${T} k="proofs.form.check" /></button>
      </form>
    </div>
  `;
}

// --- running the checks ------------------------------------------------------------

function Result({ kind, subject, tamper }) {
  const [state, setState] = useState({ phase: "running", steps: [] });
  const [again, setAgain] = useState(0);
  useEffect(() => {
    let live = true;
    setState({ phase: "running", steps: [] });
    KINDS[kind]
      .run(subject, tamper)
      .then((steps) => live && setState({ phase: "done", steps }))
      .catch((error) => live && setState({ phase: "error", steps: [], error: String(error.message ?? error) }));
    return () => {
      live = false;
    };
  }, [kind, subject, tamper, again]);

  const failed = state.steps.find((step) => step.ok === false);
  const base = `#/proofs/${kind}/${subject}`;
  return html`
    <section aria-labelledby="proof-title" id="proof-result" data-phase=${state.phase} data-verdict=${state.phase === "done" ? (failed ? "fail" : "pass") : ""}>
      <${T} as="h2" id="proof-title" k=${`proofs.title.${kind}`} p=${{ subject }} />
      ${tamper ? html`<${T} as="p" class="notice tampered" k="proofs.tampered.note" />` : null}
      <div role="status" aria-live="polite" id="proof-verdict">
        ${state.phase === "running"
          ? html`<${T} as="p" class="empty" k="proofs.running" />`
          : state.phase === "error"
            ? html`<${T} as="p" class="notice" k="proofs.error" p=${{ reason: state.error }} />`
            : failed
              ? html`<${T} as="p" class="verdict verdict-fail" k="proofs.verdict.fail" p=${{ step: state.steps.length }} />`
              : html`<${T} as="p" class="verdict verdict-pass" k=${`proofs.verdict.pass.${kind}`} />`}
      </div>
      <ol class="proof-steps">
        ${state.steps.map((step, i) => html`<${Step} key=${i} step=${step} />`)}
      </ol>
      <p class="proof-actions">
        <button type="button" onClick=${() => setAgain(again + 1)}><${T} k="proofs.again" /></button>
        ${tamper
          ? html`<a href=${base}><${T} k="proofs.untamper" /></a>`
          : html`<a href=${`${base}/tampered`} id="proof-tamper"><${T} k="proofs.tamper" /></a>`}
      </p>
    </section>
  `;
}

function Step({ step }) {
  const outcome = step.ok === true ? "ok" : step.ok === false ? "fail" : "na";
  return html`
    <li class=${`proof-step proof-${outcome}`} data-step=${step.id} data-ok=${outcome}>
      <${T} class=${`badge badge-${outcome === "ok" ? "ok" : outcome === "fail" ? "bad" : "na"}`} k=${`proofs.outcome.${outcome}`} />
      <${T} as="h3" k=${`proofs.step.${step.id}`} p=${step.params} />
      <${T} as="p" k=${`proofs.step.${step.id}.${outcome}`} p=${step.params} />
      ${step.rows.length
        ? html`<dl class="fields">
            ${step.rows.map(
              ([label, value], i) => html`
                <div key=${i}>
                  <dt><${T} k=${`proofs.row.${label}`} /></dt>
                  <dd><code class="hex" data-value=${label}>${value}</code></dd>
                </div>
              `,
            )}
          </dl>`
        : null}
      ${step.signers ? html`<${Signers} signers=${step.signers} />` : null}
    </li>
  `;
}

function Signers({ signers }) {
  const t = useT();
  return html`
    <div class="table-wrap" role="region" aria-label=${t("proofs.signers.caption")} tabindex="0">
      <table class="proof-signers">
        <${T} as="caption" k="proofs.signers.caption" />
        <thead>
          <tr>
            <${T} as="th" scope="col" k="proofs.signers.index" />
            <${T} as="th" scope="col" k="proofs.signers.name" />
            <${T} as="th" scope="col" k="proofs.signers.organisation" />
            <${T} as="th" scope="col" k="proofs.signers.weight" />
            <${T} as="th" scope="col" k="proofs.signers.signature" />
          </tr>
        </thead>
        <tbody>
          ${signers.map(
            (s) => html`
              <tr key=${s.index} data-signer=${s.index} data-ok=${s.ok ? "ok" : "fail"}>
                <td data-value="index">${s.index}</td>
                <td data-value="name">${s.validator?.name ?? "—"}</td>
                <td data-value="organisation">${s.validator?.organisation ?? "—"}</td>
                <td data-value="weight">${s.validator ? t.number(Number(s.validator.weight)) : "—"}</td>
                <td><${T} class=${`badge ${s.ok ? "badge-ok" : "badge-bad"}`} k=${s.ok ? "proofs.signers.valid" : "proofs.signers.invalid"} /></td>
              </tr>
            `,
          )}
        </tbody>
      </table>
    </div>
  `;
}
