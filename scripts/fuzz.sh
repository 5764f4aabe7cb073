#!/usr/bin/env bash
# Fuzzes the running service against its own OpenAPI description with Schemathesis, on SQLite
# and on PostgreSQL: every operation, every phase (examples, coverage, fuzzing, stateful), a
# fixed seed. Any 5xx, undocumented status, wrong content type, header or body shape fails.
#
#   scripts/fuzz.sh                  # both backends (PostgreSQL from MERCADO_TEST_PG_URL)
#   FUZZ_BACKENDS=sqlite scripts/fuzz.sh
#   FUZZ_MAX_EXAMPLES=300 scripts/fuzz.sh
#
# Schemathesis is installed, pinned, into a throwaway virtual environment under target/.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION="4.32.5"
VENV="target/fuzz-venv"
BACKENDS="${FUZZ_BACKENDS:-sqlite postgresql}"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-100}"
SEED="${FUZZ_SEED:-42}"
PG_ADMIN_URL="${MERCADO_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    echo "fuzz: installing schemathesis==$SCHEMATHESIS_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

cargo build --release --quiet
BIN="target/release/mercado"
WORK="$(mktemp -d)"
SERVER_PID=""
PG_DB=""

cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    if [ -n "$PG_DB" ]; then psql "$PG_ADMIN_URL" -q -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

for backend in $BACKENDS; do
    case "$backend" in
        sqlite) url="$WORK/fuzz.db" ;;
        postgresql)
            PG_DB="mercado_fuzz_$$"
            psql "$PG_ADMIN_URL" -q -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
            url="$(python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$PG_ADMIN_URL" "$PG_DB")"
            ;;
        *) echo "fuzz: unknown backend $backend"; exit 2 ;;
    esac
    port="$(free_port)"
    # The demo shop gives the fuzzer real ids to find; the service logs warnings only.
    DATABASE_URL="$url" MERCADO_BIND="127.0.0.1:$port" RUST_LOG=warn "$BIN" serve >"$WORK/server-$backend.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
        sleep 0.1
    done
    echo "fuzz: $backend on port $port"
    started=$(date +%s)
    "$VENV/bin/st" --no-color run "http://127.0.0.1:$port/openapi.json" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
        --phases examples,coverage,fuzzing,stateful \
        --seed "$SEED" --max-examples "$MAX_EXAMPLES" --workers 2
    echo "fuzz: $backend passed in $(( $(date +%s) - started )) s"
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
    if [ "$backend" = postgresql ]; then
        psql "$PG_ADMIN_URL" -q -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null; PG_DB=""
    fi
done
