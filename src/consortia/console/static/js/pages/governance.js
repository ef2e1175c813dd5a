// Governance: the member organisations, the governing committee with each
// governor's weight, the proposals, and one proposal with its votes, its tally
// against the thresholds of its kind and its history — as the node's
// /v1/governance API reports them. A governor acts with a key held in the
// browser (governance-actions.js): opens proposals and votes.
//
// Routes (after #/governance): "" (organisations, committee, proposals),
// /proposal/{id}.
import { html } from "../html.js";
import { T, useT } from "../i18n.js";
import { getJson } from "../api.js";
import { Fields, FullHex, Hex, Phase, explorerHref, useLoad } from "./explorer.js";
import { KeyPanel, ProposeForm, VoteForm } from "./governance-actions.js";

const RELOAD_MS = 3000; // new proposals, votes and outcomes show up without a reload
const STATUSES = ["open", "executed", "failed", "expired"];
const CHOICES = ["yes", "no", "abstain"];

export const governanceHref = {
  home: () => "#/governance",
  proposal: (id) => `#/governance/proposal/${id}`,
};

export function Governance({ route }) {
  const [view, arg] = route;
  let heading = html`<${T} as="h1" tabindex="-1" data-autofocus k="nav.governance" />`;
  let content;
  if (view === undefined) content = html`<${Overview} />`;
  else if (view === "proposal" && /^\d+$/.test(arg ?? "")) {
    heading = html`<${T} as="h1" tabindex="-1" data-autofocus k="governance.proposal.title" p=${{ id: arg }} />`;
    content = html`<${ProposalView} id=${arg} />`;
  } else content = html`<${T} as="p" class="notice" role="status" k="governance.badroute" />`;
  return html`
    ${heading}
    <${T} as="p" class="lede" k="governance.lede" />
    ${content}
  `;
}

function StatusBadge({ value }) {
  if (!STATUSES.includes(value)) return html`<span class="badge" data-value="status">${value}</span>`;
  return html`<${T} class=${`badge badge-status-${value}`} k=${`governance.status.${value}`} />`;
}

function Choice({ value }) {
  if (!CHOICES.includes(value)) return html`<span data-value="choice">${value}</span>`;
  return html`<${T} k=${`governance.choice.${value}`} />`;
}

// --- overview ------------------------------------------------------------------

async function loadOverview() {
  const [orgs, proposals] = await Promise.all([
    getJson("v1/governance/organisations"),
    getJson("v1/governance/proposals?limit=100"),
  ]);
  return { orgs, proposals };
}

function Overview() {
  const { phase, data } = useLoad("overview", loadOverview, () => RELOAD_MS);
  if (phase !== "ok") return html`<${Phase} phase=${phase} missing="explorer.failed" />`;
  return html`
    <${Organisations} organisations=${data.orgs.organisations} />
    <${Committee} committee=${data.orgs.committee} />
    <${Proposals} proposals=${data.proposals.proposals} />
    <${KeyPanel} />
    <${ProposeForm} />
  `;
}

function Organisations({ organisations }) {
  const t = useT();
  return html`
    <section aria-labelledby="orgs-heading">
      <${T} as="h2" id="orgs-heading" k="governance.orgs.heading" />
      <${T} as="p" class="explain" k="governance.orgs.explain" />
      ${organisations.length === 0
        ? html`<${T} as="p" class="empty" k="governance.orgs.none" />`
        : html`
            <div class="table-wrap" role="region" aria-labelledby="orgs-heading" tabindex="0">
              <table id="organisations">
                <${T} as="caption" k="governance.orgs.caption" p=${{ count: t.number(organisations.length) }} />
                <thead>
                  <tr>
                    <${T} as="th" scope="col" k="governance.col.organisation" />
                    <${T} as="th" scope="col" k="governance.col.admins" />
                    <${T} as="th" scope="col" k="governance.col.ca" />
                  </tr>
                </thead>
                <tbody>
                  ${organisations.map(
                    (org) => html`
                      <tr key=${org.name} data-org=${org.name}>
                        <td data-value="name">${org.name}</td>
                        <td>
                          ${org.admins.length === 0
                            ? html`<span data-value="admins">—</span>`
                            : org.admins.map(
                                (a, i) => html`${i > 0 ? " " : ""}<${Hex} value=${a} name="admin" href=${explorerHref.account(a)} />`,
                              )}
                        </td>
                        <td><${T} k=${org.ca_cert ? "governance.orgs.ca_yes" : "governance.orgs.ca_no"} /></td>
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

function Committee({ committee }) {
  const t = useT();
  const total = committee.reduce((sum, g) => sum + g.weight, 0);
  return html`
    <section aria-labelledby="committee-heading">
      <${T} as="h2" id="committee-heading" k="governance.committee.heading" />
      <${T} as="p" class="explain" k="governance.committee.explain" />
      ${committee.length === 0
        ? html`<${T} as="p" class="empty" k="governance.committee.none" />`
        : html`
            <div class="table-wrap" role="region" aria-labelledby="committee-heading" tabindex="0">
              <table id="committee">
                <${T} as="caption" k="governance.committee.caption" p=${{ count: t.number(committee.length), weight: t.number(total) }} />
                <thead>
                  <tr>
                    <${T} as="th" scope="col" k="governance.col.governor" />
                    <${T} as="th" scope="col" k="governance.col.weight" />
                  </tr>
                </thead>
                <tbody>
                  ${committee.map(
                    (g) => html`
                      <tr key=${g.address} data-governor=${g.address}>
                        <td><${Hex} value=${g.address} name="address" href=${explorerHref.account(g.address)} /></td>
                        <td data-value="weight">${t.number(g.weight)}</td>
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

function Proposals({ proposals }) {
  const t = useT();
  return html`
    <section aria-labelledby="proposals-heading">
      <${T} as="h2" id="proposals-heading" k="governance.proposals.heading" />
      <${T} as="p" class="explain" k="governance.proposals.explain" />
      ${proposals.length === 0
        ? html`<${T} as="p" class="empty" k="governance.proposals.none" />`
        : html`
            <div class="table-wrap" role="region" aria-labelledby="proposals-heading" tabindex="0">
              <table id="proposals">
                <${T} as="caption" k="governance.proposals.caption" p=${{ count: t.number(proposals.length) }} />
                <thead>
                  <tr>
                    <${T} as="th" scope="col" k="governance.col.id" />
                    <${T} as="th" scope="col" k="governance.col.kind" />
                    <${T} as="th" scope="col" k="governance.col.status" />
                    <${T} as="th" scope="col" k="governance.col.created" />
                    <${T} as="th" scope="col" k="governance.col.deadline" />
                  </tr>
                </thead>
                <tbody>
                  ${proposals.map(
                    (p) => html`
                      <tr key=${p.id} data-proposal=${p.id}>
                        <td><a href=${governanceHref.proposal(p.id)} data-value="id">${p.id}</a></td>
                        <td><code data-value="kind">${p.kind}</code></td>
                        <td><${StatusBadge} value=${p.status} /></td>
                        <td><a href=${explorerHref.block(p.created_height)} data-value="created_height">${p.created_height}</a></td>
                        <td data-value="deadline_height">${t.number(p.deadline_height)}</td>
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

// --- one proposal --------------------------------------------------------------

function ProposalView({ id }) {
  const t = useT();
  // An open proposal is re-read so votes and its outcome appear as they commit.
  const { phase, data: p } = useLoad(id, () => getJson(`v1/governance/proposals/${id}`), (d) =>
    d.status === "open" ? RELOAD_MS : null,
  );
  if (phase !== "ok") return html`<${Phase} phase=${phase} missing="governance.proposal.missing" p=${{ id }} />`;
  const { tally } = p;
  return html`
    <section aria-labelledby="proposal-heading" id="proposal-view">
      <${T} as="h2" id="proposal-heading" k="governance.proposal.heading" />
      <${Fields}
        id="proposal-fields"
        rows=${[
          ["governance.field.kind", html`<code data-value="kind">${p.kind}</code>`],
          ["governance.field.status", html`<${StatusBadge} value=${p.status} />`],
          ["governance.field.proposer", html`<a href=${explorerHref.account(p.proposer)}><${FullHex} value=${p.proposer} name="proposer" /></a>`],
          ["governance.field.created", html`<a href=${explorerHref.block(p.created_height)} data-value="created_height">${p.created_height}</a>`],
          ["governance.field.deadline", html`<span data-value="deadline_height">${t.number(p.deadline_height)}</span>`],
          [
            "governance.field.closed",
            p.closed_height ? html`<a href=${explorerHref.block(p.closed_height)} data-value="closed_height">${p.closed_height}</a>` : html`<span data-value="closed_height">—</span>`,
          ],
          ["governance.field.outcome", html`<span data-value="outcome">${p.outcome || "—"}</span>`],
          [
            "governance.field.payload",
            p.payload_decoded === null || p.payload_decoded === undefined
              ? html`<${FullHex} value=${p.payload} name="payload" />`
              : html`<pre class="json" data-value="payload">${JSON.stringify(p.payload_decoded, null, 2)}</pre>`,
          ],
          ["governance.field.as_of", html`<a href=${explorerHref.block(p.height)} data-value="height">${p.height}</a>`],
        ]}
      />
    </section>
    <section aria-labelledby="tally-heading" id="tally-view">
      <${T} as="h2" id="tally-heading" k="governance.tally.heading" />
      <${T} as="p" class="explain" k="governance.tally.explain" />
      <p id="tally">
        <${T}
          k="governance.tally.votes"
          p=${{ yes: t.number(tally.yes), no: t.number(tally.no), abstain: t.number(tally.abstain), total: t.number(tally.total) }}
        />
      </p>
      <p id="thresholds">
        <${T} k="governance.tally.thresholds" p=${{ participation: tally.participation, approval: tally.approval }} />
      </p>
    </section>
    ${p.status === "open" ? html`<${VoteForm} id=${p.id} />` : null}
    <section aria-labelledby="votes-heading" id="votes-view">
      <${T} as="h2" id="votes-heading" k="governance.votes.heading" />
      ${p.votes.length === 0
        ? html`<${T} as="p" class="empty" k="governance.votes.none" />`
        : html`
            <div class="table-wrap" role="region" aria-labelledby="votes-heading" tabindex="0">
              <table id="votes">
                <${T} as="caption" k="governance.votes.caption" p=${{ count: t.number(p.votes.length) }} />
                <thead>
                  <tr>
                    <${T} as="th" scope="col" k="governance.col.voter" />
                    <${T} as="th" scope="col" k="governance.col.choice" />
                    <${T} as="th" scope="col" k="governance.col.weight" />
                    <${T} as="th" scope="col" k="governance.col.height" />
                  </tr>
                </thead>
                <tbody>
                  ${p.votes.map(
                    (v) => html`
                      <tr key=${v.voter} data-voter=${v.voter}>
                        <td><${Hex} value=${v.voter} name="voter" href=${explorerHref.account(v.voter)} /></td>
                        <td><${Choice} value=${v.choice} /></td>
                        <td data-value="weight">${t.number(v.weight)}</td>
                        <td><a href=${explorerHref.block(v.height)} data-value="height">${v.height}</a></td>
                      </tr>
                    `,
                  )}
                </tbody>
              </table>
            </div>
          `}
    </section>
    <section aria-labelledby="history-heading" id="history-view">
      <${T} as="h2" id="history-heading" k="governance.history.heading" />
      <div class="table-wrap" role="region" aria-labelledby="history-heading" tabindex="0">
        <table id="history">
          <${T} as="caption" k="governance.history.caption" p=${{ count: t.number(p.history.length) }} />
          <thead>
            <tr>
              <${T} as="th" scope="col" k="governance.col.height" />
              <${T} as="th" scope="col" k="governance.col.action" />
              <${T} as="th" scope="col" k="governance.col.actor" />
              <${T} as="th" scope="col" k="governance.col.detail" />
            </tr>
          </thead>
          <tbody>
            ${p.history.map(
              (h, i) => html`
                <tr key=${i}>
                  <td><a href=${explorerHref.block(h.height)} data-value="height">${h.height}</a></td>
                  <td><code data-value="action">${h.action}</code></td>
                  <td>${/^0x[0-9a-f]{40}$/.test(h.actor)
                    ? html`<${Hex} value=${h.actor} name="actor" href=${explorerHref.account(h.actor)} />`
                    : html`<code data-value="actor">${h.actor === "0x" ? "—" : h.actor}</code>`}</td>
                  <td class="wrap" data-value="detail">${h.detail || "—"}</td>
                </tr>
              `,
            )}
          </tbody>
        </table>
      </div>
    </section>
  `;
}
