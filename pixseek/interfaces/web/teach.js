// "More like this" / "not this" on result cards, and "Name these…": marked photos re-rank the whole
// collection (they live in the URL, like every search state) and can be saved as a taught word.
import { $, api } from "./api.js";
import { go, nav } from "./route.js";
import { clearSelection, selection } from "./select.js";

export const marks = { like: [], unlike: [] };
let chosen = null; // photos selected (select.js) to name, instead of the marked ones

// the marks of the route on screen (Back and Forward bring theirs back)
export function setMarks(route) {
  marks.like = [...(route.like || [])];
  marks.unlike = [...(route.unlike || [])];
  showBar();
}

function toggle(list, other, path) {
  const at = marks[list].indexOf(path);
  if (at >= 0) marks[list].splice(at, 1);
  else { marks[list].push(path); marks[other] = marks[other].filter((p) => p !== path); }
  for (const fig of document.querySelectorAll(".card")) paint(fig);
  showBar();
}

function paint(fig) {
  fig.classList.toggle("liked", marks.like.includes(fig.dataset.path));
  fig.classList.toggle("unliked", marks.unlike.includes(fig.dataset.path));
}

// the two buttons a text search's card carries
export function markButtons(fig) {
  const row = document.createElement("span");
  row.className = "marks";
  for (const [list, other, text, label] of [["like", "unlike", "+", "more like this"], ["unlike", "like", "−", "not this"]]) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = `mark-${list}`;
    b.textContent = text;
    b.title = `${label} (key ${text === "+" ? "+" : "-"} on a result)`;
    b.tabIndex = -1; // Tab walks from result to result; on a result, + and - mark it
    b.setAttribute("aria-label", label);
    b.addEventListener("click", (e) => { e.stopPropagation(); toggle(list, other, fig.dataset.path); });
    b.addEventListener("keydown", (e) => e.stopPropagation());
    row.append(b);
  }
  paint(fig);
  fig.setAttribute("aria-keyshortcuts", "+ -");
  fig.addEventListener("keydown", (e) => {
    if (e.key === "+" || e.key === "=") { e.preventDefault(); toggle("like", "unlike", fig.dataset.path); }
    else if (e.key === "-") { e.preventDefault(); toggle("unlike", "like", fig.dataset.path); }
  });
  return row;
}

function showBar() {
  const n = marks.like.length, m = marks.unlike.length;
  $("feedback").hidden = !n && !m;
  $("feedback-count").textContent = [n && `${n} more like this`, m && `${m} not this`].filter(Boolean).join(" · ");
  $("name-these").disabled = !n && !(nav.route.like || []).length;
}

export function setupTeach() {
  $("refine").addEventListener("click", () => {
    const route = nav.route;
    go({ ...route, kind: "text", q: route.kind === "text" ? route.q : "", like: [...marks.like], unlike: [...marks.unlike] });
  });
  $("clear-marks").addEventListener("click", () => {
    marks.like = [];
    marks.unlike = [];
    if ((nav.route.like || []).length || (nav.route.unlike || []).length) go({ ...nav.route, like: [], unlike: [] });
    else { for (const fig of document.querySelectorAll(".card")) paint(fig); showBar(); }
  });
  $("name-these").addEventListener("click", () => { chosen = null; $("teach-name").value = ""; $("teach-dialog").showModal(); });
  $("select-name").addEventListener("click", () => { chosen = [...selection]; $("teach-name").value = ""; $("teach-dialog").showModal(); });
  $("teach-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = $("teach-name").value.trim();
    if (!name) return;
    try {
      const c = await api("/api/concepts", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(chosen ? { name, paths: chosen, not_paths: [] } : { name, paths: marks.like, not_paths: marks.unlike }) });
      if (chosen) clearSelection();
      $("teach-dialog").close();
      marks.like = [];
      marks.unlike = [];
      go({ view: "search", kind: "text", q: c.name.includes(" ") ? `"${c.name}"` : c.name, box: null, filters: {} });
    } catch (err) { $("teach-error").textContent = err.message; }
  });
  $("teach-cancel").addEventListener("click", () => $("teach-dialog").close());
}
