#!/usr/bin/env bash
# Where one request's time goes: GET /customers/{id} on PostgreSQL, under load, in the
# default configuration (logging at info into a file, /_debug/queries recording and /metrics
# on). Loopback only, bounded in time; everything it creates is removed on exit.
#
#   scripts/profile.sh [path/to/mercado]     (default: this checkout's release build)
#
# Two views, because neither alone tells the whole story:
#
# 1. Instructions per request, by step (valgrind's callgrind). The server runs under
#    callgrind with counting off; wrk warms it, counting is switched on for PROFILE_SECONDS of
#    load at 8 connections, then off. Every figure is a function's inclusive count (itself and
#    everything it calls, on whichever thread) divided by the requests wrk completed in that
#    window. Counts are the same from run to run whatever else the machine does, so they
#    compare two builds exactly; but they leave out the kernel (system calls, thread wake-ups)
#    and every other process.
# 2. CPU time by thread, kernel included (perf, sampling the whole machine every millisecond
#    of CPU): Mercado's async workers, its blocking threads, its log writer, PostgreSQL and wrk
#    itself, with the top kernel and user functions of each of Mercado's thread kinds. Where
#    perf is missing or not permitted, this part says so and is skipped.
#
# Needs valgrind, wrk, psql; perf (Debian: linux-perf) for part 2.
# Settings: PROFILE_SECONDS (default 10), PROFILE_PORT (default 18095),
# MERCADO_TEST_PG_URL (admin URL, default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${PROFILE_SECONDS:-10}
PORT=${PROFILE_PORT:-18095}
PG_ADMIN=${MERCADO_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
CUSTOMERS=20000

for tool in valgrind callgrind_control callgrind_annotate wrk psql; do
    command -v "$tool" >/dev/null || { echo "profile.sh needs $tool" >&2; exit 1; }
done

if [ $# -ge 1 ]; then
    BIN=$(realpath "$1")
else
    cargo build --release --quiet
    BIN=$PWD/target/release/mercado
fi
WORK=$(mktemp -d)
SERVER_PID=""
DB="mercado_profile_$$"

cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

URL="${PG_ADMIN%/*}/$DB"
psql "$PG_ADMIN" -qc "CREATE DATABASE \"$DB\"" >/dev/null
DATABASE_URL=$URL "$BIN" seed --customers $CUSTOMERS --orders-per-customer 5 --seed 42 --reset >/dev/null

cat >"$WORK/random_customer.lua" <<LUA
math.randomseed(42)
request = function()
  return wrk.format("GET", "/customers/" .. math.random(1, $CUSTOMERS))
end
LUA
BASE="http://127.0.0.1:$PORT"

# Starts the server (under the command given, if any) and waits for it to answer.
start_server() {
    DATABASE_URL=$URL MERCADO_BIND=127.0.0.1:$PORT MERCADO_SEED_DEMO=false \
        "$@" "$BIN" serve 2>>"$WORK/server.log" &
    SERVER_PID=$!
    for _ in $(seq 1 150); do
        curl -sf "$BASE/health" >/dev/null && return
        sleep 0.2
    done
    echo "profile.sh: the server did not answer" >&2
    exit 1
}

stop_server() {
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

load() { wrk -t 2 -c 8 -d "$1" -s "$WORK/random_customer.lua" "$BASE/customers/1"; }

echo "== instructions per GET /customers/{id} (callgrind, 8 connections, ${SECONDS_PER_RUN} s) =="
start_server valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/callgrind.out"
load 3s >/dev/null
callgrind_control -i on "$SERVER_PID" >/dev/null 2>&1
requests=$(load "${SECONDS_PER_RUN}s" | awk '/requests in/ {print $1}')
callgrind_control -i off "$SERVER_PID" >/dev/null 2>&1
stop_server
callgrind_annotate --inclusive=yes --threshold=100 "$WORK/callgrind.out" >"$WORK/inclusive.txt" 2>/dev/null

# Inclusive instructions of the first function whose name matches $1, per request.
per_request() {
    awk -v pattern="$1" -v n="$requests" '
        index($0, pattern) { gsub(",", "", $1); printf "%d", $1 / n; found = 1; exit }
        END { if (!found) printf "0" }' "$WORK/inclusive.txt"
}
total=$(awk -v n="$requests" '/PROGRAM TOTALS/ { gsub(",", "", $1); printf "%d", $1 / n; exit }' "$WORK/inclusive.txt")

echo "requests counted: $requests"
echo
echo "| step | function (inclusive) | instructions per request | share |"
echo "|---|---|---|---|"
row() {
    local count
    count=$(per_request "$2")
    awk -v step="$1" -v f="$2" -v c="$count" -v t="$total" \
        'BEGIN { printf "| %s | `%s` | %d | %.1f%% |\n", step, f, c, 100 * c / t }'
}
row "HTTP: parse the request" "<actix_http::h1::codec::Codec as tokio_util::codec::decoder::Decoder>::decode"
row "HTTP: route it" "<actix_web::app_service::AppRouting as actix_service::Service"
row "HTTP: write the response" "actix_http::h1::dispatcher::InnerDispatcher<T,S,B,X,U>::send_response"
row "hop to the blocking pool (hand over; the wake-ups are in part 2)" "tokio::runtime::blocking::pool::spawn_blocking"
row "pool checkout" "r2d2::Pool<M>::get_timeout"
row "pool check-in" "<r2d2::PooledConnection<M> as core::ops::drop::Drop>::drop"
row "Diesel and libpq, the query log included" "mercado::querylog::recording"
row "  of which: the query log (render, record)" "<mercado::querylog::Recorder as diesel::connection::instrumentation::Instrumentation>::on_connection_event"
row "  of which: TLS to PostgreSQL (send, receive)" "SSL_write"
row "" "SSL_read"
row "JSON" "actix_web::response::builder::HttpResponseBuilder::json"
row "a query log for the request" "mercado::querylog::QueryLog::for_request"
row "X-Request-Id, X-Query-Count, Server-Timing" "mercado::app::add_headers"
row "access log line (formatted here, written by the log thread)" "mercado::app::log_access"
row "the log writer thread (every 20 ms, for all requests)" "mercado::logging::Shared::flush"
row "N+1 detector" "mercado::app::detect_n_plus_one"
row "metrics" "mercado::app::count_in_metrics"
row "/_debug/queries recording" "mercado::app::remember_for_debug"
echo "| all threads, everything | PROGRAM TOTALS | $total | 100% |"

echo
echo "== CPU time by thread, kernel included (perf, 8 connections, ${SECONDS_PER_RUN} s) =="
if ! command -v perf >/dev/null || ! perf record -e cpu-clock -a -o "$WORK/probe.data" -- true >/dev/null 2>&1; then
    echo "perf is missing or not permitted here: skipped"
    exit 0
fi
start_server
load 2s >/dev/null
load "$(( SECONDS_PER_RUN + 4 ))s" >"$WORK/wrk.txt" &
wrk_pid=$!
sleep 2
perf record -e cpu-clock -a -g -o "$WORK/perf.data" -- sleep "$SECONDS_PER_RUN" >/dev/null 2>&1
wait "$wrk_pid"
echo "wrk while sampling: $(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt") req/s"
stop_server
echo
echo "| thread kind | share of all CPU samples |"
echo "|---|---|"
perf report -i "$WORK/perf.data" --sort comm --stdio -g none 2>/dev/null \
    | awk '/%/ && $1 ~ /%$/ && $1 + 0 >= 0.5 { name = $3; for (i = 4; i <= NF; i++) name = name " " $i; printf "| %s | %s |\n", name, $1 }'
for comm in 'actix-rt|system' tokio-rt-worker; do
    echo
    echo "top functions in $comm (self, share of all samples):"
    perf report -i "$WORK/perf.data" --comm "$comm" --sort sym --stdio -g none 2>/dev/null \
        | awk '/%/ && $2 ~ /%$/ && $2 + 0 >= 0.4 { $1 = ""; print "   " $0 }' | sort -k1 -rn | head -12
done
