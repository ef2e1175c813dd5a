// Entry point: load both message catalogues, start the live feed, render the shell.
import { render } from "preact";
import { html } from "./html.js";
import { initialLanguage, loadCatalogues } from "./i18n.js";
import { ChainFeed } from "./feed.js";
import { App } from "./app.js";

async function main() {
  const catalogues = await loadCatalogues();
  const feed = new ChainFeed();
  feed.start();
  window.consortiaConsole = { feed }; // for tests and the browser's developer tools
  render(html`<${App} catalogues=${catalogues} initialLang=${initialLanguage()} feed=${feed} />`, document.getElementById("app"));
}

main().catch((error) => {
  // The catalogues themselves did not load: nothing translatable to show, so say it in both languages.
  console.error(error);
  document.getElementById("app").textContent =
    "The console could not load its files from the node; reload to retry. · 无法从节点加载控制台文件，请刷新重试。";
});
