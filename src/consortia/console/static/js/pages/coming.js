// Placeholder for a page a later release adds: says what it will show.
import { html } from "../html.js";
import { T } from "../i18n.js";

export function Coming({ page }) {
  return html`
    <h1 tabindex="-1" data-autofocus><${T} k=${`nav.${page}`} /></h1>
    <${T} as="p" class="lede" k=${`coming.${page}`} />
    <p><${T} class="badge" k="nav.coming" /> <${T} k="coming.note" /></p>
    <p><a href="#/"><${T} k="coming.back" /></a></p>
  `;
}

export function NotFound() {
  return html`
    <h1 tabindex="-1" data-autofocus><${T} k="notfound.title" /></h1>
    <p><a href="#/"><${T} k="coming.back" /></a></p>
  `;
}
