#!/usr/bin/env bash
# Reviews the migrations before any database sees them, in the two ways a person would:
#
# 1. lint: squawk reads every PostgreSQL up.sql and down.sql and flags statements that take
#    long locks or break running code. A migration that Diesel wraps in a transaction (the
#    default) is linted as one; a migration whose metadata.toml turns that off is linted as
#    running outside one, because what is safe differs between the two.
# 2. schema: src/schema.rs must be exactly what `diesel print-schema` prints (with the settings
#    in diesel.toml) for a fresh PostgreSQL database that migrations/postgres has been applied
#    to. The diesel CLI applies them, not mercado: a stale src/schema.rs can stop mercado from
#    compiling, and this check must still be able to say why.
#
#   scripts/check-migrations.sh                # both checks
#   scripts/check-migrations.sh lint           # squawk only: needs no database
#   scripts/check-migrations.sh schema         # print-schema only
#   scripts/check-migrations.sh write-schema   # regenerate src/schema.rs instead of checking it
#
# squawk is installed, pinned, into a throwaway virtual environment under target/; the diesel
# CLI, pinned, with `cargo install` into cargo's bin directory (minutes, once per machine).
# PostgreSQL comes from MERCADO_TEST_PG_URL, as for the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

SQUAWK_VERSION="2.70.0"
DIESEL_CLI_VERSION="2.3.14"
VENV="target/squawk-venv"
CARGO_ROOT="${CARGO_HOME:-$HOME/.cargo}"
DIESEL="$CARGO_ROOT/bin/diesel"
PG_ADMIN_URL="${MERCADO_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
mkdir -p target

lint() {
    if ! "$VENV/bin/squawk" --version 2>/dev/null | grep -qx "squawk $SQUAWK_VERSION"; then
        echo "check-migrations: installing squawk-cli==$SQUAWK_VERSION into $VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet --disable-pip-version-check "squawk-cli==$SQUAWK_VERSION"
    fi
    local failed=0 dir mode
    for dir in migrations/postgres/*/; do
        # Diesel's rule: no metadata.toml means a transaction; a metadata.toml means none unless
        # it says `run_in_transaction = true` (its field defaults to false when the file exists).
        mode=--assume-in-transaction
        if [ -f "$dir/metadata.toml" ] &&
            ! grep -Eq '^[[:space:]]*run_in_transaction[[:space:]]*=[[:space:]]*true' "$dir/metadata.toml"; then
            mode=--no-assume-in-transaction
        fi
        "$VENV/bin/squawk" --reporter gcc "$mode" "$dir"*.sql || failed=1
    done
    [ "$failed" = 0 ] && echo "check-migrations: squawk found nothing in migrations/postgres"
    return "$failed"
}

# Prints src/schema.rs as diesel print-schema writes it, from a fresh, migrated database.
print_schema() {
    if ! "$DIESEL" --version 2>/dev/null | grep -q "Version: $DIESEL_CLI_VERSION\$"; then
        echo "check-migrations: installing diesel_cli $DIESEL_CLI_VERSION (once per machine)" >&2
        # To stderr: this function's stdout is the printed schema.
        cargo install diesel_cli --version "$DIESEL_CLI_VERSION" --locked --root "$CARGO_ROOT" \
            --no-default-features --features postgres-bundled,sqlite-bundled >&2
    fi
    local db="mercado_print_schema_$$" url
    url="$(python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$PG_ADMIN_URL" "$db")"
    psql "$PG_ADMIN_URL" -q -c "CREATE DATABASE \"$db\"" >/dev/null
    # shellcheck disable=SC2064 # expand $db now: it is local to this function
    trap "psql '$PG_ADMIN_URL' -q -c 'DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)' >/dev/null" EXIT
    # An empty configuration for this one command: with diesel.toml's [print_schema] file,
    # `migration run` would also rewrite src/schema.rs, the file under test.
    : >target/diesel-migrate-only.toml
    "$DIESEL" migration run --database-url "$url" --migration-dir migrations/postgres \
        --config-file target/diesel-migrate-only.toml >/dev/null
    "$DIESEL" print-schema --database-url "$url"
}

schema() {
    local printed="target/print-schema.rs"
    print_schema >"$printed"
    if ! diff -u src/schema.rs "$printed"; then
        echo "check-migrations: src/schema.rs is not what diesel print-schema prints (diff above);"
        echo "                  regenerate it with: scripts/check-migrations.sh write-schema"
        return 1
    fi
    echo "check-migrations: src/schema.rs is what diesel print-schema prints"
}

case "${1:-all}" in
    lint) lint ;;
    schema) schema ;;
    write-schema)
        # Through a temporary file, so that a failure leaves src/schema.rs as it was.
        print_schema >target/print-schema.rs
        cp target/print-schema.rs src/schema.rs
        echo "check-migrations: wrote src/schema.rs"
        ;;
    all) lint && schema ;;
    *) echo "usage: scripts/check-migrations.sh [lint|schema|write-schema]" >&2; exit 2 ;;
esac
