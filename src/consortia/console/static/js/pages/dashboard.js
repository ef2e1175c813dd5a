// Dashboard: where the chain is (height, epoch, round, leader), how fast it
// commits (live transactions-per-second chart, block interval, mempool), who
// validates it (and whether this node hears from each of them) and whether
// anyone was caught signing twice. Each figure carries
// a one-line explanation of what it means.
import { html } from "../html.js";
import { T, useT } from "../i18n.js";
import { useNow } from "../feed.js";
import { Sparkline } from "../components/sparkline.js";
import { meanBlockIntervalMs, recentRate, shortHex, txPerSecondSeries } from "../metrics.js";

const CHART_SECONDS = 60;
const RATE_SECONDS = 10;

export function Dashboard({ feed }) {
  const t = useT();
  const now = useNow(1000);
  const { status, epoch, evidence, blocks } = feed;
  const nodeNow = now - (feed.clockOffsetMs ?? 0);
  const series = txPerSecondSeries(blocks, nodeNow, CHART_SECONDS);
  const rate = recentRate(blocks, nodeNow, RATE_SECONDS);
  const interval = meanBlockIntervalMs(blocks);
  const validators = epoch?.validators ?? [];
  const leader = status ? validators[status.leader] : undefined;

  return html`
    <h1 tabindex="-1" data-autofocus><${T} k="dashboard.title" /></h1>
    <${T} as="p" class="lede" k="dashboard.lede" />

    <section aria-labelledby="chain-heading">
      <${T} as="h2" id="chain-heading" k="dashboard.chain.heading" />
      <dl class="stats">
        <${Stat} name="height" value=${status && t.number(status.height)} />
        <${Stat} name="epoch" value=${status && t.number(status.epoch)} />
        <${Stat} name="round" value=${status && t.number(status.round)} />
        <${Stat}
          name="leader"
          value=${status && (leader ? leader.name : `#${status.leader}`)}
        />
        <${Stat} name="mempool" value=${status && t.number(status.mempool_size)} />
        <${Stat}
          name="interval"
          message="unit.seconds"
          value=${interval !== null ? t.number(interval / 1000, 2) : undefined}
        />
        <${Stat} name="tps" message="unit.tps" value=${t.number(rate, 1)} />
      </dl>
    </section>

    <section aria-labelledby="tps-heading">
      <${T} as="h2" id="tps-heading" k="dashboard.tps.heading" />
      <${T} as="p" class="explain" k="dashboard.tps.explain" />
      <figure class="chart">
        <${Sparkline} values=${series} label=${t("dashboard.tps.chart", { seconds: CHART_SECONDS })} />
        <figcaption>
          <${T} k="dashboard.tps.caption" p=${{ seconds: t.number(CHART_SECONDS), peak: t.number(Math.max(0, ...series)) }} />
        </figcaption>
      </figure>
      <${T}
        as="p"
        class="counter"
        k="dashboard.tps.since_open"
        p=${{ txs: t.number(feed.committedTxs), blocks: t.number(feed.committedBlocks) }}
        id="committed-since-open"
      />
    </section>

    <section aria-labelledby="validators-heading">
      <${T} as="h2" id="validators-heading" k="dashboard.validators.heading" p=${{ epoch: epoch && t.number(epoch.epoch) }} />
      <${T} as="p" class="explain" k="dashboard.validators.explain" />
      <${Validators} validators=${validators} status=${status} links=${feed.links} />
    </section>

    <section aria-labelledby="evidence-heading">
      <${T} as="h2" id="evidence-heading" k="dashboard.evidence.heading" />
      <${T} as="p" class="explain" k="dashboard.evidence.explain" />
      <${Evidence} evidence=${evidence} validators=${validators} />
    </section>
  `;
}

function Stat({ name, value, message }) {
  const shown = value === undefined || value === null ? undefined : value;
  return html`
    <div class="stat" data-stat=${name}>
      <dt><${T} k=${`stat.${name}`} /></dt>
      <dd class="stat-value">
        ${message && shown !== undefined
          ? html`<${T} k=${message} p=${{ value: shown }} />`
          : html`<span data-value=${name}>${shown ?? "—"}</span>`}
      </dd>
      <dd class="stat-hint"><${T} k=${`stat.${name}.hint`} /></dd>
    </div>
  `;
}

function Validators({ validators, status, links }) {
  const t = useT();
  const totalWeight = validators.reduce((sum, v) => sum + v.weight, 0);
  if (validators.length === 0) return html`<${T} as="p" class="empty" k="common.loading" />`;
  return html`
    <div class="table-wrap" role="region" aria-labelledby="validators-heading" tabindex="0">
      <table>
        <${T} as="caption" k="dashboard.validators.caption" p=${{ count: t.number(validators.length), weight: t.number(totalWeight) }} />
        <thead>
          <tr>
            <${T} as="th" scope="col" k="validators.col.index" />
            <${T} as="th" scope="col" k="validators.col.name" />
            <${T} as="th" scope="col" k="validators.col.organisation" />
            <${T} as="th" scope="col" k="validators.col.weight" />
            <${T} as="th" scope="col" k="validators.col.role" />
            <${T} as="th" scope="col" k="validators.col.health" />
            <${T} as="th" scope="col" k="validators.col.key" />
            <${T} as="th" scope="col" k="validators.col.address" />
          </tr>
        </thead>
        <tbody>
          ${validators.map(
            (v, index) => html`
              <tr key=${v.address}>
                <td data-value="index">${index}</td>
                <td data-value="name">${v.name}</td>
                <td data-value="organisation">${v.organisation}</td>
                <td data-value="weight">${t.number(v.weight)}</td>
                <td>
                  ${status?.leader === index ? html`<${T} class="badge badge-leader" k="validators.role.leader" />` : null}
                  ${status?.validator_index === index ? html`<${T} class="badge" k="validators.role.self" />` : null}
                </td>
                <td data-health=${index}><${Health} link=${links.find((link) => link.index === index)} /></td>
                <td data-value="key_type">${v.key_type}</td>
                <td><code data-value="address" title=${v.address}>${shortHex(v.address)}</code></td>
              </tr>
            `,
          )}
        </tbody>
      </table>
    </div>
  `;
}

/** This node's link to a validator (GET /v1/validators/links): this node, up (with the age of its last message) or down.
 * `data-link` (self, up, down) names the state whatever the language, for the browser tests. */
function Health({ link }) {
  const t = useT();
  if (!link) return html`<span data-value="health">—</span>`;
  if (link.self) return html`<${T} class="badge" data-link="self" k="validators.health.self" />`;
  if (!link.connected) return html`<${T} class="health health-down" data-link="down" k="validators.health.down" />`;
  if (link.last_message_age_s === null) return html`<${T} class="health health-up" data-link="up" k="validators.health.up_quiet" />`;
  return html`<${T} class="health health-up" data-link="up" k="validators.health.up" p=${{ age: t.number(link.last_message_age_s, 1) }} />`;
}

function Evidence({ evidence, validators }) {
  const t = useT();
  if (evidence.length === 0) return html`<${T} as="p" class="empty" k="dashboard.evidence.none" />`;
  const recent = evidence.slice(-20).reverse();
  return html`
    <div class="table-wrap" role="region" aria-labelledby="evidence-heading" tabindex="0">
      <table>
        <${T} as="caption" k="dashboard.evidence.caption" p=${{ count: t.number(evidence.length) }} />
        <thead>
          <tr>
            <${T} as="th" scope="col" k="evidence.col.validator" />
            <${T} as="th" scope="col" k="evidence.col.kind" />
            <${T} as="th" scope="col" k="evidence.col.round" />
            <${T} as="th" scope="col" k="evidence.col.first" />
            <${T} as="th" scope="col" k="evidence.col.second" />
          </tr>
        </thead>
        <tbody>
          ${recent.map(
            (item) => html`
              <tr key=${`${item.author}-${item.round}-${item.kind}-${item.first}`}>
                <td data-value="author">${validators[item.author]?.name ?? `#${item.author}`}</td>
                <td><${T} k=${`evidence.kind.${item.kind}`} /></td>
                <td data-value="round">${t.number(item.round)}</td>
                <td><code data-value="first" title=${item.first}>${shortHex(item.first)}</code></td>
                <td><code data-value="second" title=${item.second}>${shortHex(item.second)}</code></td>
              </tr>
            `,
          )}
        </tbody>
      </table>
    </div>
  `;
}
