// Events: what modules emitted while executing committed transactions and at
// the end of blocks, newest first (GET /v1/event-log), optionally of one
// module; and the attributes of an event, each labelled with the field type
// its module declares (GET /v1/event-types), with links to the accounts and
// assets they name.
//
// Routes (after #/explorer): /events, /events/{module}. The newest page is
// re-read every few seconds until older pages are loaded (after that the
// list stays put, so the pages fit together).
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "../../html.js";
import { T, useT } from "../../i18n.js";
import { getJson } from "../../api.js";
import { shortHex } from "../../metrics.js";
import { Hex, MoreButton, Phase, explorerHref, useLoad } from "./common.js";

const EVENT_PAGE = 50;
const RELOAD_MS = 2000;
const MODULE_NAME = /^[A-Za-z0-9_.:-]{1,64}$/; // codec `Name`
const ADDRESS = /^(0x)?[0-9a-fA-F]{40}$/;

function logPath(module, before) {
  const params = new URLSearchParams({ limit: String(EVENT_PAGE) });
  if (module) params.set("module", module);
  if (before) params.set("before", before);
  return `v1/event-log?${params}`;
}

let eventTypes = null; // Promise of {"module/name": {field: type}}, fetched once per page load

/** The declared field types of every module's events; a failed fetch is retried next time. */
export function loadEventTypes() {
  if (eventTypes === null) {
    eventTypes = getJson("v1/event-types").then(
      (list) =>
        Object.fromEntries(
          list.map((e) => [`${e.module}/${e.name}`, Object.fromEntries(e.fields.map((f) => [f.name, f.type]))]),
        ),
      () => {
        eventTypes = null;
        return {};
      },
    );
  }
  return eventTypes;
}

/** `{"module/name": {field: "uint" | "bytes" | "string"}}` once loaded, `{}` before. */
export function useEventTypes() {
  const [types, setTypes] = useState({});
  useEffect(() => {
    let live = true;
    loadEventTypes().then((loaded) => live && setTypes(loaded));
    return () => {
      live = false;
    };
  }, []);
  return types;
}

/**
 * An event's attributes, `key=value` each, in the order the module declares
 * its fields; each carries its declared type (`data-type`, and in its title).
 * Addresses (40 hex digits; modules write them without 0x) link to their
 * accounts, shortened, and `symbol` to its asset.
 */
export function EventAttributes({ attributes, fields = {} }) {
  const entries = Object.entries(attributes);
  return html`
    <span data-value="attributes" class="attributes">
      ${entries.map(([key, value], i) => {
        const type = fields[key] ?? "unknown";
        let shown = value;
        if (key === "symbol") shown = html`<a href=${explorerHref.asset(value)}>${value}</a>`;
        else if (ADDRESS.test(value)) {
          const address = value.startsWith("0x") ? value : `0x${value}`;
          shown = html`<a href=${explorerHref.account(address)} title=${address}>${shortHex(address, 8)}</a>`;
        }
        return html`${i > 0 ? ", " : ""}<code data-field=${key} data-type=${type} title=${`${key}: ${type}`}>${key}=${shown}</code>`;
      })}
    </span>
  `;
}

export function EventsView({ module }) {
  const t = useT();
  const types = useEventTypes();
  const paged = useRef(false);
  const [older, setOlder] = useState([]); // pages loaded with "load older"
  const valid = module === undefined || MODULE_NAME.test(module);
  const { phase, data } = useLoad(
    module ?? "",
    () => (valid ? getJson(logPath(module)) : Promise.resolve(null)),
    () => (paged.current || !valid ? null : RELOAD_MS),
  );

  let body;
  if (!valid) body = html`<${T} as="p" class="notice" role="status" k="explorer.events.bad_module" p=${{ module }} />`;
  else if (phase !== "ok") body = html`<${Phase} phase=${phase} missing="explorer.events.bad_module" p=${{ module }} />`;
  else {
    const pages = [data, ...older];
    const events = pages.flatMap((page) => page.events);
    const next = pages.at(-1).next;
    const range = { from: t.number(pages.at(-1).from_height), to: t.number(data.to_height) };
    const loadOlder = async () => {
      paged.current = true;
      const page = await getJson(logPath(module, next));
      setOlder((loaded) => [...loaded, page]);
    };
    let table;
    if (events.length === 0) {
      let k = "explorer.events.log_none_range";
      if (next === null) k = module ? "explorer.events.log_none_module" : "explorer.events.log_none";
      table = html`<${T} as="p" class="empty" id="events-empty" k=${k} p=${{ module, ...range }} />`;
    } else {
      table = html`
        <div class="table-wrap" role="region" aria-labelledby="event-log-caption" tabindex="0">
          <table id="event-log">
            <${T} as="caption" id="event-log-caption" k="explorer.events.log_caption" p=${{ count: t.number(events.length), ...range }} />
            <thead>
              <tr>
                <${T} as="th" scope="col" k="explorer.col.height" />
                <${T} as="th" scope="col" k="explorer.col.tx" />
                <${T} as="th" scope="col" k="explorer.col.module" />
                <${T} as="th" scope="col" k="explorer.col.event" />
                <${T} as="th" scope="col" k="explorer.col.attributes" />
              </tr>
            </thead>
            <tbody>
              ${events.map(
                (event) => html`
                  <tr key=${`${event.height}-${event.index}-${event.event}`} data-tx=${event.tx_id} data-event=${event.name}>
                    <td><a href=${explorerHref.block(event.height)} data-value="height">${event.height}</a></td>
                    <td>
                      ${event.tx_id === null
                        ? html`<${T} k="explorer.events.end_block" />`
                        : html`<${Hex} value=${event.tx_id} name="tx_id" href=${explorerHref.tx(event.tx_id)} />`}
                    </td>
                    <td><a href=${explorerHref.events(event.module)} data-value="module">${event.module}</a></td>
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
    body = html`
      ${table}
      ${next === null ? null : html`<${MoreButton} id="events-older" k="explorer.events.older" load=${loadOlder} />`}
    `;
  }
  return html`
    <section aria-labelledby="events-heading" id="events-view">
      <${T} as="h2" id="events-heading" k="explorer.events.heading" />
      <${T} as="p" class="explain" k="explorer.events.explain" />
      <${ModuleFilter} module=${module} />
      ${body}
    </section>
  `;
}

function ModuleFilter({ module }) {
  const [text, setText] = useState(module ?? "");
  const submit = (event) => {
    event.preventDefault();
    window.location.hash = explorerHref.events(text.trim());
  };
  return html`
    <form class="search" id="events-filter" onSubmit=${submit}>
      <${T} as="label" for="events-module" k="explorer.events.filter_label" />
      <div class="search-row">
        <input
          id="events-module"
          type="text"
          autocomplete="off"
          spellcheck="false"
          value=${text}
          aria-describedby="events-module-hint"
          onInput=${(event) => setText(event.currentTarget.value)}
        />
        <button type="submit"><${T} k="explorer.events.filter_button" /></button>
      </div>
      <${T} as="p" class="hint" id="events-module-hint" k="explorer.events.filter_hint" />
      ${module ? html`<p><a href=${explorerHref.events()} id="events-all"><${T} k="explorer.events.all" /></a></p>` : null}
    </form>
  `;
}
