#!/bin/sh
# Installs the Debian packages one use of this checkout needs, when they are missing. Needs root
# (or sudo) only when something is missing. The one install loop of the project:
#
#   tests/deps.sh run             building and `make run`: the compiler, pkg-config, the three
#                                 -dev packages and Redis (`make run`)
#   tests/deps.sh test            everything `make test` and `make fuzz` use: the above, Sentinel,
#                                 HAProxy, Debian's chromium with its driver and Selenium, clang
#                                 with its sanitizer runtimes (`make deps`, `make test`)
#   tests/deps.sh bench           what `make bench` runs beside the server: nginx, wrk
#   tests/deps.sh packages P...   exactly these packages (docker/engine.sh: Docker, debootstrap)
#
# The Docker engine for the compose test comes from docker/engine.sh, which installs it itself.
set -eu

RUN="gcc libc6-dev make pkg-config libmicrohttpd-dev libhiredis-dev libcjson-dev
redis-server redis-tools"
# python3-h11: the HTTP framing tests check answers with an independent HTTP/1.1 parser;
# nftables, iproute2: the partition tests' network namespaces; docker-compose (1.29) is also
# where `make check` finds the compose-spec schema it validates compose.yaml with (and
# python3-jsonschema, python3-yaml, which it depends on); prometheus brings promtool, which
# checks the monitoring profile's config and alert rules; python3-yaml: docker/swarm/stack.py
# reads compose.yaml and writes the Swarm stack file
TEST="$RUN python3 procps redis-sentinel haproxy chromium chromium-driver python3-selenium
python3-h11 clang libclang-rt-dev nftables iproute2 docker-compose prometheus python3-yaml"
BENCH="$RUN python3 procps nginx-light wrk"

case "${1:-}" in
run) PACKAGES=$RUN ;;
test) PACKAGES=$TEST ;;
bench) PACKAGES=$BENCH ;;
packages)
    shift
    PACKAGES="$*"
    ;;
*)
    echo "usage: $0 run | test | bench | packages PACKAGE..." >&2
    exit 2
    ;;
esac

missing=""
for package in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q "install ok installed"
    then
        # nginx-light is one way to get nginx: any installed nginx will do
        if [ "$package" = nginx-light ] && command -v nginx >/dev/null 2>&1; then continue; fi
        missing="$missing $package"
    fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "deps: these packages are missing and this user cannot install them:$missing" >&2
        exit 1
    fi
    SUDO=sudo
fi
$SUDO apt-get update -qq
# RUNLEVEL=1: the packages must not start their services (the tests start their own)
$SUDO env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq \
    --no-install-recommends $missing >/dev/null
echo "deps: done" >&2
