// Message catalogues (i18n/en.json, i18n/zh.json) and the components that show them.
//
// Every piece of text the console shows comes from a catalogue. <T k="key" p={...}/>
// renders a message inside an element marked data-i18n="key"; each {name}
// placeholder becomes a <span data-value="name"> holding the value, so the
// browser tests can check every visible word against the catalogue.
import { createContext, h } from "preact";
import { useContext } from "preact/hooks";

export const LANGUAGES = ["en", "zh"];
const STORAGE_KEY = "consortia.console.lang";
const HTML_LANG = { en: "en", zh: "zh-CN" };
const NUMBER_LOCALE = { en: "en-US", zh: "zh-CN" };

export async function loadCatalogues() {
  const pairs = await Promise.all(
    LANGUAGES.map(async (lang) => {
      const response = await fetch(`./i18n/${lang}.json`, { cache: "no-cache" });
      if (!response.ok) throw new Error(`catalogue ${lang}: HTTP ${response.status}`);
      return [lang, await response.json()];
    }),
  );
  return Object.fromEntries(pairs);
}

export function initialLanguage() {
  const saved = safeStorage(() => localStorage.getItem(STORAGE_KEY));
  if (LANGUAGES.includes(saved)) return saved;
  return (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
}

export function rememberLanguage(lang) {
  safeStorage(() => localStorage.setItem(STORAGE_KEY, lang));
  document.documentElement.lang = HTML_LANG[lang];
}

function safeStorage(action) {
  try {
    return action();
  } catch {
    return null; // storage disabled: the choice lasts for this page only
  }
}

/** A translator for one language: t(key, params) -> string, plus number formatting. */
export function makeTranslator(lang, messages) {
  const numberFormats = new Map();
  const t = (key, params = {}) => {
    const message = messages[key];
    if (message === undefined) {
      console.error(`console: no message "${key}" in the ${lang} catalogue`);
      return key;
    }
    return message.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
  };
  t.lang = lang;
  t.messages = messages;
  t.number = (value, digits = 0) => {
    if (!numberFormats.has(digits)) {
      numberFormats.set(
        digits,
        new Intl.NumberFormat(NUMBER_LOCALE[lang], {
          minimumFractionDigits: digits,
          maximumFractionDigits: digits,
        }),
      );
    }
    return numberFormats.get(digits).format(value);
  };
  return t;
}

export const I18n = createContext(null);

export function useT() {
  return useContext(I18n);
}

/**
 * Catalogue text: <T k="key" p=${{ name: value }} as="h2" />.
 * Extra props (class, id, ...) go on the element.
 */
export function T({ k, p = {}, as = "span", ...props }) {
  const t = useT();
  const message = t.messages[k];
  if (message === undefined) console.error(`console: no message "${k}" in the ${t.lang} catalogue`);
  const parts = (message ?? k).split(/(\{\w+\})/).filter((part) => part !== "");
  const children = parts.map((part, i) => {
    const placeholder = /^\{(\w+)\}$/.exec(part);
    if (!placeholder) return part;
    const value = p[placeholder[1]];
    return h("span", { "data-value": placeholder[1], key: i }, value ?? "—");
  });
  return h(as, { ...props, "data-i18n": k }, children);
}
