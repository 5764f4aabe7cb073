// Small helpers for building the page. Everything the page shows that came from the shop or
// the database (customer names, SQL text, the Rust source) goes in as a text node, never as
// HTML: a customer named `<img src=x onerror=...>` is shown as those characters, not run.

/** An element with attributes and children; strings become text nodes. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    node.setAttribute(name, String(value));
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replaces an element's content with plain text. */
export function setText(node, text) {
  node.textContent = String(text);
}

/** Milliseconds with a sensible number of decimals. */
export function ms(value) {
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}

/** Cents as an amount. */
export function money(cents) {
  return (cents / 100).toLocaleString("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

/** A colour per SQL text, the same for a text wherever it appears on the page. */
const PALETTE = [
  "#3b6fd8", "#e0693a", "#2f9e6e", "#b04bc2", "#c9a227", "#d6455d",
  "#4aa3b8", "#7a6bd6", "#8c9a2e", "#d9788f", "#5a7f99", "#a0662f",
];
export function colour(group) {
  return PALETTE[group % PALETTE.length];
}

/** A small square in the colour of SQL text number `group`. (Set through the CSSOM: the
 * page's Content-Security-Policy allows no inline style attributes.) */
export function swatch(group) {
  const node = el("span", { class: "swatch", "aria-hidden": "true" });
  node.style.backgroundColor = colour(group);
  return node;
}

/** The plans and rows of a strategy's statements for one page. */
export async function explainStrategy(strategy, limit) {
  const response = await fetch(`/_debug/explain/${encodeURIComponent(strategy)}?limit=${limit}`);
  if (!response.ok) throw new Error(`no plans for ${strategy} (${response.status})`);
  return response.json();
}

/** The strategies, in the order the lesson tells them. */
export const STRATEGIES = ["n-plus-one", "batched", "joined", "aggregate"];

/**
 * Runs one dashboard request and fetches its record from `/_debug/queries/{id}`: the
 * response's `X-Request-Id` names it. Returns the header count, the rows and the record.
 */
export async function runStrategy(strategy, limit) {
  const response = await fetch(`/dashboard/${encodeURIComponent(strategy)}?limit=${limit}`);
  const body = await response.json();
  if (!response.ok) {
    throw new Error(`${response.status}: ${body.detail ?? "the request failed"}`);
  }
  const id = response.headers.get("X-Request-Id");
  const recordResponse = await fetch(`/_debug/queries/${encodeURIComponent(id)}`);
  if (!recordResponse.ok) {
    throw new Error(`no record for request ${id} (${recordResponse.status})`);
  }
  return {
    status: response.status,
    queryCount: Number(response.headers.get("X-Query-Count")),
    rows: body.items,
    record: await recordResponse.json(),
  };
}
