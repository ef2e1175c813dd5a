#!/usr/bin/env bash
# Copies the web console's front-end libraries (ES modules) from node_modules into
# src/consortia/console/static/vendor/ (git-ignored), where the node serves them at
# /console/vendor/. Run by `make setup` after `npm ci`; versions are the exact pins
# in package.json / package-lock.json.
#   preact        dist/preact.mjs        -> vendor/preact.js
#   preact/hooks  hooks/dist/hooks.mjs   -> vendor/preact-hooks.js (imports "preact": the page's import map)
#   htm           dist/htm.mjs           -> vendor/htm.js
#   src/consortia/console/bundle/chain-libs.js, bundled by esbuild -> vendor/chain-libs.js
#                 (msgpack, SM2/SM3, P-256, secp256k1, SHA-256, Keccak: the in-browser proof checks)
# The names must match VENDOR_FILES in src/consortia/console/routes.py.
set -euo pipefail
cd "$(dirname "$0")/.."
src=node_modules
dest=src/consortia/console/static/vendor
for f in preact/dist/preact.mjs preact/hooks/dist/hooks.mjs htm/dist/htm.mjs .bin/esbuild; do
    [[ -f $src/$f ]] || { echo "vendor-console: $src/$f is missing; run npm ci first" >&2; exit 1; }
done
tmp=$(mktemp -d "${dest%/*}/.vendor.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
cp "$src/preact/dist/preact.mjs" "$tmp/preact.js"
cp "$src/preact/hooks/dist/hooks.mjs" "$tmp/preact-hooks.js"
cp "$src/htm/dist/htm.mjs" "$tmp/htm.js"
cp "$src/preact/LICENSE" "$tmp/LICENSE-preact"
cp "$src/htm/LICENSE" "$tmp/LICENSE-htm"
"$src/.bin/esbuild" src/consortia/console/bundle/chain-libs.js --bundle --format=esm --minify \
    --legal-comments=eof --target=es2020 --log-level=warning --outfile="$tmp/chain-libs.js"
for p in @msgpack/msgpack @noble/curves @noble/hashes; do
    cp "$src/$p/LICENSE" "$tmp/LICENSE-${p//\//-}"
done
cp "$src/sm-crypto-v2/LICENCE_MIT" "$tmp/LICENSE-sm-crypto-v2"
node -e 'for (const p of ["preact", "htm", "@msgpack/msgpack", "sm-crypto-v2", "@noble/curves", "@noble/hashes"]) console.log(p + " " + require("./node_modules/" + p + "/package.json").version)' > "$tmp/VERSIONS"
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
touch "$dest/.installed"
