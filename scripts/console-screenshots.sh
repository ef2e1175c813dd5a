#!/usr/bin/env bash
# Regenerates the console screenshots that docs/console.md embeds (make console-screenshots).
#
# Runs the console's browser tests (tests/console: an in-process node and a
# four-validator devnet of real processes, in headless Chromium); they save
# every view they check as tests/artifacts/console/<name>.png (git-ignored).
# Only if the whole suite passes, the screenshots named in SHOTS are copied to
# docs/img/console/, which is committed: the docs show exactly what the tests
# checked. Each one must have been written by this run, so a test that stopped
# saving a view is noticed instead of leaving an old picture in the docs.
#
# Pillow is not a dependency, so images are copied as Chromium wrote them; a
# screenshot over SIZE_LIMIT bytes is reported (crop it in its test, e.g. with
# page.screenshot(clip=...), rather than publish a large file).
set -euo pipefail
cd "$(dirname "$0")/.."

ARTIFACTS=tests/artifacts/console
DOCS=docs/img/console
SIZE_LIMIT=$((300 * 1024))
# Screenshot name (without .png) -> the docs/console.md section that shows it.
SHOTS=(
    devnet-dashboard            # What the dashboard shows
    devnet-node-unreachable     # When the node goes away
    devnet-validator-down       # Devnet health
    explorer-en                 # Explorer: latest blocks
    explorer-block-en           # Explorer: a block and its quorum certificate
    explorer-transaction-en     # Explorer: a transaction and its receipt
    explorer-asset              # Explorer: an asset and its holders
    explorer-events             # Explorer: module events
    contracts-en                # Contracts: deployed contracts
    contracts-audit-en          # Contracts: an audit report
    governance-en               # Governance: overview
    governance-proposal-en      # Governance: a proposal
    governance-propose          # Governance: acting with a key held in the browser
    proofs-block                # Proofs: a block checked in the browser
    proofs-block-tampered       # Proofs: the same block with one bit changed
    proofs-state-zh             # Proofs: a balance, in Chinese
    dashboard-zh                # Languages
)

started=$(mktemp)
trap 'rm -f "$started"' EXIT
.venv/bin/pytest -q -n 2 --dist loadgroup tests/console

mkdir -p "$DOCS"
status=0
for name in "${SHOTS[@]}"; do
    shot="$ARTIFACTS/$name.png"
    if [[ ! -f $shot || ! $shot -nt $started ]]; then
        echo "console-screenshots: $shot was not written by this run" >&2
        status=1
        continue
    fi
    cp "$shot" "$DOCS/$name.png"
    size=$(stat -c %s "$shot")
    if ((size > SIZE_LIMIT)); then
        echo "console-screenshots: $name.png is $((size / 1024)) KiB (over $((SIZE_LIMIT / 1024)) KiB)" >&2
    fi
    echo "$DOCS/$name.png ($((size / 1024)) KiB)"
done
exit $status
