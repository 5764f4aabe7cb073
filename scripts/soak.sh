#!/usr/bin/env bash
# A soak: mixed HTTP load on Mercado for minutes, on loopback, bounded in time.
#
#   scripts/soak.sh [postgresql] [sqlite]      (default: both)
#
# For each backend: build the release binary, seed a fresh shop (20,000 customers, 5 orders
# each on average, seed 42), start `mercado serve` on 127.0.0.1 in its default configuration
# (info logging into a file, debug recording and metrics on; only MERCADO_BIND and
# MERCADO_SEED_DEMO=false are set), then drive a mix of reads by id, list pages, the batched
# dashboard, the four reports, order placement and status changes with wrk, one thread per
# connection (the weights and why are below). wrk runs in back-to-back windows of
# SOAK_INTERVAL seconds; after each window the script reads the server's VmRSS and VmHWM.
# scripts/soak-chart.py then draws throughput, p99 and RSS over time and prints a verdict:
# the first part after warm-up against the last part.
#
# Results, in SOAK_OUT, per backend: soak-<backend>.csv (one row per window), .svg (the chart),
# -verdict.txt, -totals.txt (answers and latency by kind of request), -wrk.txt (each window's
# figures) and -server-warnings.log (the server's log lines above info).
#
# A 409 from PATCH /orders/{id} is an expected answer (two connections moved the same order)
# and is counted on its own. Any 5xx, any other 4xx (the mix only sends valid requests), a
# socket error or the server exiting fails the script with exit status 1.
#
# Needs wrk (Debian: apt-get install wrk), python3 and, for PostgreSQL, psql.
#
# Settings: SOAK_SECONDS (per backend, default 600), SOAK_INTERVAL (seconds per window and
# sample, default 10), SOAK_CONNECTIONS (default 8), SOAK_PORT (default 18081),
# SOAK_OUT (results, default target/soak), SOAK_DOCS=1 (also copy the charts to docs/),
# SOAK_RSS_BOUND_MIB (RSS growth after warm-up still called flat, default 16; see
# scripts/soak-chart.py), MERCADO_BIN (a prebuilt binary instead of `cargo build --release`),
# MERCADO_TEST_PG_URL (admin URL, default postgres://postgres@127.0.0.1:5432/postgres).
# Everything it creates is removed on exit, except the results in SOAK_OUT.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${SOAK_SECONDS:-600}
INTERVAL=${SOAK_INTERVAL:-10}
CONNECTIONS=${SOAK_CONNECTIONS:-8}
PORT=${SOAK_PORT:-18081}
OUT=${SOAK_OUT:-target/soak}
RSS_BOUND_MIB=${SOAK_RSS_BOUND_MIB:-16}
PG_ADMIN=${MERCADO_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
BACKENDS=${*:-"postgresql sqlite"}
CUSTOMERS=20000
ORDERS_PER_CUSTOMER=5

command -v wrk >/dev/null || { echo "soak.sh needs wrk (Debian: apt-get install wrk)" >&2; exit 1; }
# The verdict needs at least three windows: warm-up, early and late.
if (( INTERVAL < 1 || DURATION < 3 * INTERVAL || DURATION % INTERVAL != 0 )); then
    echo "soak.sh: SOAK_SECONDS ($DURATION) must be a multiple of SOAK_INTERVAL ($INTERVAL), three at least" >&2
    exit 2
fi
WINDOWS=$(( DURATION / INTERVAL ))

if [ -n "${MERCADO_BIN:-}" ]; then
    BIN=$(realpath "$MERCADO_BIN")
else
    cargo build --release --quiet
    BIN=$PWD/target/release/mercado
fi
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
WORK=$(mktemp -d)
SERVER_PID=""
WRK_PID=""
PG_DATABASES=()

# Every step tolerates failure (wrk may have exited already): under `set -e`, a failing step
# would end the trap early and leave the server running.
cleanup() {
    if [ -n "$WRK_PID" ]; then kill "$WRK_PID" 2>/dev/null || true; fi
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    for db in "${PG_DATABASES[@]}"; do
        psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
# Without these, a Ctrl-C or a kill would end the script without running the EXIT trap.
trap 'exit 130' INT
trap 'exit 143' TERM

pg_url() { echo "${PG_ADMIN%/*}/$1"; }

# The mix, in requests per ten thousand (the table `mix` below). Mostly what a shop's API serves
# all day: single rows, pages, the dashboard. Writes are 15%: orders placed (4%), and moved on
# through their statuses (11%, about the 2.7 moves an order takes on average to be delivered or
# cancelled, so that most placed orders are also moved). Placing orders grows the shop during
# the run, which is part of what a soak is; 4% keeps the growth to a fraction of the seeded
# 100,000 orders. The reports are rare (0.02% each): on SQLite one takes 30 to 560 ms alone
# on this shop and several seconds under the mix, holding a connection and most of a core.
#
# The script times every request itself. wrk's own percentiles (and the `latency` that done()
# receives) are "corrected" for coordinated omission: for every answer slower than the average
# interval between requests, wrk adds made-up samples, as if requests had been due at a fixed
# rate. That suits a single endpoint; in this mix one 4-second report adds about a thousand
# made-up samples, and the "p99" came out as seconds while no request other than a report
# took over 0.4 s. To time requests in Lua, each wrk thread drives exactly one connection
# (`-t` equals `-c`), so its request() and response() calls alternate.
cat > "$WORK/mix.lua" <<'LUA'
-- Mixed load for the soak (generated by scripts/soak.sh). Each request() draws one kind of
-- request by weight; ids are drawn from the seeded shop, so every request is a valid one.
local ffi = require("ffi")
ffi.cdef [[
  struct soak_timespec { long tv_sec; long tv_nsec; };
  int clock_gettime(int clock, struct soak_timespec *now);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("struct soak_timespec")
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1e3 + tonumber(clock.tv_nsec) / 1e6
end

local CUSTOMERS, PRODUCTS, ORDERS = tonumber(os.getenv("SOAK_CUSTOMERS")),
  tonumber(os.getenv("SOAK_PRODUCTS")), tonumber(os.getenv("SOAK_ORDERS"))

local json = { ["Content-Type"] = "application/json" }

-- What this thread heard: answers by status, and each answer's kind of request and
-- milliseconds. done() reads them through thread:get, which copies flat tables only.
statuses, kinds, times = {}, {}, {}
-- The request in flight on this thread's one connection.
local sent_kind, sent_at

-- Orders this thread placed and has not finished moving: {id, status as last sent}; and the
-- newest order id it has seen placed (by any connection: ids are given out in order).
local open, newest = {}, nil
-- The entry of `open` that the request in flight moves, if it stays open after the move.
local moving

-- The moves the contract allows, drawn so that most orders go on to be delivered.
local function next_status(status)
  if status == "pending" then return math.random() < 0.9 and "paid" or "cancelled" end
  if status == "paid" then return math.random() < 0.9 and "shipped" or "cancelled" end
  return "delivered"
end

-- One to three distinct products, one to five of each, for a random customer.
local function place_order()
  sent_kind = "POST /orders"
  local lines, seen = {}, {}
  for _ = 1, math.random(1, 3) do
    local product = math.random(PRODUCTS)
    if not seen[product] then
      seen[product] = true
      lines[#lines + 1] = string.format('{"product_id":%d,"quantity":%d}', product, math.random(1, 5))
    end
  end
  local body = string.format('{"customer_id":%d,"items":[%s]}',
    math.random(CUSTOMERS), table.concat(lines, ","))
  return wrk.format("POST", "/orders", json, body)
end

local function patch(id, status)
  sent_kind = "PATCH /orders/{id}"
  return wrk.format("PATCH", "/orders/" .. id, json, string.format('{"status":"%s"}', status))
end

-- Moves an order one allowed step on. Nine times in ten it is one of this thread's own open
-- orders, whose status it knows. One time in ten it is any order placed during the run, as if
-- a second clerk acted on it, asking for pending -> paid: when another connection has moved
-- that order first, the server answers 409, and so may the owner's next move of it. Those 409s
-- are the expected outcome of the race and are counted apart from failures.
local function change_status()
  moving = nil
  if newest and (#open == 0 or math.random(10) == 1) then
    return patch(math.random(ORDERS + 1, newest), "paid")
  end
  if #open == 0 then return place_order() end
  local i = math.random(#open)
  local order = open[i]
  order.status = next_status(order.status)
  if order.status == "delivered" or order.status == "cancelled" then
    open[i] = open[#open]
    open[#open] = nil
  else
    moving = order
  end
  return patch(order.id, order.status)
end

local function get(kind, path)
  return function()
    sent_kind = kind
    return wrk.format("GET", path())
  end
end

-- {requests per ten thousand, request builder}
local mix = {
  { 3000, get("GET /customers/{id}", function() return "/customers/" .. math.random(CUSTOMERS) end) },
  { 2500, get("GET /orders/{id}", function() return "/orders/" .. math.random(ORDERS) end) },
  { 1000, get("GET /products/{id}", function() return "/products/" .. math.random(PRODUCTS) end) },
  { 800, get("GET /customers?limit=50", function()
    return "/customers?limit=50&after=" .. math.random(0, CUSTOMERS - 50) end) },
  { 800, get("GET /orders?limit=50", function()
    return "/orders?limit=50&after=" .. math.random(0, ORDERS - 50) end) },
  { 400, get("GET /dashboard/batched?limit=100", function()
    return "/dashboard/batched?limit=100&after=" .. math.random(0, CUSTOMERS - 100) end) },
  { 400, place_order },
  { 1092, change_status },
  { 2, get("GET /reports/top-customers", function() return "/reports/top-customers" end) },
  { 2, get("GET /reports/monthly-revenue", function() return "/reports/monthly-revenue" end) },
  { 2, get("GET /reports/orders-by-last-name", function() return "/reports/orders-by-last-name" end) },
  { 2, get("GET /reports/category-revenue", function() return "/reports/category-revenue" end) },
}
local total_weight = 0
for _, entry in ipairs(mix) do total_weight = total_weight + entry[1] end

function init(args)
  -- A different but repeatable sequence for every window and thread.
  math.randomseed(42 + 1000 * tonumber(args[1] or 0) + thread_number)
end

function request()
  local draw = math.random(total_weight)
  for _, entry in ipairs(mix) do
    draw = draw - entry[1]
    if draw <= 0 then
      local built = entry[2]()
      sent_at = now_ms()
      return built
    end
  end
end

function response(status, headers)
  local ms = now_ms() - sent_at
  local code = tostring(status)
  statuses[code] = (statuses[code] or 0) + 1
  kinds[#kinds + 1] = sent_kind
  times[#times + 1] = ms
  -- Only POST /orders answers 201 in this mix; its Location names the new, pending order.
  if status == 201 then
    local id = tonumber(((headers["location"] or headers["Location"] or "")):match("(%d+)$"))
    if id then
      open[#open + 1] = { id = id, status = "pending" }
      newest = math.max(newest or id, id)
    end
  end
  -- Someone else moved this order first: its status is no longer known here, so let it go.
  if status == 409 and moving then
    for i, order in ipairs(open) do
      if order == moving then
        open[i] = open[#open]
        open[#open] = nil
        break
      end
    end
  end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_number", #threads)
end

-- The nearest-rank percentile of sorted values.
local function percentile(sorted, p)
  return sorted[math.max(1, math.ceil(#sorted * p / 100))]
end

-- One "key value..." line each, read by soak.sh.
function done(summary)
  local all, by_kind, answers = {}, {}, {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do answers[code] = (answers[code] or 0) + n end
    local kinds, times = thread:get("kinds"), thread:get("times")
    for i, ms in ipairs(times) do
      local list = by_kind[kinds[i]] or {}
      list[#list + 1] = ms
      by_kind[kinds[i]] = list
      all[#all + 1] = ms
    end
  end
  table.sort(all)
  local errors = summary.errors
  print("requests " .. summary.requests)
  print(string.format("seconds %.3f", summary.duration / 1e6))
  print(string.format("p99_ms %.2f", #all > 0 and percentile(all, 99) or 0))
  print("socket_errors " .. (errors.connect + errors.read + errors.write))
  print("timeouts " .. errors.timeout)
  for code, n in pairs(answers) do print("status " .. code .. " " .. n) end
  -- Kinds have spaces; soak.sh reads the last four fields.
  for kind, list in pairs(by_kind) do
    table.sort(list)
    print(string.format("kind %s %d %.2f %.2f %.2f", kind, #list, percentile(list, 50),
      percentile(list, 99), list[#list]))
  end
end
LUA

# Starts `mercado serve` in its default configuration (apart from the address and the demo
# data), logging into $WORK/<backend>.log, and waits for it to answer. It runs in $WORK so no
# .env file is read, and without any MERCADO_* or RUST_LOG from this shell.
start_server() {
    local url=$1 log=$2
    if curl -s "http://127.0.0.1:$PORT/health" >/dev/null; then
        echo "soak.sh: something already answers on 127.0.0.1:$PORT (set SOAK_PORT)" >&2
        exit 1
    fi
    local cleared=()
    for name in $(compgen -e); do
        case $name in MERCADO_*|RUST_LOG) cleared+=(-u "$name") ;; esac
    done
    (cd "$WORK" && exec env "${cleared[@]}" DATABASE_URL="$url" MERCADO_BIND="127.0.0.1:$PORT" \
        MERCADO_SEED_DEMO=false "$BIN" serve >"$log" 2>&1) &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && return 0
        sleep 0.2
    done
    echo "soak.sh: mercado serve did not answer; its log:" >&2
    tail -20 "$log" >&2
    exit 1
}

stop_server() {
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# "<VmRSS MiB> <VmHWM MiB>" of the server.
memory() {
    awk '/^VmRSS/ {rss = $2} /^VmHWM/ {hwm = $2} END {printf "%.1f %.1f\n", rss / 1024, hwm / 1024}' \
        "/proc/$SERVER_PID/status"
}

failed=0
for backend in $BACKENDS; do
    echo "== $backend: $CONNECTIONS connections, ${DURATION} s in windows of ${INTERVAL} s =="
    case $backend in
        postgresql)
            db="mercado_soak_$$"
            PG_DATABASES+=("$db")
            psql "$PG_ADMIN" -qc "CREATE DATABASE \"$db\"" >/dev/null
            url=$(pg_url "$db")
            ;;
        sqlite) url="$WORK/soak.db" ;;
        *) echo "unknown backend $backend" >&2; exit 2 ;;
    esac

    DATABASE_URL=$url "$BIN" seed --customers "$CUSTOMERS" --orders-per-customer "$ORDERS_PER_CUSTOMER" \
        --seed 42 --reset | tail -1
    log="$WORK/$backend.log"
    start_server "$url" "$log"
    base="http://127.0.0.1:$PORT"

    # The seed numbers customers and orders from 1 in a fresh database; the product count is
    # the seed's own, so ask the shop rather than repeat it here.
    products=$(curl -sf "$base/products?limit=500" | python3 -c \
        'import json, sys; ids = [p["product_id"] for p in json.load(sys.stdin)["items"]]; print(max(ids) if ids == list(range(1, len(ids) + 1)) else 0)')
    orders=$(( CUSTOMERS * ORDERS_PER_CUSTOMER ))
    if [ "$products" = 0 ] || ! curl -sf "$base/customers/$CUSTOMERS" >/dev/null \
        || ! curl -sf "$base/orders/$orders" >/dev/null; then
        echo "soak.sh: the seeded ids are not 1..N as expected" >&2
        exit 1
    fi

    # A production PostgreSQL vacuums on its own; this machine's may run with autovacuum off
    # (its configuration file says so). Without vacuuming, ten minutes of status changes leave
    # dead row versions that every read of orders steps over, and the soak would measure that
    # rather than Mercado. So where autovacuum is off, the script stands in for it:
    # VACUUM (ANALYZE) of the tables that change, about once a minute, between windows.
    vacuum_every=0
    if [ "$backend" = postgresql ] && [ "$(psql "$url" -Atc 'SHOW autovacuum')" = off ]; then
        vacuum_every=$(( (60 + INTERVAL - 1) / INTERVAL ))
        echo "autovacuum is off on this server: VACUUM (ANALYZE) every $vacuum_every windows instead"
    fi

    csv="$OUT/soak-$backend.csv"
    echo "backend,t_seconds,requests,req_per_s,p99_ms,rss_mib,hwm_mib,status_2xx,status_409,status_4xx_other,status_5xx,socket_errors,timeouts,load1" > "$csv"
    wrk_log="$OUT/soak-$backend-wrk.txt"
    : > "$wrk_log"
    start=$(date +%s.%N)
    for window in $(seq 1 "$WINDOWS"); do
        # In the background and waited for, so that a signal reaches the trap at once.
        SOAK_CUSTOMERS=$CUSTOMERS SOAK_PRODUCTS=$products SOAK_ORDERS=$orders \
            wrk -t "$CONNECTIONS" -c "$CONNECTIONS" -d "${INTERVAL}s" --timeout 10s -s "$WORK/mix.lua" \
            "$base/" -- "$window" > "$WORK/window.txt" &
        WRK_PID=$!
        wait "$WRK_PID" || { echo "soak.sh: wrk failed in window $window" >&2; exit 1; }
        WRK_PID=""
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "soak.sh: mercado serve exited during window $window; the end of its log:" >&2
            tail -20 "$log" >&2
            exit 1
        fi
        read -r rss hwm < <(memory)
        if [ "$vacuum_every" -gt 0 ] && (( window % vacuum_every == 0 )); then
            psql "$url" -qc "VACUUM (ANALYZE) orders, order_items" >/dev/null
        fi
        # Only the script's own figures: wrk's summary above them has its corrected latencies.
        { echo "# window $window"
          grep -E '^(requests|seconds|p99_ms|socket_errors|timeouts|status|kind) ' "$WORK/window.txt"
        } >> "$wrk_log"
        row=$(awk -v backend="$backend" -v start="$start" -v now="$(date +%s.%N)" \
            -v rss="$rss" -v hwm="$hwm" -v load1="$(cut -d' ' -f1 /proc/loadavg)" '
            $1 == "requests" { requests = $2 }
            $1 == "seconds" { seconds = $2 }
            $1 == "p99_ms" { p99 = $2 }
            $1 == "socket_errors" { socket = $2 }
            $1 == "timeouts" { timeouts = $2 }
            $1 == "status" && $2 ~ /^2/ { ok += $3 }
            $1 == "status" && $2 == 409 { conflict += $3 }
            $1 == "status" && $2 !~ /^[25]/ && $2 != 409 { other += $3 }
            $1 == "status" && $2 ~ /^5/ { server += $3 }
            END {
                printf "%s,%.1f,%d,%.1f,%s,%s,%s,%d,%d,%d,%d,%d,%d,%s\n", backend, now - start,
                    requests, requests / seconds, p99, rss, hwm, ok, conflict, other, server,
                    socket, timeouts, load1
            }' "$WORK/window.txt")
        echo "$row" >> "$csv"
        IFS=, read -r _ t _ rps p99 rss _ _ conflict other server socket timeouts _ <<<"$row"
        printf '  t=%6.1f s  %8.1f req/s  p99 %8.2f ms  RSS %6.1f MiB  409 %d  other 4xx %d  5xx %d  socket errors %d  timeouts %d\n' \
            "$t" "$rps" "$p99" "$rss" "$conflict" "$other" "$server" "$socket" "$timeouts"
        if (( server + other + socket > 0 )); then failed=1; fi
    done
    stop_server

    # The whole run by kind of request (answers, the worst window's p99, the slowest answer)
    # and by status.
    awk '$1 == "kind" {
             kind = $2; for (i = 3; i <= NF - 4; i++) kind = kind " " $i
             n[kind] += $(NF - 3)
             if ($(NF - 1) > p99[kind]) p99[kind] = $(NF - 1)
             if ($NF > slowest[kind]) slowest[kind] = $NF
         }
         $1 == "status" { answers[$2] += $3 }
         END {
             printf "%-34s %9s %16s %12s\n", "request", "answers", "worst p99 (ms)", "max (ms)"
             for (k in n) printf "%-34s %9d %16.2f %12.2f\n", k, n[k], p99[k], slowest[k] | "sort"
             close("sort")
             for (code in answers) printf "status %s: %d\n", code, answers[code] | "sort"
         }' "$wrk_log" > "$OUT/soak-$backend-totals.txt"
    # The log is at info: one access line per request. Keep the lines above info, without the
    # colour codes the text format writes even into a file.
    warnings="$OUT/soak-$backend-server-warnings.log"
    sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E ' (WARN|ERROR) ' > "$warnings" || true
    echo "server log: $(wc -l < "$log") lines, $(du -m "$log" | cut -f1) MiB;" \
        "$(wc -l < "$warnings") at WARN or ERROR, kept in $warnings"

    python3 scripts/soak-chart.py --rss-bound-mib "$RSS_BOUND_MIB" --svg "$OUT/soak-$backend.svg" \
        --title "Mercado soak, $backend: mixed load at $CONNECTIONS connections, windows of $INTERVAL s" \
        "$csv" | tee "$OUT/soak-$backend-verdict.txt"
    if [ "${SOAK_DOCS:-0}" = 1 ]; then
        cp "$OUT/soak-$backend.svg" "docs/soak-$backend.svg"
    fi
done

echo "== verdicts =="
for backend in $BACKENDS; do
    grep -h '^  verdict' "$OUT/soak-$backend-verdict.txt" | sed 's/^  verdict *//'
done
if (( failed )); then
    echo "soak.sh: FAILED: 5xx answers, unexpected 4xx answers or socket errors (see $OUT)" >&2
    exit 1
fi
