// The node's REST API and event stream, addressed relative to the console's own
// URL (/console/ -> /v1/...), so the console also works behind a path prefix.

const consoleBase = () => new URL(".", window.location.href);

export function apiUrl(path) {
  return new URL(`../${path}`, consoleBase());
}

/** The event stream's URL; `after`: resume after this height (docs/api.md), null for live only. */
export function eventsUrl(after = null) {
  const url = apiUrl("v1/events");
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  if (after !== null) url.searchParams.set("after", String(after));
  return url;
}

/** An error answer from the node: its stable code and message (docs/api.md). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** GET a JSON document; rejects with ApiError (HTTP error) or TypeError/AbortError (unreachable). */
export async function getJson(path, { timeoutMs = 4000 } = {}) {
  const init = { headers: { accept: "application/json" }, cache: "no-store" };
  return (await request(path, init, timeoutMs)).body;
}

/** POST a JSON document; resolves to {status, body}; rejects as getJson does. */
export function postJson(path, body, { timeoutMs = 30000 } = {}) {
  const headers = { accept: "application/json", "content-type": "application/json" };
  return request(path, { method: "POST", headers, body: JSON.stringify(body) }, timeoutMs);
}

async function request(path, init, timeoutMs) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch(apiUrl(path), { ...init, signal: controller.signal });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const error = body?.error ?? {};
      throw new ApiError(response.status, error.code ?? `HTTP_${response.status}`, error.message ?? "");
    }
    return { status: response.status, body };
  } finally {
    clearTimeout(timer);
  }
}
