// ChainFeed: what the console knows about the node, kept live.
//
// Sources: the /v1/events WebSocket (a "block" frame per committed block) and a
// poll of GET /v1/status (and each validator's link, /v1/validators/links) every second; on every (re)connection it also reloads
// the current epoch and the evidence. The node is "reachable"
// while the socket is open and the last poll answered; when either fails the
// feed says so at once and keeps retrying (back-off 0.5 s doubling to 3 s), so a
// restarted node is picked up within a few seconds without a page reload.
//
// No block is missed or shown twice (docs/api.md, "Resuming from a cursor"): the
// feed first loads a snapshot (the status and the last blocks up to its height),
// then subscribes with ?after=<that height>, so the node replays what committed
// in between before streaming live. `cursor` is then the last height shown, and
// every reconnection (a dropped socket, a lagging subscriber closed with 1013, a
// restarted node) subscribes after it. If the node refuses the cursor (it is
// ahead of the node's chain, which was reset; or too far back to replay) the
// feed loads a fresh snapshot and subscribes after that.
//
// Pages read the feed's immutable state snapshots through useFeed().
import { useEffect, useState } from "preact/hooks";
import { eventsUrl, getJson } from "./api.js";

const POLL_MS = 1000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 3000;
const TRY_AGAIN_LATER = 1013; // the server closes a lagging subscriber with this code
const POLICY_VIOLATION = 1008; // the server refuses a subscription with this code and "CODE: message"
const CURSOR_AHEAD = "EVENTS_CURSOR_AHEAD"; // the node's chain is shorter than what the feed showed
const HISTORY_BLOCKS = 240;
const SEED_BLOCKS = 30;

const INITIAL = Object.freeze({
  reachable: null, // null until the first answer or failure
  status: null, // GET /v1/status
  epoch: null, // GET /v1/epochs/current
  evidence: [], // GET /v1/evidence
  links: [], // GET /v1/validators/links, re-read with every status poll
  blocks: [], // [{height, txCount, timestampMs}] ascending, at most HISTORY_BLOCKS
  openedHeight: null, // the chain's height when the page first heard from the node
  committedTxs: 0, // transactions in blocks committed since then (events or, after a gap, reloads)
  committedBlocks: 0,
  clockOffsetMs: null, // browser clock minus node clock (smallest delay seen)
});

export class ChainFeed {
  constructor() {
    this.state = INITIAL;
    this.listeners = new Set();
    this.socket = null;
    this.socketOpen = false;
    this.socketClosed = false; // closed by the node or the network, not yet reopened
    this.pollOk = null;
    this.retryMs = RETRY_MIN_MS;
    this.timers = new Set();
    this.running = false;
    this.counted = new Set(); // heights already in committedTxs (a block may arrive twice)
    this.cursor = null; // the last height whose block the feed holds; null until a snapshot
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.connect();
    this.poll();
  }

  /** Load the snapshot the stream resumes from: the status and the blocks up to its height. */
  async snapshot() {
    const status = await getJson("v1/status");
    this.pollOk = true;
    this.onStatus(status);
    await this.seedBlocks(status.height);
    this.cursor = Math.max(this.cursor ?? 0, status.height);
  }

  reconnectLater(delay) {
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    this.later(delay, () => this.connect());
  }

  stop() {
    this.running = false;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.socket?.close();
    this.socket = null;
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  update(patch) {
    this.state = Object.freeze({ ...this.state, ...patch });
    for (const listener of this.listeners) listener(this.state);
  }

  later(ms, action) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.running) action();
    }, ms);
    this.timers.add(timer);
  }

  updateReachable() {
    let reachable = this.state.reachable;
    if (this.socketOpen && this.pollOk === true) reachable = true;
    else if (this.pollOk === false || this.socketClosed) reachable = false;
    if (reachable !== this.state.reachable) this.update({ reachable });
  }

  async connect() {
    if (this.cursor === null) {
      try {
        await this.snapshot();
      } catch {
        this.socketClosed = true; // not reachable: say so and retry
        this.updateReachable();
        this.reconnectLater(this.retryMs);
        return;
      }
      if (!this.running) return;
    }
    const socket = new WebSocket(eventsUrl(this.cursor));
    this.socket = socket;
    socket.onopen = () => {
      this.socketOpen = true;
      this.socketClosed = false;
      this.retryMs = RETRY_MIN_MS;
      this.refresh();
    };
    socket.onmessage = (message) => this.onEvent(JSON.parse(message.data));
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socketOpen = false;
      this.socket = null;
      const lagged = event.code === TRY_AGAIN_LATER;
      const refused = event.code === POLICY_VIOLATION && event.reason.startsWith("EVENTS_CURSOR_");
      if (refused) {
        // Behind a chain that was reset, or too far back to replay: start from a new snapshot.
        if (event.reason.startsWith(CURSOR_AHEAD)) this.reset();
        this.cursor = null;
      }
      if (!lagged && !refused) {
        this.socketClosed = true;
        this.updateReachable();
      }
      this.reconnectLater(lagged || refused ? 0 : this.retryMs);
    };
  }

  /** Forget everything shown: the node now serves another chain, or a reset one. */
  reset() {
    this.counted.clear();
    this.cursor = null;
    this.update({ ...INITIAL, reachable: this.state.reachable });
  }

  async poll() {
    try {
      const status = await getJson("v1/status", { timeoutMs: 2000 });
      this.pollOk = true;
      this.onStatus(status);
      this.loadLinks();
    } catch {
      this.pollOk = false;
    }
    this.updateReachable();
    this.later(POLL_MS, () => this.poll());
  }

  async loadLinks() {
    try {
      this.update({ links: (await getJson("v1/validators/links", { timeoutMs: 2000 })).validators });
    } catch {
      // keep the last known health; the next poll retries (reachability is the poll's)
    }
  }

  onStatus(status) {
    const previous = this.state.status;
    if (previous && previous.chain_id !== status.chain_id) {
      this.reset(); // another chain
      this.socket?.close(); // its stream resumes from a new snapshot
    }
    // A poll answered before the last block event arrived is older than the feed: it
    // does not move the height back (a reset chain is detected by the stream's cursor).
    const shown = this.state.status?.height ?? 0;
    if (status.height < shown) status = { ...status, height: shown };
    const openedHeight = this.state.openedHeight ?? status.height;
    this.update({ status, openedHeight });
    if (!previous || previous.epoch !== status.epoch) this.loadEpoch();
    if (!previous || previous.evidence !== status.evidence) this.loadEvidence();
  }

  async refresh() {
    try {
      const status = await getJson("v1/status");
      this.pollOk = true;
      this.onStatus(status);
      await Promise.all([this.loadEpoch(), this.loadEvidence()]);
    } catch {
      // the poll and the socket report unreachability; the next connection retries
    }
    this.updateReachable();
  }

  async loadEpoch() {
    try {
      this.update({ epoch: await getJson("v1/epochs/current") });
    } catch {
      // keep the last known epoch; the next status change or reconnection retries
    }
  }

  async loadEvidence() {
    try {
      this.update({ evidence: await getJson("v1/evidence") });
    } catch {
      // as above
    }
  }

  async seedBlocks(height) {
    const known = new Set(this.state.blocks.map((block) => block.height));
    const wanted = [];
    for (let h = Math.max(1, height - SEED_BLOCKS + 1); h <= height; h++) {
      if (!known.has(h)) wanted.push(h);
    }
    const fetched = await Promise.all(
      wanted.map((h) => getJson(`v1/blocks/${h}`).catch(() => null)),
    );
    const blocks = fetched
      .filter((block) => block !== null)
      .map((block) => ({
        height: block.height,
        txCount: block.header.tx_count,
        timestampMs: block.header.timestamp_ms,
      }));
    this.addBlocks(blocks);
  }

  /**
   * Merge blocks into the history, and count those committed since the page opened
   * exactly once, whether they came as events or were reloaded after a gap in the
   * stream (a reconnection, or a lagging subscriber closed with 1013).
   */
  addBlocks(blocks) {
    const byHeight = new Map(this.state.blocks.map((block) => [block.height, block]));
    const opened = this.state.openedHeight;
    let { committedTxs, committedBlocks } = this.state;
    for (const block of blocks) {
      byHeight.set(block.height, block);
      if (opened !== null && block.height > opened && !this.counted.has(block.height)) {
        this.counted.add(block.height);
        committedTxs += block.txCount;
        committedBlocks += 1;
      }
    }
    if (this.counted.size > 4 * HISTORY_BLOCKS) {
      const keep = [...this.counted].sort((a, b) => b - a).slice(0, HISTORY_BLOCKS);
      this.counted = new Set(keep); // heights only grow: older ones cannot come again
    }
    const merged = [...byHeight.values()].sort((a, b) => a.height - b.height);
    this.update({ blocks: merged.slice(-HISTORY_BLOCKS), committedTxs, committedBlocks });
  }

  onEvent(event) {
    if (event.type !== "block") return;
    if (this.cursor !== null && event.height <= this.cursor) return; // already shown
    this.cursor = event.height;
    const delay = Date.now() - event.timestamp_ms;
    const offset = this.state.clockOffsetMs;
    const status = this.state.status;
    this.update({
      clockOffsetMs: offset === null ? delay : Math.min(offset, delay),
      status: status && event.height > status.height ? { ...status, height: event.height } : status,
    });
    this.addBlocks([{ height: event.height, txCount: event.tx_count, timestampMs: event.timestamp_ms }]);
  }
}

/** The feed's current state, re-rendering the caller on every change. */
export function useFeed(feed) {
  const [state, setState] = useState(feed.state);
  useEffect(() => feed.subscribe(setState), [feed]);
  return state;
}

/** The current time, ticking every `ms` milliseconds (so live charts scroll). */
export function useNow(ms = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}
