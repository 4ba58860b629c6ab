// When filters leave nothing: which filter emptied the answer (each one alone, counted by /api/browse), what
// the collection covers (its dates, its folder), and one click to clear them.
import { $, api, qs } from "./api.js";
import { go } from "./route.js";

const NAMES = { under: "under the folder", after: "taken on or after", before: "taken on or before", type: "of the type",
  place: "taken in", near: "taken near" };
let covered = null;

export async function coverage() {
  if (!covered) covered = api("/api/coverage").catch((err) => { covered = null; throw err; });
  return covered;
}

export const monthName = (iso) => new Date(iso.slice(0, 10)).toLocaleDateString(undefined, { month: "long", year: "numeric" });

async function alone(name, value) {
  try { return (await api(`/api/browse?${qs({ k: 1, [name]: value })}`)).total; } catch (err) { return 0; }
}

function button(text, filters, route) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.addEventListener("click", () => go({ ...route, filters }));
  return b;
}

// says why `route` found nothing, when its filters are the reason; clears the note otherwise
export async function explainEmpty(route, seq, current) {
  const note = $("filter-note");
  const filters = route.filters || {};
  const set = Object.keys(filters);
  note.replaceChildren();
  note.hidden = true;
  if (!set.length) return;
  const counts = await Promise.all(set.map((f) => alone(f, filters[f])));
  const cov = await coverage().catch(() => null);
  if (seq !== current()) return;
  const empty = set.filter((f, i) => counts[i] === 0);
  const parts = [];
  if (empty.length) {
    parts.push(`No photo is ${empty.map((f) => `${NAMES[f] || f} ${filters[f]}`).join(", nor ")}.`);
  } else parts.push("Each filter alone matches photos, but not all of them together.");
  if (cov && cov.first && (filters.after || filters.before)) {
    parts.push(`The collection's photos were taken ${cov.first.slice(0, 10)} to ${cov.last.slice(0, 10)}.`);
  }
  if (cov && cov.root && filters.under) parts.push(`Its photos are in ${cov.root}.`);
  const text = document.createElement("span");
  text.textContent = parts.join(" ");
  const rest = Object.fromEntries(set.filter((f) => !empty.includes(f)).map((f) => [f, filters[f]]));
  const buttons = [button("Clear filters", {}, route)];
  if (empty.length && Object.keys(rest).length) buttons.unshift(button(`Clear ${empty.length === 1 ? "that filter" : "those filters"}`, rest, route));
  note.replaceChildren(text, ...buttons);
  note.hidden = false;
}
