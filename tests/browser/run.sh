#!/bin/sh
# `make test-browser`: the page's browser test (page.test.mjs). Installs playwright-core from
# package-lock.json when node_modules is missing or older than the lock file (npm ci; no
# browser is downloaded: the test drives Debian's /usr/bin/chromium), then runs the test.
# REDISAPP_BIN picks the server binary (default build/redisapp).
set -eu
cd "$(dirname "$0")"

for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "test-browser: $tool is missing: run make deps" >&2
        exit 1
    fi
done
if [ ! -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ]; then
    echo "test-browser: ${CHROMIUM_BIN:-/usr/bin/chromium} is missing: run make deps" >&2
    exit 1
fi
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
    echo "test-browser: playwright-core needs node 20 or newer, this is $(node --version)" >&2
    exit 1
fi

# npm ci writes node_modules/.package-lock.json: newer than package-lock.json means current
if [ ! -f node_modules/.package-lock.json ] ||
    [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "test-browser: npm ci (playwright-core, from package-lock.json)"
    npm ci --no-audit --no-fund --loglevel=error
fi
exec node page.test.mjs
