// The comparison: every strategy at three page sizes, statements and milliseconds per
// request on log scales, the numbers in a table beside the charts, and the round-trip
// projection (measured time + statements × round trip), which only re-draws.

import { STRATEGIES, colour, el, explainStrategy, ms, runStrategy, setText } from "./dom.js";

export const PAGE_SIZES = [10, 100, 1000];

/** Runs the twelve requests one after another (so they do not slow each other down). */
export async function runComparison(onProgress) {
  const results = [];
  for (const strategy of STRATEGIES) {
    for (const limit of PAGE_SIZES) {
      onProgress(`running ${strategy} at ${limit} customers…`);
      const run = await runStrategy(strategy, limit);
      const plans = await explainStrategy(strategy, limit);
      results.push({
        strategy,
        limit,
        statements: run.queryCount,
        rows: plans.rows,
        measuredMs: run.record.duration_ms,
      });
    }
  }
  return results;
}

/** Draws both charts and fills the table for round trip `rtt` (milliseconds). */
export function renderComparison(results, rtt, { statementsCanvas, msCanvas, table, msCaption }) {
  const projected = (r) => r.measuredMs + r.statements * rtt;
  drawChart(statementsCanvas, results, (r) => r.statements, "statements");
  drawChart(msCanvas, results, projected, "ms");
  setText(
    msCaption,
    rtt > 0
      ? `Milliseconds per request, projected with a ${rtt} ms round trip per statement`
      : "Milliseconds per request, measured",
  );

  const body = table.tBodies[0];
  body.replaceChildren(
    ...results.map((r) =>
      el(
        "tr",
        { "data-strategy": r.strategy, "data-limit": r.limit, "data-statements": r.statements },
        el("th", { scope: "row" }, r.strategy),
        el("td", {}, r.limit.toLocaleString("en")),
        el("td", { class: "statements" }, r.statements.toLocaleString("en")),
        el("td", { class: "rows-moved" }, r.rows.toLocaleString("en")),
        el("td", {}, ms(r.measuredMs)),
        el("td", {}, ms(projected(r))),
      ),
    ),
  );
}

/** A log-log line chart: page size across, `value(result)` up, one line per strategy. */
function drawChart(canvas, results, value, unit) {
  const width = canvas.clientWidth || canvas.width;
  const height = canvas.clientHeight || canvas.height;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);

  const margin = { left: 56, right: 28, top: 12, bottom: 40 };
  const values = results.map(value).filter((v) => v > 0);
  const low = Math.pow(10, Math.floor(Math.log10(Math.min(...values, 1))));
  const high = Math.pow(10, Math.ceil(Math.log10(Math.max(...values, 10))));
  const x = (limit) =>
    margin.left +
    ((Math.log10(limit) - 1) / (Math.log10(PAGE_SIZES.at(-1)) - 1)) *
      (width - margin.left - margin.right);
  const y = (v) =>
    height -
    margin.bottom -
    ((Math.log10(Math.max(v, low)) - Math.log10(low)) / (Math.log10(high) - Math.log10(low))) *
      (height - margin.top - margin.bottom);

  // Axes, with a label at every power of ten.
  context.strokeStyle = "#bbb";
  context.fillStyle = "#444";
  context.font = "11px system-ui, sans-serif";
  for (let decade = low; decade <= high; decade *= 10) {
    context.beginPath();
    context.moveTo(margin.left, y(decade));
    context.lineTo(width - margin.right, y(decade));
    context.stroke();
    context.fillText(`${decade.toLocaleString("en")}`, 4, y(decade) + 4);
  }
  for (const limit of PAGE_SIZES) {
    context.fillText(`${limit.toLocaleString("en")}`, x(limit) - 10, height - margin.bottom + 16);
  }
  context.fillText(`customers per page · ${unit} (log scales)`, margin.left, height - 6);

  STRATEGIES.forEach((strategy, i) => {
    const points = results.filter((r) => r.strategy === strategy);
    context.strokeStyle = colour(i);
    context.fillStyle = colour(i);
    context.lineWidth = 2;
    context.beginPath();
    points.forEach((r, j) => {
      const [px, py] = [x(r.limit), y(value(r))];
      if (j === 0) context.moveTo(px, py);
      else context.lineTo(px, py);
    });
    context.stroke();
    for (const r of points) {
      context.beginPath();
      context.arc(x(r.limit), y(value(r)), 3, 0, 2 * Math.PI);
      context.fill();
    }
  });

  // Label each line at its right end, pushing labels apart where lines end close together
  // (joined and aggregate both send one statement).
  const labels = STRATEGIES.map((strategy, i) => {
    const last = results.filter((r) => r.strategy === strategy).at(-1);
    return last && { strategy, i, y: y(value(last)) - 6 };
  })
    .filter(Boolean)
    .sort((a, b) => a.y - b.y);
  labels.forEach((label, k) => {
    if (k > 0) label.y = Math.max(label.y, labels[k - 1].y + 12);
    context.fillStyle = colour(label.i);
    context.fillText(label.strategy, width - margin.right - 80, label.y);
  });
  canvas.dataset.strategies = String(new Set(results.map((r) => r.strategy)).size);
}
