// The console's shell: skip link, header (chain, node, language), navigation,
// the "node unreachable" banner and the current page (hash routes: #/, #/explorer, ...).
// A page owns the routes under its path: #/explorer/block/12 is the explorer page
// with the route ["block", "12"].
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { html } from "./html.js";
import { I18n, LANGUAGES, T, makeTranslator, rememberLanguage, useT } from "./i18n.js";
import { useFeed } from "./feed.js";
import { Dashboard } from "./pages/dashboard.js";
import { Explorer } from "./pages/explorer.js";
import { Governance } from "./pages/governance.js";
import { Contracts } from "./pages/contracts.js";
import { Proofs } from "./pages/proofs.js";
import { NotFound } from "./pages/notfound.js";

/** Pages in navigation order. */
export const PAGES = [
  { id: "dashboard", path: "/", view: Dashboard },
  { id: "explorer", path: "/explorer", view: Explorer },
  { id: "proofs", path: "/proofs", view: Proofs },
  { id: "governance", path: "/governance", view: Governance },
  { id: "contracts", path: "/contracts", view: Contracts },
];

function currentPath() {
  const path = window.location.hash.replace(/^#/, "");
  return path === "" ? "/" : path;
}

/** The page owning `path` and the rest of the path as segments (decoded), or null. */
export function matchPage(path) {
  for (const page of PAGES) {
    if (path === page.path) return { page, route: [] };
    if (page.path !== "/" && path.startsWith(`${page.path}/`)) {
      const rest = path.slice(page.path.length + 1).split("/").filter((part) => part !== "");
      return { page, route: rest.map((part) => safeDecode(part)) };
    }
  }
  return null;
}

function safeDecode(part) {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function useRoute() {
  const [path, setPath] = useState(currentPath());
  useEffect(() => {
    const onHash = () => setPath(currentPath());
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);
  return path;
}

export function App({ catalogues, initialLang, feed }) {
  const [lang, setLang] = useState(initialLang);
  const t = useMemo(() => makeTranslator(lang, catalogues[lang]), [lang, catalogues]);
  const state = useFeed(feed);
  const path = useRoute();
  const match = matchPage(path);
  const page = match?.page;

  const navigated = useRef(false);

  useEffect(() => rememberLanguage(lang), [lang]);
  useEffect(() => {
    document.title = t("app.title", { page: t(page ? `nav.${page.id}` : "notfound.title"), app: t("app.name") });
  }, [t, page]);
  useEffect(() => {
    // After navigation (not the first load), move focus to the new page's heading.
    if (navigated.current) document.querySelector("[data-autofocus]")?.focus();
    navigated.current = true;
  }, [path]);

  let content;
  if (!page) content = html`<${NotFound} />`;
  else content = html`<${page.view} feed=${state} route=${match.route} />`;

  return html`
    <${I18n.Provider} value=${t}>
      <a class="skip-link" href="#main" onClick=${skipToMain}><${T} k="app.skip" /></a>
      <${Header} status=${state.status} lang=${lang} setLang=${setLang} reachable=${state.reachable} />
      <${Nav} current=${page?.id} />
      ${state.reachable === false ? html`<${Banner} />` : null}
      <main id="main" tabindex="-1">${content}</main>
    <//>
  `;
}

function skipToMain(event) {
  event.preventDefault(); // keep the hash route; just move focus
  document.getElementById("main")?.focus();
}

function Header({ status, lang, setLang, reachable }) {
  const t = useT();
  return html`
    <header class="masthead">
      <div class="brand">
        <${T} class="brand-name" k="app.name" />
        <${T} class="brand-sub" k="app.tagline" />
      </div>
      <dl class="facts">
        <div><dt><${T} k="header.chain" /></dt><dd data-value="chain_id">${status?.chain_id ?? "—"}</dd></div>
        <div><dt><${T} k="header.node" /></dt><dd data-value="node">${status?.name ?? "—"}</dd></div>
        <div>
          <dt><${T} k="header.suite" /></dt>
          <dd>${status ? html`<${T} k=${`suite.${status.suite}`} />` : html`<span data-value="suite">—</span>`}</dd>
        </div>
        <div>
          <dt><${T} k="header.connection" /></dt>
          <dd>
            <${T}
              class=${`live live-${reachable === false ? "down" : reachable ? "up" : "wait"}`}
              k=${reachable === false ? "header.offline" : reachable ? "header.live" : "common.connecting"}
            />
          </dd>
        </div>
      </dl>
      <div class="lang" role="group" aria-label=${t("lang.label")}>
        ${LANGUAGES.map(
          (code) => html`
            <button
              type="button"
              lang=${code === "zh" ? "zh-CN" : "en"}
              aria-pressed=${lang === code ? "true" : "false"}
              onClick=${() => setLang(code)}
            >
              <${T} k=${`lang.${code}`} />
            </button>
          `,
        )}
      </div>
    </header>
  `;
}

function Nav({ current }) {
  const t = useT();
  return html`
    <nav class="nav" aria-label=${t("nav.label")}>
      <ul>
        ${PAGES.map(
          (page) => html`
            <li key=${page.id}>
              <a href=${`#${page.path}`} aria-current=${page.id === current ? "page" : undefined}>
                <${T} k=${`nav.${page.id}`} />
              </a>
            </li>
          `,
        )}
      </ul>
    </nav>
  `;
}

function Banner() {
  return html`
    <div class="banner" role="alert" id="node-banner">
      <${T} as="strong" k="banner.title" />
      <${T} k="banner.body" />
    </div>
  `;
}
