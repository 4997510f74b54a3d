#!/usr/bin/env bash
# `make run`: Redis, one Ignite node and Daphne on 127.0.0.1. Ctrl-C stops Daphne, and the Ignite node
# and Redis too when this script started them (ones that were already running are left alone).
set -euo pipefail
cd "$(dirname "$0")/.."

export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-chatsite.settings}"
PY=.venv/bin/python
VAR_DIR="${CHAT_VAR_DIR:-$PWD/var}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
REDIS_PORT="$(sed -E 's#^redis://([^/@]*@)?[^:/]+:?([0-9]*).*#\2#' <<<"$REDIS_URL")"
REDIS_PORT="${REDIS_PORT:-6379}"
REDIS_DIR="$VAR_DIR/redis"
HOST="${CHAT_HOST:-127.0.0.1}"
PORT="${CHAT_PORT:-8000}"

started_redis=0
started_ignite=0

daphne_pid=""

cleanup() {
    trap - EXIT INT TERM
    if [ -n "$daphne_pid" ] && kill -0 "$daphne_pid" 2>/dev/null; then
        kill -TERM "$daphne_pid" 2>/dev/null || true
        wait "$daphne_pid" 2>/dev/null || true
    fi
    if [ "$started_ignite" = 1 ]; then
        echo "Stopping the Ignite node started by make run..."
        $PY manage.py ignite_node stop || true
    fi
    if [ "$started_redis" = 1 ] && [ -f "$REDIS_DIR/redis.pid" ]; then
        echo "Stopping redis-server started by make run..."
        kill "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null || true
    fi
}
trap cleanup EXIT INT TERM

redis_answers() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

if redis_answers; then
    echo "Redis already answers on 127.0.0.1:$REDIS_PORT; using it."
else
    mkdir -p "$REDIS_DIR"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$REDIS_DIR" \
        --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" --appendonly no
    started_redis=1
    for _ in $(seq 50); do redis_answers && break; sleep 0.1; done
    redis_answers || { echo "redis-server did not start; see $REDIS_DIR/redis.log" >&2; exit 1; }
    echo "Started redis-server on 127.0.0.1:$REDIS_PORT (data in $REDIS_DIR)."
fi

$PY manage.py migrate --noinput -v 0

ignite_out="$($PY manage.py ignite_node start)" || { echo "$ignite_out"; exit 1; }
echo "$ignite_out"
grep -q " started " <<<"$ignite_out" && started_ignite=1

if $PY manage.py help ignite_init >/dev/null 2>&1; then
    $PY manage.py ignite_init
else
    echo "note: manage.py ignite_init is not available yet; the chat schema is created on first use." >&2
fi

$PY manage.py collectstatic --noinput -v 0

echo "Serving http://$HOST:$PORT/ (Ctrl-C to stop)"
# The frame limit is enforced by Daphne (autobahn) so that oversized frames close with 1009 unparsed.
MAX_FRAME="$($PY -c 'import django; django.setup(); from django.conf import settings; print(settings.CHAT["MAX_FRAME_BYTES"])')"
# Daphne runs through the project's entry point (chatsite/daphne_main.py: Daphne's command line with
# the chat's server class), in the background; the script waits for it, so that a signal (Ctrl-C, or
# a TERM from a supervisor) reaches the trap at once, which stops Daphne and then what we started.
$PY -m chatsite.daphne_main -b "$HOST" -p "$PORT" --ping-interval 20 --ping-timeout 30 \
    --websocket-max-message-size "$MAX_FRAME" --websocket-max-frame-size "$MAX_FRAME" chatsite.asgi:application &
daphne_pid=$!
wait "$daphne_pid"
