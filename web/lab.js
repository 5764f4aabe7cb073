// The lab page: run one strategy and show its statements (waterfall, grouped table, the code
// that sent them, the rows it answered), or compare all four. All the data comes from the
// service's own endpoints: /dashboard/{strategy}, /_debug/queries/{id} and /lab/sources.json.

import { STRATEGIES, el, explainStrategy, ms, money, runStrategy, setText, swatch } from "./dom.js";
import { drawWaterfall } from "./waterfall.js";
import { PAGE_SIZES, renderComparison, runComparison } from "./compare.js";

const $ = (id) => document.getElementById(id);
const sources = fetch("/lab/sources.json").then((r) => r.json());
let comparison = null;

async function run(event) {
  event?.preventDefault();
  const strategy = $("strategy").value;
  const limit = Math.min(5000, Math.max(10, Number($("limit").value) || 100));
  $("limit").value = limit;
  $("run-button").disabled = true;
  $("run-error").hidden = true;
  document.body.dataset.state = "running";
  try {
    const { status, queryCount, rows, record } = await runStrategy(strategy, limit);
    showSummary(status, queryCount, record);
    const drawStarted = performance.now();
    const bars = drawWaterfall($("waterfall"), $("tooltip"), record);
    $("waterfall").dataset.drawMs = (performance.now() - drawStarted).toFixed(1);
    setText(
      $("waterfall-caption"),
      `${record.query_count.toLocaleString("en")} statements in ` +
        `${ms(record.duration_ms)}, drawn as ${bars.toLocaleString("en")} bars` +
        (record.truncated
          ? ` (only the first ${record.kept_statements.toLocaleString("en")} are kept)`
          : "") +
        ".",
    );
    showGroups(record);
    showRows(rows);
    showCode(strategy, record);
    await showPlans(strategy, limit);
    document.body.dataset.state = "done";
  } catch (error) {
    setText($("run-error"), String(error.message ?? error));
    $("run-error").hidden = false;
    document.body.dataset.state = "failed";
  } finally {
    $("run-button").disabled = false;
  }
}

function showSummary(status, queryCount, record) {
  setText($("status"), status);
  setText($("query-count"), queryCount.toLocaleString("en"));
  setText($("total-ms"), ms(record.duration_ms));
  setText($("db-ms"), ms(record.db_ms));
  const verdict = record.n_plus_one;
  setText(
    $("verdict"),
    verdict.detected
      ? `N+1: one statement ran ${verdict.count.toLocaleString("en")} times ` +
          `(threshold ${verdict.threshold})`
      : `no statement ran ${verdict.threshold} times or more`,
  );
}

function showGroups(record) {
  const legend = $("legend");
  legend.replaceChildren(
    ...record.statements.map((group, i) =>
      el("li", {}, swatch(i), group.sql),
    ),
  );
  $("groups").tBodies[0].replaceChildren(
    ...record.statements.map((group, i) =>
      el(
        "tr",
        {},
        el("td", { class: "sql" }, swatch(i), group.sql),
        el("td", { class: "count" }, group.count.toLocaleString("en")),
        el("td", {}, group.total_ms.toFixed(2)),
        el("td", {}, group.duplicates.toLocaleString("en")),
      ),
    ),
  );
}

function showRows(rows) {
  $("rows").tBodies[0].replaceChildren(
    ...rows.slice(0, 20).map((row) =>
      el(
        "tr",
        {},
        el("td", {}, row.customer_id),
        el("td", { class: "name" }, `${row.first_name} ${row.last_name}`),
        el("td", {}, row.order_count),
        el("td", {}, money(row.total_spend_cents)),
      ),
    ),
  );
}

async function showCode(strategy, record) {
  const code = (await sources)[strategy] ?? "";
  setText($("code-text"), code);
  const counts = record.statements.map((g) => g.count);
  const explain =
    strategy === "n-plus-one"
      ? `This loop sent 1 + N + O statements: ${counts.join(" + ")} = ` +
        `${record.query_count.toLocaleString("en")}, one per customer and one per order.`
      : `${record.query_count} statement${record.query_count === 1 ? "" : "s"} for the whole page, ` +
        `whatever its size.`;
  setText($("code-summary"), explain);
}

async function showPlans(strategy, limit) {
  const plans = await explainStrategy(strategy, limit);
  setText(
    $("plans-summary"),
    `${plans.rows.toLocaleString("en")} rows moved from the database over ` +
      `${plans.statements.length} distinct statement${plans.statements.length === 1 ? "" : "s"} ` +
      `(${plans.backend}).`,
  );
  $("plans").replaceChildren(
    ...plans.statements.map((statement, i) =>
      el(
        "article",
        { class: "plan" },
        el(
          "h3",
          {},
          swatch(i),
          `${statement.runs.toLocaleString("en")} run${statement.runs === 1 ? "" : "s"}, ` +
            `${statement.rows.toLocaleString("en")} rows`,
        ),
        el("p", { class: "plan-sql" }, statement.sql),
        el("pre", { class: "code" }, statement.plan.join("\n")),
      ),
    ),
  );
}

async function compare() {
  $("compare-button").disabled = true;
  try {
    comparison = await runComparison((message) => setText($("compare-status"), message));
    setText(
      $("compare-status"),
      `${STRATEGIES.length} strategies × ${PAGE_SIZES.length} page sizes, measured just now.`,
    );
    redrawComparison();
  } catch (error) {
    setText($("compare-status"), `The comparison failed: ${error.message ?? error}`);
  } finally {
    $("compare-button").disabled = false;
  }
}

function redrawComparison() {
  const rtt = Number($("rtt").value);
  setText($("rtt-value"), `${rtt} ms`);
  if (!comparison) return;
  renderComparison(comparison, rtt, {
    statementsCanvas: $("compare-statements"),
    msCanvas: $("compare-ms"),
    table: $("compare-table"),
    msCaption: $("compare-ms-caption"),
  });
}

$("run-form").addEventListener("submit", run);
$("compare-button").addEventListener("click", compare);
$("rtt").addEventListener("input", redrawComparison);
document.body.dataset.state = "ready";
