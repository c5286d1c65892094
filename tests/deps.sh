#!/bin/sh
# Installs every Debian package the build, the tests and the benchmark need, when missing.
# Called by `make deps` and `make test`. Needs root (or sudo) only when something is missing.
set -eu

PACKAGES="gcc make pkg-config libmicrohttpd-dev libhiredis-dev libcjson-dev
redis-server redis-sentinel redis-tools haproxy nginx-light wrk python3 procps chromium
python3-h11 clang libclang-rt-dev nftables iproute2 docker-compose prometheus"
# docker-compose (1.29) is also where `make check` finds the compose-spec schema it validates
# compose.yaml with (and python3-jsonschema, python3-yaml, which it depends on); prometheus
# brings promtool, which checks the monitoring profile's config and alert rules

missing=""
for package in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q "install ok installed"
    then
        # nginx-light is one way to get nginx: any installed nginx will do
        if [ "$package" = nginx-light ] && command -v nginx >/dev/null 2>&1; then continue; fi
        missing="$missing $package"
    fi
done
# The browser test (tests/browser/) drives chromium with node >= 20; any installed node and npm
# do (the machines have node 20 and npm 11). The packages only fill in when one is missing (plain
# bookworm's nodejs is 18, which tests/browser/run.sh turns down with a clear message).
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "deps: these packages are missing and this user cannot install them:$missing" >&2
        exit 1
    fi
    SUDO=sudo
fi
$SUDO apt-get update -qq
# policy-rc.d-style guard: packages must not start their services (tests start their own)
DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends \
    $missing >/dev/null
echo "deps: done"
