// What every explorer view shares: its addresses, loading a document by key,
// and the small pieces views are built from (hex values, labelled fields, the
// loading / missing / failed notice). Contracts and governance use them too,
// through the re-exports of ../explorer.js.
import { useEffect, useState } from "preact/hooks";
import { html } from "../../html.js";
import { T } from "../../i18n.js";
import { ApiError } from "../../api.js";
import { shortHex } from "../../metrics.js";

const DATE_LOCALE = { en: "en-US", zh: "zh-CN" };

/** Hash addresses of the explorer's views. */
export const explorerHref = {
  home: () => "#/explorer",
  block: (height) => `#/explorer/block/${height}`,
  tx: (id) => `#/explorer/tx/${id}`,
  account: (address) => `#/explorer/account/${address}`,
  assets: () => "#/explorer/assets",
  asset: (symbol) => `#/explorer/asset/${encodeURIComponent(symbol)}`,
  events: (module) => (module ? `#/explorer/events/${encodeURIComponent(module)}` : "#/explorer/events"),
};

export const none = (name) => html`<span data-value=${name}>—</span>`;

export const isMissing = (error) => error instanceof ApiError && error.status >= 400 && error.status < 500;

/**
 * Run `loader` when `key` changes: {phase: "loading" | "ok" | "missing" | "failed", data}.
 * `again(data)` may return a delay in ms to reload (a pending transaction, a block
 * whose certificate is not stored yet).
 */
export function useLoad(key, loader, again = () => null) {
  const [result, setResult] = useState({ key, phase: "loading", data: null });
  useEffect(() => {
    let live = true;
    let timer = null;
    const run = async () => {
      try {
        const data = await loader();
        if (!live) return;
        setResult({ key, phase: "ok", data });
        const delay = again(data);
        if (delay !== null) timer = setTimeout(run, delay);
      } catch (error) {
        if (live) setResult({ key, phase: isMissing(error) ? "missing" : "failed", data: null });
      }
    };
    setResult({ key, phase: "loading", data: null });
    run();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [key]);
  return result.key === key ? result : { key, phase: "loading", data: null };
}

export function formatTime(t, ms) {
  return new Intl.DateTimeFormat(DATE_LOCALE[t.lang], { dateStyle: "medium", timeStyle: "medium" }).format(
    new Date(ms),
  );
}

export function Hex({ value, name, href }) {
  const code = html`<code data-value=${name} title=${value}>${shortHex(value, 8)}</code>`;
  return href ? html`<a href=${href}>${code}</a>` : code;
}

export function FullHex({ value, name }) {
  return html`<code class="hex" data-value=${name}>${value}</code>`;
}

/** A definition list of labelled fields: [[key, value vnode], ...]. */
export function Fields({ rows, id }) {
  return html`
    <dl class="fields" id=${id}>
      ${rows.map(
        ([key, value]) => html`
          <div key=${key} data-field=${key.split(".").at(-1)}>
            <dt><${T} k=${key} /></dt>
            <dd>${value}</dd>
          </div>
        `,
      )}
    </dl>
  `;
}

export function Phase({ phase, missing, p }) {
  if (phase === "loading") return html`<${T} as="p" class="empty" k="common.loading" />`;
  if (phase === "missing") return html`<${T} as="p" class="notice" role="status" k=${missing} p=${p} />`;
  return html`<${T} as="p" class="notice" role="status" k="explorer.failed" />`;
}

/** A "show more" button that runs `load` (an async function) and says when it failed. */
export function MoreButton({ k, load, id }) {
  const [state, setState] = useState("idle"); // idle | busy | failed
  const click = async () => {
    setState("busy");
    try {
      await load();
      setState("idle");
    } catch {
      setState("failed");
    }
  };
  return html`
    <div class="more">
      <button type="button" id=${id} disabled=${state === "busy"} onClick=${click}><${T} k=${k} /></button>
      <div role="status" aria-live="polite">
        ${state === "failed" ? html`<${T} as="p" class="notice" k="explorer.failed" />` : null}
      </div>
    </div>
  `;
}
