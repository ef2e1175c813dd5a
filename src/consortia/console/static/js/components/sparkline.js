// A small SVG line chart of a series (no axes library): the line, a filled area
// under it and a baseline. The caller gives the accessible label.
import { html } from "../html.js";

export function Sparkline({ values, label, width = 600, height = 140 }) {
  const max = Math.max(1, ...values);
  const pad = 6;
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const y = (value) => (height - pad - (value / max) * (height - 2 * pad)).toFixed(1);
  const points = values.map((value, i) => `${(i * step).toFixed(1)},${y(value)}`).join(" ");
  const total = values.reduce((a, b) => a + b, 0);
  return html`
    <svg
      class="sparkline"
      viewBox=${`0 0 ${width} ${height}`}
      preserveAspectRatio="none"
      role="img"
      aria-label=${label}
      data-total=${total}
      data-max=${Math.max(0, ...values)}
    >
      <line class="baseline" x1="0" y1=${height - pad} x2=${width} y2=${height - pad} />
      <polygon class="area" points=${`0,${height - pad} ${points} ${width},${height - pad}`} />
      <polyline class="line" points=${points} />
    </svg>
  `;
}
