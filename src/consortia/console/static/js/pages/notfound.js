// What the console shows for an address no page owns.
import { html } from "../html.js";
import { T } from "../i18n.js";

export function NotFound() {
  return html`
    <h1 tabindex="-1" data-autofocus><${T} k="notfound.title" /></h1>
    <p><a href="#/"><${T} k="notfound.back" /></a></p>
  `;
}
