#!/usr/bin/env bash
# Each report beside its floor: the cheapest query that reads the same rows, on loopback.
#
#   scripts/report-floors.sh [postgresql] [sqlite]      (default: both)
#
# For each backend: build the release binary, seed a fresh shop (20,000 customers, 5 orders
# each on average, seed 42), then time every report and its floor, interleaved (report, floor,
# report, floor, ...) in one database session, and print a markdown table: the median of each,
# the ratio, and whether the report is within 2x of its floor (the target of issue 15).
#
# The reports are read from src/reports/ with their parameters written in as literals of the
# type the service binds (limit 10, the API's default; monthly revenue with no bounds, and with
# from = to = REPORT_MONTH), so the script times the SQL that ships. The floors are below, in
# `floor_sql`, each with what it leaves out.
#
# Timing: psql's \timing on PostgreSQL, the sqlite3 shell's .timer (wall clock, "real") on
# SQLite, which prints whole milliseconds only. PostgreSQL's session sets
# max_parallel_workers_per_gather = 0: a floor that gets a parallel worker while the report does
# not would measure the machine's idle cores, not the SQL, and on a small shared machine that
# changes from run to run. REPORT_PG_PARALLEL=1 keeps the server's setting.
#
# Settings: REPORT_RUNS (timed runs of each query after one untimed warm-up, default 7),
# REPORT_MONTH (the one-month range, default 2025-06), REPORT_PLANS=1 (also print each plan:
# EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite), REPORT_BASE (a git
# revision: also time the reports as they were there, in the same loop, and check that both
# versions return the same rows), REPORT_PG_PARALLEL (see above), MERCADO_TEST_PG_URL (admin
# URL, default postgres://postgres@127.0.0.1:5432/postgres). Needs psql for PostgreSQL and the
# sqlite3 shell for SQLite. Everything it creates is removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${REPORT_RUNS:-7}
MONTH=${REPORT_MONTH:-2025-06}
PLANS=${REPORT_PLANS:-0}
BASE=${REPORT_BASE:-}
PG_PARALLEL=${REPORT_PG_PARALLEL:-0}
PG_ADMIN=${MERCADO_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
BACKENDS=${*:-"postgresql sqlite"}
LIMIT=10

[[ $MONTH =~ ^[0-9]{4}-(0[1-9]|1[0-2])$ ]] || { echo "REPORT_MONTH must be YYYY-MM" >&2; exit 2; }
NEXT_MONTH=$(date -u -d "$MONTH-01 +1 month" +%Y-%m)
BASE_LABEL=""
if [ -n "$BASE" ]; then
    BASE_LABEL=$(git rev-parse --short "$BASE^{commit}")
fi

cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/mercado
WORK=$(mktemp -d)
PG_DATABASES=()

cleanup() {
    for db in "${PG_DATABASES[@]}"; do
        psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

pg_url() { echo "${PG_ADMIN%/*}/$1"; }

# The reports, as "name|file|first parameter|second parameter"; a parameter is "limit", "null",
# "month" or empty (none). {backend} becomes postgres or sqlite.
REPORTS=(
    "orders-by-last-name|orders_by_last_name.sql|limit|"
    "top-customers|top_customers.sql|limit|"
    "monthly-revenue (all months)|{backend}/monthly_revenue.sql|null|null"
    "monthly-revenue ($MONTH)|{backend}/monthly_revenue.sql|month|month"
    "category-revenue|category_revenue.sql||"
)

# A parameter written as a literal of the type the service binds: BigInt for a limit,
# Nullable<Text> for a month.
literal() {
    local backend=$1 kind=$2
    case $backend:$kind in
        postgresql:limit) echo "CAST($LIMIT AS BIGINT)" ;;
        postgresql:null) echo "CAST(NULL AS TEXT)" ;;
        postgresql:month) echo "CAST('$MONTH' AS TEXT)" ;;
        sqlite:limit) echo "$LIMIT" ;;
        sqlite:null) echo "NULL" ;;
        sqlite:month) echo "'$MONTH'" ;;
        *:) echo "" ;;
    esac
}

# Prints a report's SQL from revision $1 (empty: the working tree) with its parameters bound.
report_sql() {
    local rev=$1 backend=$2 file=$3 first=$4 second=$5
    local dir=${backend/postgresql/postgres}
    local path="src/reports/${file/\{backend\}/$dir}"
    local text
    if [ -n "$rev" ]; then text=$(git show "$rev:$path"); else text=$(cat "$path"); fi
    # Full-line comments go first: they mention $1 and $2 too.
    sed -e '/^[[:space:]]*--/d' \
        -e "s/\\\$1/$(literal "$backend" "$first")/g" \
        -e "s/\\\$2/$(literal "$backend" "$second")/g" <<<"$text"
}

# The floor of each report: one pass over the rows the report reads, grouped as little as the
# report's shape allows, with no ranking, no calendar, no tree and no ordering. The same text
# serves both backends. Where a floor names its tables with CROSS JOIN, the join order is the
# point: SQLite takes a CROSS JOIN's left table as the outer loop (its documented way to fix a
# join order), and left to itself it reads order_items through an index in an order that
# spares it a sort, which costs about three times a plain scan here. PostgreSQL plans a CROSS
# JOIN with a WHERE like any inner join.
floor_sql() {
    case $1 in
        orders-by-last-name) cat <<'SQL'
SELECT c.last_name, COUNT(*) AS orders
  FROM customers AS c
  JOIN orders AS o ON o.customer_id = c.customer_id
 GROUP BY c.last_name
SQL
        ;;
        # Per customer: the item rows and the spend. No order count, no customers without
        # orders, no names.
        top-customers) cat <<'SQL'
SELECT o.customer_id,
       COUNT(*) AS item_rows,
       SUM(CASE WHEN o.status <> 'cancelled' THEN oi.quantity * oi.unit_price_cents END) AS spend
  FROM order_items AS oi
 CROSS JOIN orders AS o
 WHERE o.order_id = oi.order_id
 GROUP BY o.customer_id
SQL
        ;;
        # One total for the whole range: no months at all. Every month is every order, so the
        # items are read first; for one month the orders of the range are.
        "monthly-revenue (all months)") cat <<'SQL'
SELECT COUNT(*) AS item_rows, SUM(oi.quantity * oi.unit_price_cents) AS revenue_cents
  FROM order_items AS oi
 CROSS JOIN orders AS o
 WHERE o.order_id = oi.order_id
   AND o.status <> 'cancelled'
SQL
        ;;
        "monthly-revenue ("*) cat <<SQL
SELECT COUNT(*) AS item_rows, SUM(oi.quantity * oi.unit_price_cents) AS revenue_cents
  FROM orders AS o
 CROSS JOIN order_items AS oi
 WHERE oi.order_id = o.order_id
   AND o.status <> 'cancelled'
   AND o.placed_at >= '$MONTH-01'
   AND o.placed_at < '$NEXT_MONTH-01'
SQL
        ;;
        # Revenue per category a product is filed under: no tree, no roll-up, no paths.
        category-revenue) cat <<'SQL'
SELECT p.category_id, SUM(oi.quantity * oi.unit_price_cents) AS revenue_cents
  FROM order_items AS oi
 CROSS JOIN orders AS o
 CROSS JOIN products AS p
 WHERE o.order_id = oi.order_id
   AND p.product_id = oi.product_id
   AND o.status <> 'cancelled'
 GROUP BY p.category_id
SQL
        ;;
    esac
}

# Runs the script on stdin in one session of the backend's shell; prints what it prints.
session() {
    local backend=$1 url=$2
    case $backend in
        postgresql)
            { [ "$PG_PARALLEL" = 1 ] || echo 'SET max_parallel_workers_per_gather = 0;'; cat; } |
                psql -X -q -v ON_ERROR_STOP=1 "$url"
            ;;
        sqlite) sqlite3 -bail "$url" ;;
    esac
}

median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for backend in $BACKENDS; do
    case $backend in
        postgresql)
            db="mercado_report_floors_$$"
            PG_DATABASES+=("$db")
            psql "$PG_ADMIN" -qc "CREATE DATABASE \"$db\"" >/dev/null
            url=$(pg_url "$db")
            version="PostgreSQL $(psql -X -qAt "$url" -c 'SHOW server_version')"
            ;;
        sqlite)
            url="$WORK/floors.db"
            version="sqlite3 shell $(sqlite3 --version | cut -d' ' -f1)"
            ;;
        *) echo "unknown backend $backend" >&2; exit 2 ;;
    esac
    DATABASE_URL=$url "$BIN" seed --customers 20000 --orders-per-customer 5 --seed 42 --reset | tail -1

    # Every query of this backend, in the order one run times them: for each report its
    # version at REPORT_BASE (if asked), the report, then its floor.
    names=() files=()
    for entry in "${REPORTS[@]}"; do
        IFS='|' read -r name file first second <<<"$entry"
        if [ -n "$BASE" ]; then
            names+=("$name@base") files+=("$WORK/$backend.${#files[@]}.sql")
            report_sql "$BASE" "$backend" "$file" "$first" "$second" >"${files[-1]}"
        fi
        names+=("$name") files+=("$WORK/$backend.${#files[@]}.sql")
        report_sql "" "$backend" "$file" "$first" "$second" >"${files[-1]}"
        names+=("$name@floor") files+=("$WORK/$backend.${#files[@]}.sql")
        floor_sql "$name" >"${files[-1]}"
    done

    if [ -n "$BASE" ]; then
        # The rows each version returns, compared byte for byte.
        differ=()
        for i in "${!names[@]}"; do
            [[ ${names[$i]} == *@base ]] || continue
            old=$( { cat "${files[$i]}"; echo ';'; } | session "$backend" "$url")
            new=$( { cat "${files[$((i + 1))]}"; echo ';'; } | session "$backend" "$url")
            [ "$old" = "$new" ] || differ+=("${names[$((i + 1))]}")
        done
        if [ ${#differ[@]} -eq 0 ]; then
            echo "$backend: every report returns the same rows as at $BASE_LABEL"
        else
            echo "$backend: DIFFERENT rows from $BASE_LABEL: ${differ[*]}" >&2
            exit 1
        fi
    fi

    # One session: a warm-up round, then RUNS timed rounds. Each statement prints one timing
    # line, so the k-th line belongs to query k modulo the number of queries.
    count=${#files[@]}
    timings=$(
        {
            case $backend in
                postgresql) echo '\o /dev/null'; echo '\timing on' ;;
                sqlite) echo '.output /dev/null'; echo '.timer on' ;;
            esac
            for _ in $(seq 0 "$RUNS"); do
                for file in "${files[@]}"; do cat "$file"; echo ';'; done
            done
        } | session "$backend" "$url" |
            awk '/^Time: / {print $2} /^Run Time: / {print $4 * 1000}'
    )
    [ "$(wc -l <<<"$timings")" -eq $(( (RUNS + 1) * count )) ] ||
        { echo "$backend: expected $(( (RUNS + 1) * count )) timings" >&2; exit 1; }
    declare -A runs=()
    i=0
    while read -r ms; do
        (( i >= count )) && runs[${names[$((i % count))]}]+=" $ms"
        i=$((i + 1))
    done <<<"$timings"

    echo
    echo "$backend ($version), $RUNS runs each, $(uptime | sed 's/.*load average/load average/')"
    echo
    echo "| backend | report | report median ms | floor median ms | ratio | within 2x? |"
    echo "|---|---|---|---|---|---|"
    for entry in "${REPORTS[@]}"; do
        name=${entry%%|*}
        floor=$(median "${runs[$name@floor]}")
        rows=("$name")
        [ -n "$BASE" ] && rows=("$name@base" "$name")
        for row in "${rows[@]}"; do
            label=$row
            [[ $row == *@base ]] && label="$name (at $BASE_LABEL)"
            ms=$(median "${runs[$row]}")
            awk -v b="$backend" -v l="$label" -v r="$ms" -v f="$floor" 'BEGIN {
                ratio = r / f
                printf "| %s | %s | %.1f | %.1f | %.2f | %s |\n", b, l, r, f, ratio, ratio <= 2 ? "yes" : "no"
            }'
        done
    done
    unset runs

    if [ "$PLANS" = 1 ]; then
        for i in "${!names[@]}"; do
            echo
            label=${names[$i]/@base/ (at $BASE_LABEL)}
            echo "#### $backend: ${label/@floor/, its floor}"
            echo '```'
            case $backend in
                postgresql) { echo 'EXPLAIN (ANALYZE, BUFFERS)'; cat "${files[$i]}"; echo ';'; } ;;
                sqlite) { echo -n 'EXPLAIN QUERY PLAN '; cat "${files[$i]}"; echo ';'; } ;;
            esac | session "$backend" "$url"
            echo '```'
        done
    fi
done
