#!/bin/sh
# `make run`: for local development. Starts a redis-server on 127.0.0.1:$REDIS_PORT (default
# 6379) only when none answers there, then runs the server against it in the foreground.
# Extra flags: make run ARGS="--port 9000". The Redis started here is stopped on exit.
set -u
REDIS_PORT=${REDIS_PORT:-6379}
started=""

stop_redis() {
    if [ -n "$started" ]; then
        kill "$started" 2>/dev/null
        wait "$started" 2>/dev/null
    fi
}

if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    echo "run: starting redis-server on 127.0.0.1:$REDIS_PORT (log: build/redis-run.log)" >&2
    # its own session, so Ctrl-C reaches redisapp (which drains) and not Redis
    setsid redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
        --daemonize no --logfile "" >build/redis-run.log 2>&1 &
    started=$!
    trap stop_redis EXIT
    trap 'exit 130' INT TERM
    i=0
    until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt 600 ]; then # 30 s: a busy machine may take seconds, a healthy one never that
            echo "run: redis-server did not answer within 30 s; see build/redis-run.log" >&2
            exit 1
        fi
        sleep 0.05
    done
fi
# shellcheck disable=SC2086
./build/redisapp --redis "127.0.0.1:$REDIS_PORT" ${ARGS:-}
