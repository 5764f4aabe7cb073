// The waterfall: one bar per statement, left to right in time, top to bottom in the order the
// statements ran, coloured by SQL text. Drawn on a canvas, so 30,000 statements (n-plus-one at
// 5,000 customers) are as quick to draw as three: when there are more statements than pixel
// rows, several share a row, but every one is still drawn.

import { colour, ms, setText } from "./dom.js";

const AXIS = 18; // pixels under the bars for the time axis
const MIN_HEIGHT = 120;
const MAX_HEIGHT = 480;

/**
 * Draws `record.timeline` on `canvas` and wires hover, click and the arrow keys to show one
 * statement in `tooltip`. Returns how many bars were drawn.
 */
export function drawWaterfall(canvas, tooltip, record) {
  const timeline = record.timeline;
  const count = timeline.length;
  const width = canvas.clientWidth || canvas.width;
  const barsHeight = Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, count * 4));
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round((barsHeight + AXIS) * ratio);
  canvas.style.height = `${barsHeight + AXIS}px`;
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, barsHeight + AXIS);

  // The time axis spans the request: the last statement's end, or the whole request if longer.
  const end = timeline.reduce((latest, s) => Math.max(latest, s.offset_ms + s.duration_ms), 0);
  const span = Math.max(end, record.duration_ms, 0.001);
  const x = (t) => (t / span) * width;
  const rowHeight = count > 0 ? barsHeight / count : barsHeight;
  const barHeight = rowHeight >= 3 ? rowHeight - 1 : Math.max(rowHeight, 0.5);

  for (let i = 0; i < count; i++) {
    const statement = timeline[i];
    context.fillStyle = statement.failed ? "#c00" : colour(statement.group);
    context.fillRect(
      x(statement.offset_ms),
      i * rowHeight,
      Math.max(1, x(statement.duration_ms)),
      barHeight,
    );
  }
  drawAxis(context, width, barsHeight, span);

  canvas.dataset.bars = String(count);
  wireInspection(canvas, tooltip, record, { rowHeight, width, x });
  return count;
}

function drawAxis(context, width, top, span) {
  context.fillStyle = "#555";
  context.font = "11px system-ui, sans-serif";
  context.fillRect(0, top + 1, width, 1);
  const ticks = 5;
  for (let i = 0; i <= ticks; i++) {
    const t = (span * i) / ticks;
    const at = (width * i) / ticks;
    const label = ms(t);
    const measured = context.measureText(label).width;
    const left = Math.min(Math.max(at - measured / 2, 0), width - measured);
    context.fillText(label, left, top + 14);
  }
}

/** Hover, click and keyboard inspection of one statement at a time. */
function wireInspection(canvas, tooltip, record, geometry) {
  const timeline = record.timeline;
  let selected = -1;

  const show = (index, anchorX, anchorY) => {
    if (index < 0 || index >= timeline.length) {
      tooltip.hidden = true;
      return;
    }
    selected = index;
    const s = timeline[index];
    setText(
      tooltip,
      `#${index + 1} of ${record.query_count} · starts at ${ms(s.offset_ms)} · ` +
        `takes ${ms(s.duration_ms)}${s.failed ? " · FAILED" : ""}\n${s.sql}`,
    );
    tooltip.hidden = false;
    const left = Math.min(anchorX + 12, geometry.width - 320);
    tooltip.style.left = `${Math.max(0, left)}px`;
    tooltip.style.top = `${anchorY + 12}px`;
  };

  const indexAt = (event) => {
    const bounds = canvas.getBoundingClientRect();
    const y = event.clientY - bounds.top;
    return { index: Math.floor(y / geometry.rowHeight), x: event.clientX - bounds.left, y };
  };

  canvas.onmousemove = (event) => {
    const { index, x, y } = indexAt(event);
    show(index, x, y);
  };
  canvas.onclick = canvas.onmousemove;
  canvas.onmouseleave = () => {
    tooltip.hidden = true;
  };
  canvas.onkeydown = (event) => {
    const steps = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 };
    if (!(event.key in steps) || timeline.length === 0) return;
    event.preventDefault();
    const next = Math.min(timeline.length - 1, Math.max(0, selected + steps[event.key]));
    show(next, geometry.x(timeline[next].offset_ms), next * geometry.rowHeight);
  };
}
