// Assets: every asset defined on the chain (GET /v1/assets, by symbol, a page
// at a time) and one asset — its definition, supply and holders
// (GET /v1/assets/{symbol}/holders, which the node reads in bounded pages).
//
// Routes (after #/explorer): /assets, /asset/{SYMBOL}.
import { useState } from "preact/hooks";
import { html } from "../../html.js";
import { T, useT } from "../../i18n.js";
import { getJson } from "../../api.js";
import { Fields, FullHex, Hex, MoreButton, Phase, explorerHref, useLoad } from "./common.js";

const ASSET_PAGE = 100;
const HOLDER_PAGE = 100;
const RULES = ["fixed", "capped", "unlimited"];

/** What a symbol may look like (modules/assets/types.py `Symbol`): symbols are upper case. */
export const SYMBOL = /^[A-Z][A-Z0-9._-]{0,31}$/;

const assetPath = (symbol) => `v1/assets/${encodeURIComponent(symbol)}`;

/** An asset symbol linking to its view. */
export function SymbolLink({ symbol, name = "symbol" }) {
  return html`<a href=${explorerHref.asset(symbol)} data-value=${name}>${symbol}</a>`;
}

const NUMBER_LOCALE = { en: "en-US", zh: "zh-CN" };

/** `part` of `whole` as a percentage with two decimals, for the language. */
function percent(t, part, whole) {
  const format = { style: "percent", minimumFractionDigits: 2, maximumFractionDigits: 2 };
  return new Intl.NumberFormat(NUMBER_LOCALE[t.lang], format).format(part / whole);
}

/** `amount` base units in whole units of an asset with `decimals` places. */
export function units(t, amount, decimals) {
  return t.number(amount / 10 ** decimals, decimals);
}

function Rule({ rule }) {
  return RULES.includes(rule) ? html`<${T} k=${`explorer.rule.${rule}`} />` : html`<span data-value="rule">${rule}</span>`;
}

// --- every asset ----------------------------------------------------------------

export function AssetsView() {
  const t = useT();
  const { phase, data } = useLoad("assets", () => getJson(`v1/assets?limit=${ASSET_PAGE}`));
  const [more, setMore] = useState([]); // pages after the first
  let body;
  if (phase !== "ok") body = html`<${Phase} phase=${phase} missing="explorer.failed" />`;
  else if (data.assets.length === 0) body = html`<${T} as="p" class="empty" k="explorer.assets.none" />`;
  else {
    const pages = [data, ...more];
    const assets = pages.flatMap((page) => page.assets);
    const next = pages.at(-1).next;
    const loadMore = async () => {
      const page = await getJson(`v1/assets?limit=${ASSET_PAGE}&after=${encodeURIComponent(next)}`);
      setMore((loaded) => [...loaded, page]);
    };
    body = html`
      <div class="table-wrap" role="region" aria-labelledby="assets-caption" tabindex="0">
        <table id="assets-list">
          <${T} as="caption" id="assets-caption" k="explorer.assets.caption" p=${{ count: t.number(assets.length), height: data.height }} />
          <thead>
            <tr>
              <${T} as="th" scope="col" k="explorer.col.symbol" />
              <${T} as="th" scope="col" k="explorer.col.name" />
              <${T} as="th" scope="col" k="explorer.col.issuer" />
              <${T} as="th" scope="col" k="explorer.col.decimals" />
              <${T} as="th" scope="col" k="explorer.col.rule" />
              <${T} as="th" scope="col" k="explorer.col.supply" />
            </tr>
          </thead>
          <tbody>
            ${assets.map(
              (asset) => html`
                <tr key=${asset.symbol} data-asset=${asset.symbol}>
                  <td><${SymbolLink} symbol=${asset.symbol} /></td>
                  <td class="wrap" data-value="name">${asset.name}</td>
                  <td><${Hex} value=${asset.issuer} name="issuer" href=${explorerHref.account(asset.issuer)} /></td>
                  <td data-value="decimals">${t.number(asset.decimals)}</td>
                  <td><${Rule} rule=${asset.supply_rule} /></td>
                  <td data-value="supply">${t.number(asset.supply)}</td>
                </tr>
              `,
            )}
          </tbody>
        </table>
      </div>
      ${next === null ? null : html`<${MoreButton} id="assets-more" k="explorer.assets.more" load=${loadMore} />`}
    `;
  }
  return html`
    <section aria-labelledby="assets-heading" id="assets-view">
      <${T} as="h2" id="assets-heading" k="explorer.assets.heading" />
      <${T} as="p" class="explain" k="explorer.assets.explain" />
      ${body}
    </section>
  `;
}

// --- one asset ------------------------------------------------------------------

async function loadAsset(symbol) {
  const [asset, holders] = await Promise.all([
    getJson(assetPath(symbol)),
    getJson(`${assetPath(symbol)}/holders?limit=${HOLDER_PAGE}`),
  ]);
  return { asset, holders };
}

export function AssetView({ symbol }) {
  const t = useT();
  const { phase, data } = useLoad(symbol, () => loadAsset(symbol));
  if (phase !== "ok") return html`<${Phase} phase=${phase} missing="explorer.asset.missing" p=${{ symbol }} />`;
  const { asset, holders } = data;
  const amount = (value) =>
    html`<${T} k="explorer.asset.units" p=${{ amount: t.number(value), units: units(t, value, asset.decimals), symbol: asset.symbol }} />`;
  return html`
    <section aria-labelledby="asset-heading" id="asset-view">
      <${T} as="h2" id="asset-heading" k="explorer.asset.heading" />
      <${Fields}
        id="asset-fields"
        rows=${[
          ["explorer.field.symbol", html`<span data-value="symbol">${asset.symbol}</span>`],
          ["explorer.field.name", html`<span data-value="name">${asset.name}</span>`],
          ["explorer.field.issuer", html`<a href=${explorerHref.account(asset.issuer)}><${FullHex} value=${asset.issuer} name="issuer" /></a>`],
          ["explorer.field.decimals", html`<span data-value="decimals">${t.number(asset.decimals)}</span>`],
          ["explorer.field.rule", html`<${Rule} rule=${asset.supply_rule} />`],
          ["explorer.field.max_supply", asset.supply_rule === "unlimited" ? html`<${T} k="explorer.asset.no_cap" />` : amount(asset.max_supply)],
          ["explorer.field.burnable", html`<${T} k=${asset.burnable ? "explorer.asset.burnable_yes" : "explorer.asset.burnable_no"} />`],
          ["explorer.field.supply", html`<span id="asset-supply">${amount(asset.supply)}</span>`],
          ["explorer.field.as_of", html`<a href=${explorerHref.block(holders.height)} data-value="height">${holders.height}</a>`],
        ]}
      />
      <${T} as="p" class="explain" k="explorer.asset.rule_explain" />
      <p><a href=${explorerHref.events("assets")} id="asset-events-link"><${T} k="explorer.asset.events_link" /></a></p>
    </section>
    <${Holders} key=${asset.symbol} asset=${asset} first=${holders} />
  `;
}

function Holders({ asset, first }) {
  const t = useT();
  const [more, setMore] = useState([]);
  const pages = [first, ...more];
  const holders = pages.flatMap((page) => page.holders);
  const next = pages.at(-1).next;
  const loadMore = async () => {
    const page = await getJson(`${assetPath(asset.symbol)}/holders?limit=${HOLDER_PAGE}&after=${next}`);
    setMore((loaded) => [...loaded, page]);
  };
  let table;
  if (holders.length === 0) {
    table = html`<${T} as="p" class="empty" k=${next === null ? "explorer.holders.none" : "explorer.holders.none_yet"} />`;
  } else {
    table = html`
      <div class="table-wrap" role="region" aria-labelledby="holders-caption" tabindex="0">
        <table id="asset-holders">
          <${T}
            as="caption"
            id="holders-caption"
            k=${next === null ? "explorer.holders.caption" : "explorer.holders.caption_partial"}
            p=${{ count: t.number(holders.length) }}
          />
          <thead>
            <tr>
              <${T} as="th" scope="col" k="explorer.col.address" />
              <${T} as="th" scope="col" k="explorer.col.amount" />
              <${T} as="th" scope="col" k="explorer.col.share" />
            </tr>
          </thead>
          <tbody>
            ${holders.map(
              (holder) => html`
                <tr key=${holder.address} data-holder=${holder.address}>
                  <td><${Hex} value=${holder.address} name="address" href=${explorerHref.account(holder.address)} /></td>
                  <td data-value="amount">${t.number(holder.amount)}</td>
                  <td data-value="share">${asset.supply > 0 ? percent(t, holder.amount, asset.supply) : "—"}</td>
                </tr>
              `,
            )}
          </tbody>
        </table>
      </div>
    `;
  }
  return html`
    <section aria-labelledby="holders-heading" id="holders-view">
      <${T} as="h2" id="holders-heading" k="explorer.holders.heading" />
      <${T} as="p" class="explain" k="explorer.holders.explain" />
      ${table}
      ${next === null ? null : html`<${MoreButton} id="holders-more" k="explorer.holders.more" load=${loadMore} />`}
    </section>
  `;
}
