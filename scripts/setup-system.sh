#!/usr/bin/env bash
# Installs the Debian packages Consortia uses, only where missing (idempotent, quiet).
#   openssl  - the OpenSSL 3 command line, used by the crypto interop tests
#   faketime - libfaketime, to run a node with a skewed clock in the consensus tests
#   nodejs   - node, which runs the npm solc compiler (contract toolchain) and ethers tests
#   npm      - installs package-lock.json (make setup)
#   chromium - headless browser for the web console's tests (Playwright drives /usr/bin/chromium)
#   fonts-wqy-microhei - a Simplified Chinese font, so the console's zh pages render (and screenshot) legibly
set -euo pipefail
needed=()
command -v openssl >/dev/null 2>&1 || needed+=(openssl)
command -v faketime >/dev/null 2>&1 || needed+=(faketime)
command -v node >/dev/null 2>&1 || needed+=(nodejs)
command -v npm >/dev/null 2>&1 || needed+=(npm)
command -v chromium >/dev/null 2>&1 || needed+=(chromium)
[[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]] || needed+=(fonts-wqy-microhei)
if ((${#needed[@]})); then
    if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${needed[@]}"
fi
