// Several photos selected at once: a check on each card (or Ctrl/Shift-click, or the x key on a card; Shift
// selects the run from the last one chosen), a bar that says how many, and their download as one zip
// (streamed by POST /api/zip). `selection` is what other actions (naming, people) can act on.
import { $ } from "./api.js";

export const selection = new Set();
let last = null; // the card chosen last, where a Shift-click's run starts
const listeners = [];

export function onSelection(fn) { listeners.push(fn); }

function cards(fig) {
  const grid = fig.closest(".grid");
  return grid ? [...grid.querySelectorAll(".card")] : [fig];
}

function paint() {
  for (const fig of document.querySelectorAll(".card")) {
    const on = selection.has(fig.dataset.path);
    fig.classList.toggle("selected", on);
    const box = fig.querySelector(".select");
    if (box) box.setAttribute("aria-checked", String(on));
  }
  document.body.classList.toggle("selecting", selection.size > 0);
  $("selection").hidden = selection.size === 0;
  $("selection-count").textContent = `${selection.size.toLocaleString()} photo${selection.size === 1 ? "" : "s"} selected`;
  listeners.forEach((fn) => fn(selection));
}

export function toggle(fig, run = false) {
  const path = fig.dataset.path;
  if (run && last && last.isConnected && last.closest(".grid") === fig.closest(".grid")) {
    const all = cards(fig);
    const [a, b] = [all.indexOf(last), all.indexOf(fig)].sort((x, y) => x - y);
    all.slice(a, b + 1).forEach((c) => selection.add(c.dataset.path));
  } else if (selection.has(path)) selection.delete(path);
  else selection.add(path);
  last = fig;
  paint();
}

// the check a card carries (a real checkbox for keyboards and screen readers)
export function selectBox(fig) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "select";
  b.setAttribute("role", "checkbox");
  b.setAttribute("aria-checked", String(selection.has(fig.dataset.path)));
  b.setAttribute("aria-label", "select");
  b.tabIndex = -1; // Tab walks from card to card; x on a card selects it
  b.textContent = "✓";
  b.addEventListener("click", (e) => { e.stopPropagation(); toggle(fig, e.shiftKey); });
  fig.classList.toggle("selected", selection.has(fig.dataset.path));
  fig.addEventListener("keydown", (e) => {
    if (e.key === "x" || e.key === "X") { e.preventDefault(); toggle(fig, e.shiftKey); }
  });
  return b;
}

function download() {
  const form = document.createElement("form");
  form.method = "post";
  form.action = "/api/zip";
  form.hidden = true;
  for (const path of selection) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = "path";
    input.value = path;
    form.append(input);
  }
  document.body.append(form);
  form.submit();
  form.remove();
}

export function clearSelection() {
  selection.clear();
  last = null;
  paint();
}

export function setupSelection() {
  // while photos are selected, a click on a card (or Ctrl/Shift-click at any time) selects instead of opening
  for (const id of ["results", "dupes"]) {
    $(id).addEventListener("click", (e) => {
      const fig = e.target.closest(".card");
      if (!fig || e.target.closest("button")) return;
      if (selection.size || e.shiftKey || e.ctrlKey || e.metaKey) { e.stopPropagation(); e.preventDefault(); toggle(fig, e.shiftKey); }
    }, true);
  }
  $("select-download").addEventListener("click", download);
  $("select-clear").addEventListener("click", clearSelection);
}
