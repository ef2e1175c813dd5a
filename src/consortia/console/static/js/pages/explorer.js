// Explorer: the latest blocks (live from the feed), a block with its quorum
// certificate (who signed, with which weight, against the quorum) and its
// transactions, a transaction with its receipt, an account, the assets and
// the event log (explorer/assets.js, explorer/events.js), and a search box.
//
// Routes (after #/explorer): "" (latest blocks), /block/{height},
// /tx/{tx_id}, /account/{address}, /assets, /asset/{SYMBOL}, /events,
// /events/{module}. Every view can be linked and the back button works,
// because every step is a hash change.
import { useState } from "preact/hooks";
import { html } from "../html.js";
import { quorumOf } from "../chain/trust.js";
import { proofsHref } from "./proofs.js";
import { T, useT } from "../i18n.js";
import { getJson } from "../api.js";
import { Fields, FullHex, Hex, Phase, explorerHref, formatTime, isMissing, none, useLoad } from "./explorer/common.js";
import { AssetView, AssetsView, SYMBOL, SymbolLink } from "./explorer/assets.js";
import { EventAttributes, EventsView, useEventTypes } from "./explorer/events.js";

// Contracts and governance build their views from these.
export { Fields, FullHex, Hex, Phase, explorerHref, formatTime, isMissing, none, useLoad };

const LATEST_BLOCKS = 20;
const MAX_TX_ROWS = 100; // a block's transactions fetched with their receipts
const MAX_ACCOUNT_TXS = 20;
const SECTIONS = [
  { id: "latest", href: explorerHref.home(), views: [undefined, "block", "tx", "account"] },
  { id: "assets", href: explorerHref.assets(), views: ["assets", "asset"] },
  { id: "events", href: explorerHref.events(), views: ["events"] },
];

// Epochs never change once begun: read each at most once per page.
const epochCache = new Map();
function loadEpoch(n) {
  if (!epochCache.has(n)) {
    const pending = getJson(`v1/epochs/${n}`);
    pending.catch(() => epochCache.delete(n));
    epochCache.set(n, pending);
  }
  return epochCache.get(n);
}

export function Explorer({ feed, route }) {
  // The search box is keyed by the route: a new view starts with an empty box and no message.
  const [view, arg] = route;
  let content;
  if (view === undefined) content = html`<${Latest} feed=${feed} />`;
  else if (view === "block" && /^\d+$/.test(arg ?? "")) content = html`<${BlockView} height=${Number(arg)} />`;
  else if (view === "tx" && arg) content = html`<${TxView} id=${arg} />`;
  else if (view === "account" && arg) content = html`<${AccountView} address=${arg} />`;
  else if (view === "assets" && arg === undefined) content = html`<${AssetsView} />`;
  else if (view === "asset" && arg) content = html`<${AssetView} symbol=${arg} />`;
  else if (view === "events" && route.length <= 2) content = html`<${EventsView} key=${arg ?? ""} module=${arg} />`;
  else content = html`<${T} as="p" class="notice" role="status" k="explorer.badroute" />`;
  return html`
    <${Heading} view=${view} arg=${arg} />
    <${T} as="p" class="lede" k="explorer.lede" />
    <${Sections} view=${view} />
    <${Search} key=${route.join("/")} />
    ${content}
  `;
}

/** Links to the explorer's sections: latest blocks, assets, events. */
function Sections({ view }) {
  const t = useT();
  return html`
    <nav class="nav" id="explorer-sections" aria-label=${t("explorer.sections.label")}>
      <ul>
        ${SECTIONS.map(
          (section) => html`
            <li key=${section.id}>
              <a href=${section.href} aria-current=${section.views.includes(view) ? "page" : undefined}>
                <${T} k=${`explorer.sections.${section.id}`} />
              </a>
            </li>
          `,
        )}
      </ul>
    </nav>
  `;
}

function Heading({ view, arg }) {
  if (view === "block" && arg) return html`<${T} as="h1" tabindex="-1" data-autofocus k="explorer.block.title" p=${{ height: arg }} />`;
  if (view === "tx") return html`<${T} as="h1" tabindex="-1" data-autofocus k="explorer.tx.title" />`;
  if (view === "account") return html`<${T} as="h1" tabindex="-1" data-autofocus k="explorer.account.title" />`;
  if (view === "assets") return html`<${T} as="h1" tabindex="-1" data-autofocus k="explorer.assets.title" />`;
  if (view === "asset" && arg) return html`<${T} as="h1" tabindex="-1" data-autofocus k="explorer.asset.title" p=${{ symbol: arg }} />`;
  if (view === "events") return html`<${T} as="h1" tabindex="-1" data-autofocus k="explorer.events.title" />`;
  return html`<${T} as="h1" tabindex="-1" data-autofocus k="nav.explorer" />`;
}

/** Where a search leads: a route, or null when nothing matches. */
export async function resolveSearch(query) {
  const text = query.trim();
  if (/^\d+$/.test(text)) {
    const height = text.replace(/^0+(?=\d)/, "");
    await getJson(`v1/blocks/${height}`);
    return explorerHref.block(height);
  }
  const hex = text.replace(/^0x/i, "").toLowerCase();
  if (/^[0-9a-f]{64}$/.test(hex)) {
    try {
      const block = await getJson(`v1/blocks/by-id/0x${hex}`);
      return explorerHref.block(block.height);
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    await getJson(`v1/transactions/0x${hex}`);
    return explorerHref.tx(`0x${hex}`);
  }
  if (/^[0-9a-f]{40}$/.test(hex)) return explorerHref.account(`0x${hex}`);
  const symbol = text.toUpperCase(); // symbols are upper case: "cny" finds CNY
  if (SYMBOL.test(symbol)) {
    await getJson(`v1/assets/${encodeURIComponent(symbol)}`);
    return explorerHref.asset(symbol);
  }
  return null;
}

function Search() {
  const t = useT();
  const [query, setQuery] = useState("");
  const [outcome, setOutcome] = useState(null); // {k, query} after a failed search
  const [busy, setBusy] = useState(false);

  const submit = async (event) => {
    event.preventDefault();
    const text = query.trim();
    if (!text) return;
    setBusy(true);
    setOutcome(null);
    try {
      const target = await resolveSearch(text);
      if (target) {
        setQuery("");
        window.location.hash = target;
      }
      else setOutcome({ k: "explorer.search.notfound", query: text });
    } catch (error) {
      setOutcome({ k: isMissing(error) ? "explorer.search.notfound" : "explorer.search.failed", query: text });
    } finally {
      setBusy(false);
    }
  };

  return html`
    <form class="search" role="search" onSubmit=${submit} aria-label=${t("explorer.search.label")}>
      <${T} as="label" for="explorer-search" k="explorer.search.label" />
      <div class="search-row">
        <input
          id="explorer-search"
          type="search"
          autocomplete="off"
          spellcheck="false"
          value=${query}
          placeholder=${t("explorer.search.placeholder")}
          aria-describedby="explorer-search-hint"
          onInput=${(event) => setQuery(event.currentTarget.value)}
        />
        <button type="submit" disabled=${busy}><${T} k="explorer.search.button" /></button>
      </div>
      <${T} as="p" class="hint" id="explorer-search-hint" k="explorer.search.hint" />
      <div role="status" aria-live="polite" id="explorer-search-result">
        ${outcome ? html`<${T} as="p" class="notice" k=${outcome.k} p=${{ query: outcome.query }} />` : null}
      </div>
    </form>
  `;
}

// --- latest blocks -------------------------------------------------------------

function Latest({ feed }) {
  const t = useT();
  const blocks = feed.blocks.slice(-LATEST_BLOCKS).reverse();
  return html`
    <section aria-labelledby="latest-heading">
      <${T} as="h2" id="latest-heading" k="explorer.latest.heading" />
      <${T} as="p" class="explain" k="explorer.latest.explain" />
      ${blocks.length === 0
        ? html`<${T} as="p" class="empty" k="common.loading" />`
        : html`
            <div class="table-wrap" role="region" aria-labelledby="latest-heading" tabindex="0">
              <table id="latest-blocks">
                <${T} as="caption" k="explorer.latest.caption" p=${{ count: t.number(blocks.length) }} />
                <thead>
                  <tr>
                    <${T} as="th" scope="col" k="explorer.col.height" />
                    <${T} as="th" scope="col" k="explorer.col.time" />
                    <${T} as="th" scope="col" k="explorer.col.txs" />
                  </tr>
                </thead>
                <tbody>
                  ${blocks.map(
                    (block) => html`
                      <tr key=${block.height} data-height=${block.height}>
                        <td><a href=${explorerHref.block(block.height)} data-value="height">${block.height}</a></td>
                        <td data-value="time">${formatTime(t, block.timestampMs)}</td>
                        <td data-value="txs">${t.number(block.txCount)}</td>
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

// --- block ---------------------------------------------------------------------

async function loadBlock(height) {
  const block = await getJson(`v1/blocks/${height}`);
  const epochs = new Set([block.header.epoch]);
  if (block.certificate) epochs.add(block.certificate.epoch);
  const loaded = await Promise.all([...epochs].map((n) => loadEpoch(n).then((epoch) => [n, epoch])));
  const txIds = block.transactions.slice(0, MAX_TX_ROWS);
  const txs = await Promise.all(txIds.map((id) => getJson(`v1/transactions/${id}`).catch(() => ({ tx_id: id }))));
  return { block, epochs: new Map(loaded), txs };
}

function BlockView({ height }) {
  const t = useT();
  // A block whose certificate is not stored yet is re-read until it is (a few seconds at most).
  const { phase, data } = useLoad(height, () => loadBlock(height), (d) => (d.block.certificate ? null : 1000));
  if (phase !== "ok") return html`<${Phase} phase=${phase} missing="explorer.block.missing" p=${{ height: t.number(height) }} />`;
  const { block, epochs, txs } = data;
  const header = block.header;
  const proposer = epochs.get(header.epoch)?.validators[header.proposer];
  return html`
    <section aria-labelledby="block-heading" id="block-view">
      <${T} as="h2" id="block-heading" k="explorer.block.heading" />
      <${Fields}
        id="block-fields"
        rows=${[
          ["explorer.field.height", html`<span data-value="height">${header.height}</span>`],
          ["explorer.field.id", html`<${FullHex} value=${block.id} name="id" />`],
          ["explorer.field.parent", html`<a href=${explorerHref.block(header.height - 1)}><${Hex} value=${header.parent_id} name="parent" /></a>`],
          ["explorer.field.epoch", html`<span data-value="epoch">${t.number(header.epoch)}</span>`],
          ["explorer.field.round", html`<span data-value="round">${t.number(header.round)}</span>`],
          [
            "explorer.field.proposer",
            proposer
              ? html`<${T} k="explorer.validator" p=${{ name: proposer.name, organisation: proposer.organisation }} />`
              : html`<span data-value="proposer">#${header.proposer}</span>`,
          ],
          ["explorer.field.time", html`<span data-value="time">${formatTime(t, header.timestamp_ms)}</span>`],
          ["explorer.field.tx_count", html`<span data-value="tx_count">${t.number(header.tx_count)}</span>`],
          ["explorer.field.state_height", html`<span data-value="state_height">${t.number(header.state_height)}</span>`],
          ["explorer.field.state_root", html`<${FullHex} value=${header.state_root} name="state_root" />`],
          ["explorer.field.tx_root", html`<${FullHex} value=${header.tx_root} name="tx_root" />`],
          ["explorer.field.receipts_root", html`<${FullHex} value=${header.receipts_root} name="receipts_root" />`],
        ]}
      />
      <${T} as="p" class="explain" k="explorer.block.state_explain" />
      <p><a href=${proofsHref.block(header.height)} id="block-proof-link"><${T} k="explorer.block.check" /></a></p>
    </section>
    <${Certificate} certificate=${block.certificate} epoch=${block.certificate && epochs.get(block.certificate.epoch)} />
    <${BlockTransactions} block=${block} txs=${txs} />
  `;
}

function Certificate({ certificate, epoch }) {
  const t = useT();
  let body;
  if (!certificate || !epoch) {
    body = html`<${T} as="p" class="empty" k="explorer.qc.pending" />`;
  } else {
    const total = epoch.validators.reduce((sum, v) => sum + v.weight, 0);
    const quorum = quorumOf(total);
    const signers = certificate.signers.map((index) => ({ index, validator: epoch.validators[index] }));
    const signed = signers.reduce((sum, s) => sum + (s.validator?.weight ?? 0), 0);
    body = html`
      <div class="table-wrap" role="region" aria-labelledby="qc-heading" tabindex="0">
        <table id="qc-signers">
          <${T} as="caption" k="explorer.qc.caption" p=${{ count: t.number(signers.length), epoch: t.number(certificate.epoch) }} />
          <thead>
            <tr>
              <${T} as="th" scope="col" k="validators.col.index" />
              <${T} as="th" scope="col" k="validators.col.name" />
              <${T} as="th" scope="col" k="validators.col.organisation" />
              <${T} as="th" scope="col" k="validators.col.weight" />
            </tr>
          </thead>
          <tbody>
            ${signers.map(
              ({ index, validator }) => html`
                <tr key=${index}>
                  <td data-value="index">${index}</td>
                  <td data-value="name">${validator?.name ?? "—"}</td>
                  <td data-value="organisation">${validator?.organisation ?? "—"}</td>
                  <td data-value="weight">${t.number(validator?.weight ?? 0)}</td>
                </tr>
              `,
            )}
          </tbody>
        </table>
      </div>
      <p id="qc-tally">
        <${T}
          k="explorer.qc.tally"
          p=${{ signed: t.number(signed), total: t.number(total), quorum: t.number(quorum) }}
        />
        ${" "}
        <${T} class=${`badge ${signed >= quorum ? "badge-ok" : "badge-bad"}`} k=${signed >= quorum ? "explorer.qc.reached" : "explorer.qc.short"} />
      </p>
    `;
  }
  return html`
    <section aria-labelledby="qc-heading" id="qc-view">
      <${T} as="h2" id="qc-heading" k="explorer.qc.heading" />
      <${T} as="p" class="explain" k="explorer.qc.explain" />
      ${body}
    </section>
  `;
}

function Status({ value }) {
  return html`<span class=${`status ${value === "OK" ? "status-ok" : "status-bad"}`} data-value="status">${value}</span>`;
}

function TxRows({ txs, captionKey, captionParams, id }) {
  return html`
    <div class="table-wrap" role="region" aria-labelledby=${`${id}-caption`} tabindex="0">
      <table id=${id}>
        <${T} as="caption" id=${`${id}-caption`} k=${captionKey} p=${captionParams} />
        <thead>
          <tr>
            <${T} as="th" scope="col" k="explorer.col.tx" />
            <${T} as="th" scope="col" k="explorer.col.height" />
            <${T} as="th" scope="col" k="explorer.col.sender" />
            <${T} as="th" scope="col" k="explorer.col.call" />
            <${T} as="th" scope="col" k="explorer.col.status" />
          </tr>
        </thead>
        <tbody>
          ${txs.map(
            (record) => html`
              <tr key=${record.tx_id} data-tx=${record.tx_id}>
                <td><${Hex} value=${record.tx_id} name="tx_id" href=${explorerHref.tx(record.tx_id)} /></td>
                <td>${record.height !== undefined ? html`<a href=${explorerHref.block(record.height)} data-value="height">${record.height}</a>` : none("height")}</td>
                <td>${record.tx ? html`<${Hex} value=${record.tx.sender} name="sender" href=${explorerHref.account(record.tx.sender)} />` : none("sender")}</td>
                <td>${record.tx ? html`<code data-value="call">${record.tx.module}.${record.tx.method}</code>` : none("call")}</td>
                <td>${record.receipt ? html`<${Status} value=${record.receipt.status} />` : html`<${T} k="explorer.tx.pending_short" />`}</td>
              </tr>
            `,
          )}
        </tbody>
      </table>
    </div>
  `;
}

function BlockTransactions({ block, txs }) {
  const t = useT();
  const total = block.transactions.length;
  return html`
    <section aria-labelledby="block-txs-heading">
      <${T} as="h2" id="block-txs-heading" k="explorer.block.txs_heading" />
      ${total === 0
        ? html`<${T} as="p" class="empty" k="explorer.block.no_txs" />`
        : html`<${TxRows}
            id="block-txs"
            txs=${txs}
            captionKey=${total > txs.length ? "explorer.block.txs_caption_first" : "explorer.block.txs_caption"}
            captionParams=${{ shown: t.number(txs.length), count: t.number(total) }}
          />`}
    </section>
  `;
}

// --- transaction ---------------------------------------------------------------

function TxView({ id }) {
  const t = useT();
  // A pending transaction is re-read every second until it commits.
  const { phase, data } = useLoad(id, () => getJson(`v1/transactions/${id}`), (d) => (d.status === "pending" ? 1000 : null));
  if (phase !== "ok") return html`<${Phase} phase=${phase} missing="explorer.tx.missing" p=${{ id }} />`;
  if (data.status === "pending") {
    return html`
      <section aria-labelledby="tx-heading" id="tx-view">
        <${T} as="h2" id="tx-heading" k="explorer.tx.heading" />
        <${Fields} rows=${[["explorer.field.tx_id", html`<${FullHex} value=${data.tx_id} name="tx_id" />`]]} />
        <${T} as="p" class="notice" role="status" k="explorer.tx.pending" />
      </section>
    `;
  }
  const { tx, receipt } = data;
  return html`
    <section aria-labelledby="tx-heading" id="tx-view">
      <${T} as="h2" id="tx-heading" k="explorer.tx.heading" />
      <${Fields}
        id="tx-fields"
        rows=${[
          ["explorer.field.tx_id", html`<${FullHex} value=${data.tx_id} name="tx_id" />`],
          [
            "explorer.field.position",
            html`<${T}
              k="explorer.tx.position"
              p=${{ height: html`<a href=${explorerHref.block(data.height)}>${data.height}</a>`, index: t.number(data.index) }}
            />`,
          ],
          ["explorer.field.chain", html`<span data-value="chain_id">${tx.chain_id}</span>`],
          ["explorer.field.sender", html`<a href=${explorerHref.account(tx.sender)}><${FullHex} value=${tx.sender} name="sender" /></a>`],
          ["explorer.field.nonce", html`<span data-value="nonce">${t.number(tx.nonce)}</span>`],
          ["explorer.field.call", html`<code data-value="call">${tx.module}.${tx.method}</code>`],
          [
            "explorer.field.args",
            tx.args_decoded === null || tx.args_decoded === undefined
              ? html`<${FullHex} value=${tx.args} name="args" />`
              : html`<pre class="json" data-value="args">${JSON.stringify(tx.args_decoded, null, 2)}</pre>`,
          ],
          ["explorer.field.gas_limit", html`<span data-value="gas_limit">${t.number(tx.gas_limit)}</span>`],
          ["explorer.field.expiry", html`<span data-value="expiry_height">${t.number(tx.expiry_height)}</span>`],
          ["explorer.field.key_type", html`<span data-value="key_type">${tx.key_type}</span>`],
          ["explorer.field.public_key", html`<${FullHex} value=${tx.public_key} name="public_key" />`],
          ["explorer.field.signature", html`<${FullHex} value=${tx.signature} name="signature" />`],
        ]}
      />
      <p><a href=${proofsHref.tx(data.tx_id)} id="tx-proof-link"><${T} k="explorer.tx.check" /></a></p>
    </section>
    <section aria-labelledby="receipt-heading" id="receipt-view">
      <${T} as="h2" id="receipt-heading" k="explorer.receipt.heading" />
      <${T} as="p" class="explain" k="explorer.receipt.explain" />
      <${Fields}
        id="receipt-fields"
        rows=${[
          ["explorer.field.status", html`<${Status} value=${receipt.status} />`],
          [
            "explorer.field.message",
            receipt.message ? html`<span data-value="message">${receipt.message}</span>` : html`<${T} k="explorer.receipt.no_message" />`,
          ],
          ["explorer.field.gas_used", html`<span data-value="gas_used">${t.number(receipt.gas_used)}</span>`],
        ]}
      />
      <${Events} events=${receipt.events} />
    </section>
  `;
}

function Events({ events }) {
  const t = useT();
  const types = useEventTypes();
  if (events.length === 0) return html`<${T} as="p" class="empty" k="explorer.events.none" />`;
  return html`
    <div class="table-wrap" role="region" aria-labelledby="events-caption" tabindex="0">
      <table id="receipt-events">
        <${T} as="caption" id="events-caption" k="explorer.events.caption" p=${{ count: t.number(events.length) }} />
        <thead>
          <tr>
            <${T} as="th" scope="col" k="explorer.col.module" />
            <${T} as="th" scope="col" k="explorer.col.event" />
            <${T} as="th" scope="col" k="explorer.col.attributes" />
          </tr>
        </thead>
        <tbody>
          ${events.map(
            (event, i) => html`
              <tr key=${i}>
                <td data-value="module">${event.module}</td>
                <td data-value="name">${event.name}</td>
                <td class="wrap"><${EventAttributes} attributes=${event.attributes} fields=${types[`${event.module}/${event.name}`]} /></td>
              </tr>
            `,
          )}
        </tbody>
      </table>
    </div>
  `;
}

// --- account -------------------------------------------------------------------

async function loadAccount(address) {
  const account = await getJson(`v1/accounts/${address}`);
  const ids = account.recent_transactions.slice(0, MAX_ACCOUNT_TXS);
  const txs = await Promise.all(ids.map((id) => getJson(`v1/transactions/${id}`).catch(() => ({ tx_id: id }))));
  return { account, txs };
}

function AccountView({ address }) {
  const t = useT();
  const { phase, data } = useLoad(address, () => loadAccount(address));
  if (phase !== "ok") return html`<${Phase} phase=${phase} missing="explorer.account.missing" p=${{ address }} />`;
  const { account, txs } = data;
  return html`
    <section aria-labelledby="account-heading" id="account-view">
      <${T} as="h2" id="account-heading" k="explorer.account.heading" />
      ${account.exists ? null : html`<${T} as="p" class="notice" role="status" k="explorer.account.unused" />`}
      <${Fields}
        id="account-fields"
        rows=${[
          ["explorer.field.address", html`<${FullHex} value=${account.address} name="address" />`],
          ["explorer.field.nonce", html`<span data-value="nonce">${t.number(account.nonce)}</span>`],
          ["explorer.field.frozen", html`<${T} k=${account.frozen ? "explorer.account.frozen" : "explorer.account.active"} />`],
          ["explorer.field.as_of", html`<a href=${explorerHref.block(account.height)} data-value="height">${account.height}</a>`],
        ]}
      />
    </section>
    <section aria-labelledby="keys-heading">
      <${T} as="h2" id="keys-heading" k="explorer.keys.heading" />
      ${account.keys.length === 0
        ? html`<${T} as="p" class="empty" k="explorer.keys.none" />`
        : html`
            <div class="table-wrap" role="region" aria-labelledby="keys-heading" tabindex="0">
              <table id="account-keys">
                <${T} as="caption" k="explorer.keys.caption" p=${{ count: t.number(account.keys.length) }} />
                <thead>
                  <tr>
                    <${T} as="th" scope="col" k="explorer.col.key_type" />
                    <${T} as="th" scope="col" k="explorer.col.public_key" />
                  </tr>
                </thead>
                <tbody>
                  ${account.keys.map(
                    (key) => html`
                      <tr key=${key.public_key}>
                        <td data-value="key_type">${key.key_type}</td>
                        <td><${Hex} value=${key.public_key} name="public_key" /></td>
                      </tr>
                    `,
                  )}
                </tbody>
              </table>
            </div>
          `}
    </section>
    <section aria-labelledby="balances-heading">
      <${T} as="h2" id="balances-heading" k="explorer.balances.heading" />
      ${account.balances.length === 0
        ? html`<${T} as="p" class="empty" k="explorer.balances.none" />`
        : html`
            <div class="table-wrap" role="region" aria-labelledby="balances-heading" tabindex="0">
              <table id="account-balances">
                <${T} as="caption" k="explorer.balances.caption" p=${{ count: t.number(account.balances.length) }} />
                <thead>
                  <tr>
                    <${T} as="th" scope="col" k="explorer.col.symbol" />
                    <${T} as="th" scope="col" k="explorer.col.amount" />
                  </tr>
                </thead>
                <tbody>
                  ${account.balances.map(
                    (balance) => html`
                      <tr key=${balance.symbol}>
                        <td><${SymbolLink} symbol=${balance.symbol} /></td>
                        <td data-value="amount">${t.number(balance.amount)}</td>
                      </tr>
                    `,
                  )}
                </tbody>
              </table>
            </div>
          `}
      <${T} as="p" class="explain" k="explorer.balances.explain" />
    </section>
    <section aria-labelledby="account-txs-heading">
      <${T} as="h2" id="account-txs-heading" k="explorer.account.txs_heading" />
      ${txs.length === 0
        ? html`<${T} as="p" class="empty" k="explorer.account.no_txs" />`
        : html`<${TxRows}
            id="account-txs"
            txs=${txs}
            captionKey="explorer.account.txs_caption"
            captionParams=${{ count: t.number(txs.length) }}
          />`}
    </section>
  `;
}
