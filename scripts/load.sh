#!/usr/bin/env bash
# HTTP load for Mercado, on loopback, bounded in time.
#
#   scripts/load.sh [postgresql] [sqlite]      (default: both)
#
# For each backend: build the release binary, seed a fresh shop (20,000 customers, 5 orders
# each on average, seed 42), start `mercado serve` on 127.0.0.1 in its default configuration
# (logging at info into a file, /_debug/queries recording and /metrics on), warm it, then
# drive four endpoints with wrk at a few concurrency levels and print requests per second, p50
# and p99 latency, non-2xx answers, and the server's peak RSS. On PostgreSQL it also runs
# pgbench's select-only script (`-S`, same client counts) twice, as simple queries and as
# prepared statements (`-M prepared`), for the database's own ceiling on this machine, and
# prints Mercado's GET /customers/{id} rate as a fraction of each. Mercado's Diesel queries
# are prepared statements, so `-M prepared` is the fair ceiling.
#
# Sections (LOAD_SECTIONS, default "table metrics", plus "compare" when LOAD_BASELINE is set):
#   table    the endpoints and pgbench, as above
#   metrics  what /metrics costs: GET /customers/{id} at 8 connections with MERCADO_METRICS
#            false and true, alternating off/on three times; each run and the median difference
#   compare  LOAD_BASELINE=/path/to/an/older/mercado against this build: GET /customers/{id} at
#            each of LOAD_CONCURRENCY, alternating baseline/current three times, same database
#
# Needs wrk (Debian: apt-get install wrk) and, for PostgreSQL, psql and pgbench.
#
# Settings: LOAD_SECONDS (per run, default 10), LOAD_CONCURRENCY (default "1 8 32"),
# LOAD_PORT (default 18080), LOAD_SECTIONS, LOAD_BASELINE,
# MERCADO_TEST_PG_URL (admin URL, default postgres://postgres@127.0.0.1:5432/postgres).
# Everything it creates is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${LOAD_SECONDS:-10}
CONCURRENCY=${LOAD_CONCURRENCY:-"1 8 32"}
PORT=${LOAD_PORT:-18080}
PG_ADMIN=${MERCADO_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
BACKENDS=${*:-"postgresql sqlite"}
SECTIONS=${LOAD_SECTIONS:-"table metrics${LOAD_BASELINE:+ compare}"}
BASELINE=${LOAD_BASELINE:-}
CUSTOMERS=20000

command -v wrk >/dev/null || { echo "load.sh needs wrk (Debian: apt-get install wrk)" >&2; exit 1; }

cargo build --release --quiet
BIN=$PWD/target/release/mercado
WORK=$(mktemp -d)
SERVER_PID=""
PG_DATABASES=()

cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    for db in "${PG_DATABASES[@]}"; do
        psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

pg_url() { echo "${PG_ADMIN%/*}/$1"; }
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

cat > "$WORK/random_customer.lua" <<LUA
-- GET /customers/{id} with ids spread over the whole seeded shop.
math.randomseed(42)
request = function()
  return wrk.format("GET", "/customers/" .. math.random(1, $CUSTOMERS))
end
LUA

# Runs wrk; prints "req/s p50 p99 non2xx timeouts".
drive() {
    local concurrency=$1 url=$2 script=${3:-}
    local threads=$(( concurrency < 2 ? 1 : 2 ))
    # wrk drops answers slower than its timeout (2 s by default) from the latency figures;
    # 10 s keeps slow reports in them, and the timeouts column counts any that still miss it.
    local args=(-t "$threads" -c "$concurrency" -d "${SECONDS_PER_RUN}s" --timeout 10s --latency)
    [ -n "$script" ] && args+=(-s "$script")
    local out
    out=$(wrk "${args[@]}" "$url")
    local rps p50 p99 bad
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    bad=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
    timeouts=$(awk '/Socket errors:/ {print $NF}' <<<"$out")
    echo "$rps ${p50:-?} ${p99:-?} ${bad:-0} ${timeouts:-0}"
}

# pgbench's select-only script on database $1 with $2 clients (and any further options);
# prints its transactions per second.
pgbench_tps() {
    local db=$1 clients=$2
    shift 2
    pgbench -S -n "$@" -c "$clients" -j $(( clients < 2 ? 1 : 2 )) -T "$SECONDS_PER_RUN" "$(pg_url "$db")" 2>/dev/null \
        | awk '/^tps/ {print $3; exit}'
}

# Starts `mercado serve` (the binary $3, default this build) on $1 with MERCADO_METRICS=$2,
# in the default configuration otherwise, its log into the work directory, and waits for it
# to answer.
start_server() {
    DATABASE_URL=$1 MERCADO_BIND=127.0.0.1:$PORT MERCADO_SEED_DEMO=false \
        MERCADO_METRICS=$2 "${3:-$BIN}" serve 2>>"$WORK/server.log" &
    SERVER_PID=$!
    for _ in $(seq 1 50); do
        curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break
        sleep 0.2
    done
}

stop_server() {
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

for backend in $BACKENDS; do
    echo "== $backend =="
    case $backend in
        postgresql)
            db="mercado_load_$$"
            PG_DATABASES+=("$db")
            psql "$PG_ADMIN" -qc "CREATE DATABASE \"$db\"" >/dev/null
            url=$(pg_url "$db")
            ;;
        sqlite) url="$WORK/load.db" ;;
        *) echo "unknown backend $backend" >&2; exit 2 ;;
    esac

    DATABASE_URL=$url "$BIN" seed --customers $CUSTOMERS --orders-per-customer 5 --seed 42 --reset | tail -1
    base="http://127.0.0.1:$PORT"

    if [[ " $SECTIONS " == *" compare "* ]]; then
        [ -x "$BASELINE" ] || { echo "LOAD_BASELINE must name a mercado binary" >&2; exit 2; }
        echo "| backend | binary | round | connections | GET /customers/{id} req/s |"
        echo "|---|---|---|---|---|"
        declare -A compared=()
        for round in 1 2 3; do
            for which in baseline current; do
                binary=$BIN
                [ "$which" = baseline ] && binary=$BASELINE
                start_server "$url" true "$binary"
                wrk -t 2 -c 8 -d 2s -s "$WORK/random_customer.lua" "$base/customers/1" >/dev/null
                for concurrency in $CONCURRENCY; do
                    read -r rps _ < <(drive "$concurrency" "$base/customers/1" "$WORK/random_customer.lua")
                    compared[$which/$concurrency]="${compared[$which/$concurrency]:-} $rps"
                    echo "| $backend | $which | $round | $concurrency | $rps |"
                done
                stop_server
            done
        done
        for concurrency in $CONCURRENCY; do
            before=$(median "${compared[baseline/$concurrency]}")
            after=$(median "${compared[current/$concurrency]}")
            awk -v a="$before" -v b="$after" -v b2="$backend" -v c="$concurrency" \
                'BEGIN { printf "%s, %s connections: median %s req/s baseline, %s current: %+.1f%%\n", b2, c, a, b, 100 * (b - a) / a }'
        done
    fi

    if [[ " $SECTIONS " == *" metrics "* ]]; then
        echo "| backend | MERCADO_METRICS | run | GET /customers/{id} req/s at 8 connections |"
        echo "|---|---|---|---|"
        declare -A rates=([false]="" [true]="")
        for round in 1 2 3; do
            for metrics in false true; do
                start_server "$url" "$metrics"
                wrk -t 2 -c 8 -d 2s -s "$WORK/random_customer.lua" "$base/customers/1" >/dev/null
                read -r rps _ < <(drive 8 "$base/customers/1" "$WORK/random_customer.lua")
                stop_server
                rates[$metrics]="${rates[$metrics]} $rps"
                echo "| $backend | $metrics | $round | $rps |"
            done
        done
        off=$(median "${rates[false]}"); on=$(median "${rates[true]}")
        awk -v off="$off" -v on="$on" -v b="$backend" \
            'BEGIN { printf "%s: median %s req/s with metrics off, %s on: %+.1f%%\n", b, off, on, 100 * (on - off) / off }'
    fi
    [[ " $SECTIONS " == *" table "* ]] || continue

    start_server "$url" true
    endpoints=("/customers/{id}" "/orders?limit=50" "/dashboard/batched?limit=100" "/reports/top-customers")
    # Warm the caches (database pages, prepared statements, the pool) before measuring.
    for endpoint in "${endpoints[@]}"; do
        path=${endpoint/\{id\}/1}
        wrk -t 1 -c 4 -d 2s "$base$path" >/dev/null
    done

    echo "| backend | endpoint | connections | req/s | p50 | p99 | non-2xx | timeouts |"
    echo "|---|---|---|---|---|---|---|---|"
    declare -A single_row_rate=()
    for concurrency in $CONCURRENCY; do
        for endpoint in "${endpoints[@]}"; do
            if [ "$endpoint" = "/customers/{id}" ]; then
                read -r rps p50 p99 bad timeouts < <(drive "$concurrency" "$base/customers/1" "$WORK/random_customer.lua")
                single_row_rate[$concurrency]=$rps
            else
                read -r rps p50 p99 bad timeouts < <(drive "$concurrency" "$base$endpoint")
            fi
            echo "| $backend | $endpoint | $concurrency | $rps | $p50 | $p99 | $bad | $timeouts |"
        done
    done
    echo "peak RSS of mercado serve: $(awk '/VmHWM/ {printf "%.1f MiB", $2 / 1024}' "/proc/$SERVER_PID/status")"
    stop_server

    if [ "$backend" = postgresql ] && command -v pgbench >/dev/null; then
        bench_db="mercado_pgbench_$$"
        PG_DATABASES+=("$bench_db")
        psql "$PG_ADMIN" -qc "CREATE DATABASE \"$bench_db\"" >/dev/null
        pgbench -q -i -s 10 "$(pg_url "$bench_db")" >/dev/null 2>&1
        echo "| clients | pgbench -S tps | pgbench -S -M prepared tps | mercado GET /customers/{id} req/s | of -S | of -S -M prepared |"
        echo "|---|---|---|---|---|---|"
        for concurrency in $CONCURRENCY; do
            simple=$(pgbench_tps "$bench_db" "$concurrency")
            prepared=$(pgbench_tps "$bench_db" "$concurrency" -M prepared)
            ours=${single_row_rate[$concurrency]}
            fractions=$(awk -v a="$ours" -v s="$simple" -v p="$prepared" 'BEGIN { printf "%.0f%% | %.0f%%", 100 * a / s, 100 * a / p }')
            echo "| $concurrency | $simple | $prepared | $ours | $fractions |"
        done
    fi
done
