// Filter controls: under a folder, a date-taken range, file types, a place. They travel in the URL with the query.
import { $, api, narrow } from "./api.js";
import { fillPlace, formPlace, setupPlaces } from "./places.js";
import { coverage, monthName } from "./feedback.js";

let wanted = {};

export async function setupFilters(apply) {
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); apply(formFilters()); });
  $("f-clear").addEventListener("click", () => { fillFilters({}); apply({}); });
  setupPlaces((place) => { fillPlace(place); apply(formFilters()); }).then(() => fillPlace(wanted.place));
  try {
    const facets = await api("/api/facets");
    $("folders").replaceChildren(...facets.folders.map((f) => {
      const o = document.createElement("option");
      o.value = f.path;
      o.label = `${f.count.toLocaleString()} photos`;
      return o;
    }));
    $("f-types").append(...facets.types.map((t) => {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = t.type;
      box.name = "type";
      label.append(box, ` ${t.type} (${t.count.toLocaleString()})`);
      return label;
    }));
    fillFilters(wanted);
    const cov = await coverage();
    if (cov.first) {
      for (const id of ["f-after", "f-before"]) Object.assign($(id), { min: cov.first.slice(0, 10), max: cov.last.slice(0, 10) });
      $("f-dates-hint").textContent = `Photos taken ${monthName(cov.first)} to ${monthName(cov.last)}`;
    }
    if (cov.root) $("f-under").placeholder = cov.root;
  } catch (err) { /* no filters offered; searches still work */ }
}

export function formFilters() {
  const out = {};
  const under = $("f-under").value.trim();
  if (under) out.under = under;
  if ($("f-after").value) out.after = $("f-after").value;
  if ($("f-before").value) out.before = $("f-before").value;
  const types = [...document.querySelectorAll("#f-types input:checked")].map((b) => b.value);
  if (types.length) out.type = types.join(",");
  if (formPlace()) out.place = formPlace();
  return out;
}

export function fillFilters(filters) {
  wanted = filters || {};
  $("f-under").value = wanted.under || "";
  $("f-after").value = wanted.after || "";
  $("f-before").value = wanted.before || "";
  const types = new Set((wanted.type || "").split(",").filter(Boolean));
  document.querySelectorAll("#f-types input").forEach((b) => { b.checked = types.has(b.value); });
  fillPlace(wanted.place);
  const n = Object.keys(wanted).length;
  $("filter-count").textContent = n ? `(${n} on)` : "";
  if (n && !narrow()) $("filters-panel").open = true;
}
