// Byte strings in the browser: hex in and out, joining and comparing.

const HEX = /^(?:[0-9a-f]{2})*$/;

/** Lower-case hex of `bytes`. */
export function toHex(bytes) {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** Bytes of a hex string (an optional 0x prefix is allowed); throws on anything else. */
export function fromHex(text) {
  const hex = String(text).trim().replace(/^0x/i, "").toLowerCase();
  if (!HEX.test(hex)) throw new Error(`not an even-length hex string: ${String(text).slice(0, 20)}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** UTF-8 bytes of `text`. */
export function utf8(text) {
  return new TextEncoder().encode(text);
}

/** The concatenation of byte strings. */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Whether two byte strings are equal. */
export function equal(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A copy of `bytes` with one bit of byte `at` flipped (the console's tamper demonstration). */
export function flipBit(bytes, at) {
  const out = Uint8Array.from(bytes);
  out[at] ^= 0x01;
  return out;
}

/** `0x` + the first 8 and last 4 hex digits, for tables. */
export function shortHex(bytes) {
  const hex = toHex(bytes);
  return hex.length <= 16 ? hex : `${hex.slice(0, 8)}…${hex.slice(-4)}`;
}
