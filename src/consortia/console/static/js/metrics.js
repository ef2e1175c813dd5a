// Figures derived from the block history (pure functions over [{height, txCount, timestampMs}]).
// Times are the proposers' block timestamps, so the figures are the chain's own.

/** Committed transactions in each one-second bucket of the `seconds` seconds ending at `endMs`. */
export function txPerSecondSeries(blocks, endMs, seconds = 60) {
  const series = new Array(seconds).fill(0);
  const endSecond = Math.floor(endMs / 1000);
  for (const block of blocks) {
    const index = seconds - 1 - (endSecond - Math.floor(block.timestampMs / 1000));
    if (index >= 0 && index < seconds) series[index] += block.txCount;
  }
  return series;
}

/** Mean committed transactions per second over the `seconds` seconds ending at `endMs`. */
export function recentRate(blocks, endMs, seconds = 10) {
  const since = endMs - seconds * 1000;
  let total = 0;
  for (const block of blocks) if (block.timestampMs > since && block.timestampMs <= endMs) total += block.txCount;
  return total / seconds;
}

/** Mean time between consecutive blocks among the last `count` blocks, or null. */
export function meanBlockIntervalMs(blocks, count = 20) {
  const recent = blocks.slice(-count);
  let sum = 0;
  let gaps = 0;
  for (let i = 1; i < recent.length; i++) {
    if (recent[i].height === recent[i - 1].height + 1) {
      sum += recent[i].timestampMs - recent[i - 1].timestampMs;
      gaps++;
    }
  }
  return gaps === 0 ? null : sum / gaps;
}

/** "0x31a2…093c" for long hex strings. */
export function shortHex(hex, keep = 4) {
  if (typeof hex !== "string" || hex.length <= 2 + 2 * keep + 1) return hex;
  return `${hex.slice(0, 2 + keep)}…${hex.slice(-keep)}`;
}
