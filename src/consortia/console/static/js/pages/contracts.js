// Contracts: the contracts deployed on the chain, and for a runtime code hash
// what the deployment gate consults — the audit report an auditor recorded
// (tools, findings by severity), the governance approval and the waivers.
//
// Routes (after #/contracts): "" (deployed contracts), /{code_hash}.
import { html } from "../html.js";
import { T, useT } from "../i18n.js";
import { getJson } from "../api.js";
import { shortHex } from "../metrics.js";
import { Fields, FullHex, Hex, Phase, explorerHref, useLoad } from "./explorer.js";
import { governanceHref } from "./governance.js";

const LIST_RELOAD_MS = 3000; // a new deployment shows up without a reload
const SEVERITIES = ["high", "medium", "low", "informational"];

export const contractsHref = {
  home: () => "#/contracts",
  code: (codeHash) => `#/contracts/${codeHash}`,
};

export function Contracts({ route }) {
  const [codeHash] = route;
  const valid = codeHash === undefined || /^(0x)?[0-9a-fA-F]{64}$/.test(codeHash);
  return html`
    ${codeHash === undefined
      ? html`<${T} as="h1" tabindex="-1" data-autofocus k="nav.contracts" />`
      : html`<${T} as="h1" tabindex="-1" data-autofocus k="contracts.code.title" />`}
    <${T} as="p" class="lede" k="contracts.lede" />
    ${!valid
      ? html`<${T} as="p" class="notice" role="status" k="contracts.badroute" />`
      : codeHash === undefined
        ? html`<${Deployed} />`
        : html`<${CodeView} codeHash=${codeHash} />`}
  `;
}

// --- deployed contracts ------------------------------------------------------

function Deployed() {
  const t = useT();
  const { phase, data } = useLoad("list", () => getJson("v1/contracts"), () => LIST_RELOAD_MS);
  let body;
  if (phase !== "ok") body = html`<${Phase} phase=${phase} missing="explorer.failed" />`;
  else if (data.contracts.length === 0) body = html`<${T} as="p" class="empty" k="contracts.list.none" />`;
  else {
    body = html`
      <div class="table-wrap" role="region" aria-labelledby="contracts-caption" tabindex="0">
        <table id="contracts-list">
          <${T} as="caption" id="contracts-caption" k="contracts.list.caption" p=${{ count: t.number(data.contracts.length) }} />
          <thead>
            <tr>
              <${T} as="th" scope="col" k="contracts.col.address" />
              <${T} as="th" scope="col" k="contracts.col.code_hash" />
              <${T} as="th" scope="col" k="contracts.col.deployer" />
              <${T} as="th" scope="col" k="contracts.col.height" />
              <${T} as="th" scope="col" k="contracts.col.tx" />
            </tr>
          </thead>
          <tbody>
            ${data.contracts.map(
              (c) => html`
                <tr key=${c.address} data-contract=${c.address}>
                  <td><${Hex} value=${c.address} name="address" href=${explorerHref.account(c.address)} /></td>
                  <td><${Hex} value=${c.code_hash} name="code_hash" href=${contractsHref.code(c.code_hash)} /></td>
                  <td><${Hex} value=${c.deployer} name="deployer" href=${explorerHref.account(c.deployer)} /></td>
                  <td><a href=${explorerHref.block(c.height)} data-value="height">${c.height}</a></td>
                  <td><${Hex} value=${c.tx_id} name="tx_id" href=${explorerHref.tx(c.tx_id)} /></td>
                </tr>
              `,
            )}
          </tbody>
        </table>
      </div>
    `;
  }
  return html`
    <section aria-labelledby="contracts-heading">
      <${T} as="h2" id="contracts-heading" k="contracts.list.heading" />
      <${T} as="p" class="explain" k="contracts.list.explain" />
      ${body}
    </section>
  `;
}

// --- one code hash -----------------------------------------------------------

async function loadCode(codeHash) {
  const [record, list] = await Promise.all([
    getJson(`v1/contracts/${codeHash}`),
    getJson("v1/contracts").catch(() => ({ contracts: [] })),
  ]);
  const deployed = list.contracts.filter((c) => c.code_hash === record.code_hash);
  return { record, deployed };
}

function CodeView({ codeHash }) {
  const t = useT();
  const { phase, data } = useLoad(codeHash, () => loadCode(codeHash));
  if (phase !== "ok") return html`<${Phase} phase=${phase} missing="contracts.badroute" />`;
  const { record, deployed } = data;
  return html`
    <section aria-labelledby="code-heading" id="code-view">
      <${T} as="h2" id="code-heading" k="contracts.code.heading" />
      <${Fields}
        id="code-fields"
        rows=${[
          ["contracts.field.code_hash", html`<${FullHex} value=${record.code_hash} name="code_hash" />`],
          [
            "contracts.field.deployed",
            deployed.length === 0
              ? html`<${T} k="contracts.code.not_deployed" />`
              : html`<span data-value="deployed">${deployed.map(
                  (c, i) => html`${i > 0 ? ", " : ""}<a href=${explorerHref.account(c.address)} title=${c.address}>${shortHex(c.address, 8)}</a>`,
                )}</span>`,
          ],
          ["contracts.field.as_of", html`<a href=${explorerHref.block(record.height)} data-value="height">${record.height}</a>`],
        ]}
      />
    </section>
    <${Audit} audit=${record.audit} hasHigh=${record.has_high} />
    <section aria-labelledby="approval-heading" id="approval-view">
      <${T} as="h2" id="approval-heading" k="contracts.approval.heading" />
      <${T} as="p" class="explain" k="contracts.approval.explain" />
      ${record.approval === null
        ? html`<${T} as="p" class="empty" k="contracts.approval.none" />`
        : html`<${Fields}
            id="approval-fields"
            rows=${[
              ["contracts.field.proposal", html`<a href=${governanceHref.proposal(record.approval.proposal_id)} data-value="proposal_id">${record.approval.proposal_id}</a>`],
              ["contracts.field.height", html`<a href=${explorerHref.block(record.approval.height)} data-value="height">${record.approval.height}</a>`],
              ["contracts.field.note", record.approval.note ? html`<span data-value="note">${record.approval.note}</span>` : html`<span data-value="note">—</span>`],
            ]}
          />`}
    </section>
    <section aria-labelledby="waivers-heading" id="waivers-view">
      <${T} as="h2" id="waivers-heading" k="contracts.waivers.heading" />
      ${record.waivers.length === 0
        ? html`<${T} as="p" class="empty" k="contracts.waivers.none" />`
        : html`
            <div class="table-wrap" role="region" aria-labelledby="waivers-heading" tabindex="0">
              <table id="waivers">
                <${T} as="caption" k="contracts.waivers.caption" p=${{ count: t.number(record.waivers.length) }} />
                <thead>
                  <tr>
                    <${T} as="th" scope="col" k="contracts.col.check" />
                    <${T} as="th" scope="col" k="contracts.col.reason" />
                    <${T} as="th" scope="col" k="contracts.col.proposal" />
                    <${T} as="th" scope="col" k="contracts.col.height" />
                  </tr>
                </thead>
                <tbody>
                  ${record.waivers.map(
                    (w) => html`
                      <tr key=${w.check}>
                        <td><code data-value="check">${w.check}</code></td>
                        <td class="wrap" data-value="reason">${w.reason || "—"}</td>
                        <td><a href=${governanceHref.proposal(w.proposal_id)} data-value="proposal_id">${w.proposal_id}</a></td>
                        <td><a href=${explorerHref.block(w.height)} data-value="height">${w.height}</a></td>
                      </tr>
                    `,
                  )}
                </tbody>
              </table>
            </div>
          `}
    </section>
  `;
}

function Audit({ audit, hasHigh }) {
  const t = useT();
  let body;
  if (audit === null) body = html`<${T} as="p" class="empty" id="audit-none" k="contracts.audit.none" />`;
  else {
    body = html`
      <${Fields}
        id="audit-fields"
        rows=${[
          ["contracts.field.contract", html`<span data-value="contract">${audit.contract}</span>`],
          ["contracts.field.language", html`<span data-value="language">${audit.language}</span>`],
          [
            "contracts.field.tools",
            html`<span data-value="tools">${audit.tools.map((tool) => `${tool.name} ${tool.version}`).join(", ")}</span>`,
          ],
          ["contracts.field.source_hash", html`<${FullHex} value=${audit.source_hash} name="source_hash" />`],
          ["contracts.field.bytecode_hash", html`<${FullHex} value=${audit.bytecode_hash} name="bytecode_hash" />`],
          [
            "contracts.field.has_high",
            html`<${T} class=${`badge ${hasHigh ? "badge-bad" : "badge-ok"}`} k=${hasHigh ? "contracts.audit.high" : "contracts.audit.no_high"} />`,
          ],
        ]}
      />
      ${audit.findings.length === 0
        ? html`<${T} as="p" class="empty" k="contracts.findings.none" />`
        : html`
            <div class="table-wrap" role="region" aria-labelledby="findings-caption" tabindex="0">
              <table id="findings">
                <${T} as="caption" id="findings-caption" k="contracts.findings.caption" p=${{ count: t.number(audit.findings.length) }} />
                <thead>
                  <tr>
                    <${T} as="th" scope="col" k="contracts.col.severity" />
                    <${T} as="th" scope="col" k="contracts.col.tool" />
                    <${T} as="th" scope="col" k="contracts.col.check" />
                    <${T} as="th" scope="col" k="contracts.col.description" />
                    <${T} as="th" scope="col" k="contracts.col.location" />
                  </tr>
                </thead>
                <tbody>
                  ${audit.findings.map(
                    (f, i) => html`
                      <tr key=${i}>
                        <td><${Severity} value=${f.severity} /></td>
                        <td data-value="tool">${f.tool}</td>
                        <td><code data-value="check">${f.check}</code></td>
                        <td class="wrap" data-value="description">${f.description}</td>
                        <td><code data-value="location">${location(f.location)}</code></td>
                      </tr>
                    `,
                  )}
                </tbody>
              </table>
            </div>
          `}
    `;
  }
  return html`
    <section aria-labelledby="audit-heading" id="audit-view">
      <${T} as="h2" id="audit-heading" k="contracts.audit.heading" />
      <${T} as="p" class="explain" k="contracts.audit.explain" />
      ${body}
    </section>
  `;
}

function location(where) {
  if (!where) return "—";
  return where.end_line > where.line ? `${where.file}:${where.line}–${where.end_line}` : `${where.file}:${where.line}`;
}

function Severity({ value }) {
  if (!SEVERITIES.includes(value)) return html`<span class="badge" data-value="severity">${value}</span>`;
  return html`<${T} class=${`badge badge-${value}`} k=${`contracts.severity.${value}`} />`;
}
