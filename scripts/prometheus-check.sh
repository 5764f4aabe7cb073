#!/usr/bin/env bash
# A real Prometheus scraping a real Mercado, on loopback, bounded in time, cleaned up after:
#   1. `promtool check metrics` on /metrics and `promtool check rules` on the shipped rules;
#   2. Prometheus scrapes a release build every second while traffic hits two strategies;
#   3. its HTTP API must show n-plus-one's p95 statements per request above batched's, the N+1
#      counter for n-plus-one only, and the shipped N+1 alert firing.
# Needs Debian's `prometheus` package (prometheus, promtool); .ci/run installs it.
set -euo pipefail
cd "$(dirname "$0")/.."

RULES="$PWD/docs/prometheus/mercado.rules.yml"
cargo build --release --quiet
BIN="$PWD/target/release/mercado"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
wait_for() { for _ in $(seq 1 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "prometheus-check: $1 did not answer"; exit 1; }

port="$(free_port)"
DATABASE_URL="$WORK/shop.db" MERCADO_BIND="127.0.0.1:$port" RUST_LOG=warn "$BIN" serve >"$WORK/mercado.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$port/health"
curl -fs "http://127.0.0.1:$port/dashboard/batched?limit=10" >/dev/null

echo "prometheus-check: promtool check metrics"
curl -fs "http://127.0.0.1:$port/metrics" | promtool check metrics
echo "prometheus-check: promtool check rules"
promtool check rules "$RULES"

prom_port="$(free_port)"
cat >"$WORK/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["$RULES"]
scrape_configs:
  - job_name: mercado
    static_configs: [{targets: ["127.0.0.1:$port"]}]
YML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
    --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$prom_port/-/ready"

echo "prometheus-check: traffic to n-plus-one and batched for about 8 s"
for _ in $(seq 1 40); do
    curl -fs "http://127.0.0.1:$port/dashboard/n-plus-one?limit=20" >/dev/null
    curl -fs "http://127.0.0.1:$port/dashboard/batched?limit=20" >/dev/null
    sleep 0.2
done
sleep 3

python3 - "http://127.0.0.1:$prom_port" <<'PY'
import json, sys, time, urllib.parse, urllib.request

base = sys.argv[1]

def query(expr):
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)["data"]["result"]

def p95(route):
    result = query(
        "histogram_quantile(0.95, sum by (le) (rate("
        f'mercado_http_request_statements_bucket{{route="{route}"}}[1m])))')
    return float(result[0]["value"][1]) if result else None

deadline = time.time() + 20
while time.time() < deadline:
    slow, fast = p95("/dashboard/n-plus-one"), p95("/dashboard/batched")
    if slow is not None and fast is not None:
        break
    time.sleep(1)
print(f"prometheus-check: p95 statements per request: n-plus-one {slow}, batched {fast}")
assert slow is not None and fast is not None, "Prometheus has no statements histogram"
assert slow > fast, "n-plus-one must send more statements per request than batched"

detections = {s["metric"]["route"]: float(s["value"][1])
              for s in query("mercado_n_plus_one_detections_total")}
print(f"prometheus-check: N+1 detections by route: {detections}")
assert detections.get("/dashboard/n-plus-one", 0) > 0, "the detector never fired"
assert set(detections) == {"/dashboard/n-plus-one"}, "only n-plus-one may trip the detector"

deadline = time.time() + 15
while True:
    with urllib.request.urlopen(f"{base}/api/v1/alerts", timeout=5) as r:
        alerts = json.load(r)["data"]["alerts"]
    firing = [a for a in alerts if a["labels"]["alertname"] == "MercadoNPlusOneDetected"
              and a["state"] == "firing"]
    if firing or time.time() > deadline:
        break
    time.sleep(1)
assert firing and firing[0]["labels"]["route"] == "/dashboard/n-plus-one", alerts
print("prometheus-check: MercadoNPlusOneDetected is firing for /dashboard/n-plus-one")
PY
echo "prometheus-check: passed"
