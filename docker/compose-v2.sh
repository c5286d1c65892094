#!/bin/sh
# Compose v2 for this checkout only: Debian trixie's `docker-compose` package (the v2 CLI plugin,
# which needs only libc) unpacked under build/, never installed system-wide. Bookworm has only
# docker-compose 1.29.
#
#   docker/compose-v2.sh ensure   make sure the plugin is there (fetching it when it is not:
#                                 about 15 s), then print the DOCKER_CONFIG folder to use it;
#                                 exit 1 with the reason on stderr when it cannot be had
#   docker/compose-v2.sh dir      print that folder (whether or not the plugin is in it)
#
# Use: DOCKER_CONFIG=$(docker/compose-v2.sh ensure) docker compose ...   Only the commands given
# that DOCKER_CONFIG see the plugin (and they read no ~/.docker/config.json, so they use the
# default context and no registry logins: this stack needs neither).
#
# The fetch uses an apt state of its own under build/compose-v2/ with one source, the system's
# Debian mirror at suite trixie, checked with Debian's archive keyring: the system's apt sources,
# lists and cache are neither read nor changed.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=$ROOT/build/compose-v2
CONFIG=$ROOT/build/docker-config
PLUGIN=$CONFIG/cli-plugins/docker-compose
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || DOCKER=docker

say() {
    echo "compose-v2: $*" >&2
}

# The Debian mirror the system uses (deb822 or one-line sources), else deb.debian.org.
mirror() {
    uri=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)\/*$/\1/p' \
        /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
    if [ -z "$uri" ]; then
        uri=$(sed -n 's/^deb[[:space:]]\(\[[^]]*\][[:space:]]\)*\([^[:space:]]*\/debian\)\/*[[:space:]].*/\2/p' \
            /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n 1)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

works() {
    [ -x "$PLUGIN" ] && DOCKER_CONFIG=$CONFIG "$DOCKER" compose version >/dev/null 2>&1
}

fetch() {
    [ -r "$KEYRING" ] || { say "no Debian archive keyring ($KEYRING)"; return 1; }
    command -v apt-get >/dev/null 2>&1 || { say "no apt-get"; return 1; }
    rm -rf "$STATE"
    mkdir -p "$STATE/lists/partial" "$STATE/cache/archives/partial" "$STATE/unpacked" \
        "$CONFIG/cli-plugins"
    echo "deb [signed-by=$KEYRING] $(mirror) trixie main" >"$STATE/sources.list"
    set -- -o Dir::State::Lists="$STATE/lists" -o Dir::State::Status="$STATE/status" \
        -o Dir::Etc::SourceList="$STATE/sources.list" -o Dir::Etc::SourceParts=/nonexistent \
        -o Dir::Cache="$STATE/cache" -o APT::Sandbox::User=root -o Debug::NoLocking=1 \
        -o Acquire::Languages=none
    : >"$STATE/status" # an empty dpkg status: nothing of the system's is looked at
    say "fetching Debian trixie's docker-compose (v2) into build/"
    if ! apt-get "$@" -qq update >"$STATE/apt.log" 2>&1; then
        tail -n 5 "$STATE/apt.log" >&2
        say "apt-get update for trixie failed"
        return 1
    fi
    if ! (cd "$STATE" && apt-get "$@" -qq download docker-compose >>"$STATE/apt.log" 2>&1); then
        tail -n 5 "$STATE/apt.log" >&2
        say "apt-get download docker-compose failed"
        return 1
    fi
    deb=$(ls "$STATE"/docker-compose_*.deb)
    dpkg-deb -x "$deb" "$STATE/unpacked"
    cp "$STATE/unpacked/usr/libexec/docker/cli-plugins/docker-compose" "$PLUGIN.tmp"
    mv -f "$PLUGIN.tmp" "$PLUGIN"
    if ! works; then
        say "the unpacked plugin does not run: $(DOCKER_CONFIG=$CONFIG "$DOCKER" compose version 2>&1 | head -n 1)"
        return 1
    fi
    say "$(DOCKER_CONFIG=$CONFIG "$DOCKER" compose version) from $(basename "$deb")"
    rm -rf "$STATE/lists" "$STATE/cache" "$STATE/unpacked" "$deb"
}

case "${1:-}" in
ensure)
    works || fetch || exit 1
    echo "$CONFIG"
    ;;
dir) echo "$CONFIG" ;;
*)
    say "usage: $0 ensure | dir"
    exit 2
    ;;
esac
