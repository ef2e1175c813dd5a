// Run in the page by the console tests: is every visible word from the catalogue?
// Argument: the catalogue of the page's current language ({key: message}).
// Returns {problems: [...], shown: {key: template}} where template is the element's
// text with each <span data-value="name"> put back as {name}.
(catalogue) => {
  const problems = [];
  const shown = {};
  const isVisible = (el) => {
    const style = getComputedStyle(el);
    return style.display !== "none" && style.visibility !== "hidden" && el.getClientRects().length > 0;
  };
  const patterns = Object.values(catalogue).map(
    (message) =>
      new RegExp(
        "^" + message.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{\w+\}/g, ".+") + "$",
        "s",
      ),
  );

  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.data.trim();
    const el = node.parentElement;
    if (!text || !el || el.closest("noscript, script, style")) continue;
    if (!isVisible(el) || el.closest("[data-value]")) continue;
    if (!el.closest("[data-i18n]")) problems.push(`text outside the catalogue: ${JSON.stringify(text)} in <${el.tagName.toLowerCase()}>`);
  }

  for (const el of document.querySelectorAll("[data-i18n]")) {
    if (!isVisible(el)) continue;
    let template = "";
    for (const child of el.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) template += child.data;
      else if (child.dataset && child.dataset.value !== undefined) template += `{${child.dataset.value}}`;
      else template += child.textContent;
    }
    const key = el.dataset.i18n;
    shown[key] = template;
    if (catalogue[key] !== template) problems.push(`${key}: shows ${JSON.stringify(template)}, catalogue has ${JSON.stringify(catalogue[key])}`);
  }

  for (const el of document.querySelectorAll("[aria-label], [title], [placeholder], [alt]")) {
    if (el.closest("[data-value]")) continue;
    for (const name of ["aria-label", "title", "placeholder", "alt"]) {
      const value = el.getAttribute(name);
      if (value !== null && !patterns.some((pattern) => pattern.test(value))) {
        problems.push(`${name} outside the catalogue: ${JSON.stringify(value)} on <${el.tagName.toLowerCase()}>`);
      }
    }
  }
  if (!patterns.some((pattern) => pattern.test(document.title))) problems.push(`title outside the catalogue: ${document.title}`);
  return { problems, shown };
}
