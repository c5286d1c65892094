#!/bin/sh
# Makes sure a Docker engine answers and the base image exists, as `make up` and the compose
# test need them on a bare Debian 12 machine with no container registry in reach.
#
#   docker/engine.sh ensure PIDFILE   install docker.io, docker-compose and debootstrap when
#                                     missing; start /usr/sbin/dockerd when no daemon answers
#                                     (its PID goes to PIDFILE, its log beside it); build
#                                     debian:bookworm-slim with debootstrap when it is absent
#   docker/engine.sh stop PIDFILE     stop the dockerd recorded in PIDFILE, if it still runs
#
# PIDFILE is written only when this script started the daemon, so whoever passed it knows
# whether it has a daemon to stop. Nothing else is ever stopped.
set -eu

BASE_IMAGE=${BASE_IMAGE:-debian:bookworm-slim}
PACKAGES="docker.io docker-compose debootstrap"
DOCKER=/usr/bin/docker # the client that matches Debian's daemon

say() {
    echo "engine: $*" >&2
}

die() {
    say "$*"
    exit 1
}

as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "needs root for: $*"
    fi
}

install_packages() {
    # the project's one install loop
    sh "$(dirname "$0")/../tests/deps.sh" packages $PACKAGES
}

daemon_answers() {
    "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# Docker bridges default to MTU 1500; builds download packages over the default bridge, so
# match a smaller MTU of the host's route to the outside world. Read from /proc, since a
# minimal Debian (a fresh container) has no `ip`.
host_mtu() {
    dev=$(awk '$2 == "00000000" { print $1; exit }' /proc/net/route 2>/dev/null)
    [ -n "$dev" ] && cat "/sys/class/net/$dev/mtu" 2>/dev/null || true
}

start_daemon() {
    pidfile=$1
    log="${pidfile%.pid}.log"
    mkdir -p "$(dirname "$pidfile")"
    if [ -s /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
        say "a dockerd is starting (pid $(cat /var/run/docker.pid)): waiting for it"
    else
        mtu_flag=""
        mtu=$(host_mtu)
        if [ -n "$mtu" ] && [ "$mtu" -lt 1500 ]; then
            mtu_flag="--mtu $mtu"
        fi
        # setsid: a Ctrl-C meant for `make up` must not reach the daemon
        setsid /usr/sbin/dockerd $mtu_flag >"$log" 2>&1 </dev/null &
        echo $! >"$pidfile"
        say "started dockerd (pid $!, log $log)"
    fi
    # a first start in a busy container can take tens of seconds
    deadline=$(($(date +%s) + 120))
    until daemon_answers; do
        if [ "$(date +%s)" -gt "$deadline" ]; then
            tail -n 20 "$log" >&2 || true
            die "dockerd does not answer after 120 s"
        fi
        sleep 0.1
    done
}

# What the official slim images do (debuerreotype's minimizing config and slimify), applied
# to a debootstrap tree before it is imported.
slim_rootfs() {
    root=$1
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
    printf 'Acquire::GzipIndexes "true";\nAcquire::CompressionTypes::Order:: "gz";\n' \
        >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
    echo 'Apt::AutoRemove::SuggestsImportant "false";' \
        >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
    echo 'force-unsafe-io' >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
    cat >"$root/etc/apt/sources.list" <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
    # what the exclusions would have kept out, had they been in place during debootstrap
    find "$root/usr/share/doc" -mindepth 1 -not -type d -not -name copyright -delete
    find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$root/usr/share/groff/"* "$root/usr/share/info/"* "$root/usr/share/linda/"* \
        "$root/usr/share/lintian/"* "$root/usr/share/locale/"* "$root/usr/share/man/"*
    rm -rf "$root/var/cache/apt/"*.bin "$root/var/cache/apt/archives/"*.deb \
        "$root/var/lib/apt/lists/"* "$root/var/log/"*.log "$root/var/log/apt/"* \
        "$root/var/cache/ldconfig/aux-cache" "$root/debootstrap"
}

build_base_image() {
    work=$(mktemp -d /var/tmp/redisapp-rootfs.XXXXXX)
    root="$work/rootfs"
    # debootstrap mounts /proc and /sys inside the tree: unmount them whatever happens
    trap 'grep -o " $root/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null;
          rm -rf "$work"' EXIT
    say "building $BASE_IMAGE with debootstrap (about a minute)"
    as_root debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian \
        >"$work/debootstrap.log" 2>&1 || {
        tail -n 20 "$work/debootstrap.log" >&2
        die "debootstrap failed"
    }
    slim_rootfs "$root"
    as_root tar -C "$root" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' \
        --exclude='./sys/*' -c . |
        "$DOCKER" import --change 'CMD ["bash"]' \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'LABEL org.redisapp.base=debootstrap' - "$BASE_IMAGE" >/dev/null
    say "$BASE_IMAGE: $("$DOCKER" image inspect -f '{{.Size}}' "$BASE_IMAGE" |
        awk '{printf "%.1f MB", $1 / 1e6}')"
}

ensure() {
    pidfile=$1
    install_packages
    daemon_answers || start_daemon "$pidfile"
    "$DOCKER" image inspect "$BASE_IMAGE" >/dev/null 2>&1 || build_base_image
}

stop() {
    pidfile=$1
    [ -s "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    # only the daemon we started: the PID must still belong to a dockerd
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
        kill -TERM "$pid"
        deadline=$(($(date +%s) + 90))
        while kill -0 "$pid" 2>/dev/null; do
            [ "$(date +%s)" -gt "$deadline" ] &&
                die "dockerd (pid $pid) still runs 90 s after SIGTERM"
            sleep 0.1
        done
        say "stopped dockerd (pid $pid)"
    fi
    rm -f "$pidfile"
}

case "${1:-}" in
ensure) ensure "${2:?usage: $0 ensure PIDFILE}" ;;
stop) stop "${2:?usage: $0 stop PIDFILE}" ;;
*) die "usage: $0 ensure PIDFILE | stop PIDFILE" ;;
esac
