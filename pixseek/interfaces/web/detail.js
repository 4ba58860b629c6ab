// The detail view (lightbox): the photo at a limited size, its file facts, date taken, camera and tags;
// arrow keys walk through the list it was opened from, Escape closes it. It is a history entry of its own
// (route.js showPhoto): Back closes it, Forward opens it again, the URL names the photo shown.
import { $, api, baseName, chip, qs } from "./api.js";
import { clearFaces, draw as drawFaces, loadFaces } from "./faces.js";
import { placeLabel } from "./places.js";
import { go, leavePhoto, nav, showPhoto } from "./route.js";
import { chooseRegion, choosing, fitPhoto, resetZoom, setupViewer, stopRegion, zoomBy } from "./viewer.js";

// source: { hits: [{path, score?, text?}], more: () => Promise<bool> | null, done: () => bool }
const view = { source: null, index: 0, seq: 0, opener: null, info: null };

export function openDetail(source, index, opener) {
  Object.assign(view, { source, opener });
  const dialog = $("detail");
  if (!dialog.open) dialog.showModal();
  dialog.focus(); // not its first button, which may be disabled a moment later (and focus lost with it)
  show(index);
}

export function closeDetail() {
  if ($("detail").open) $("detail").close();
}

// the viewer as the URL has it: closed, or open on route.photo (found by `find` in what is on screen)
export function syncPhoto(route, find) {
  if (!route.photo) { closeDetail(); return; }
  if ($("detail").open && view.source && view.source.hits[view.index] && view.source.hits[view.index].path === route.photo) return;
  const { source, index, opener } = find(route.photo);
  openDetail(source, index, opener);
}

function fact(name, value) {
  const dt = document.createElement("dt");
  dt.textContent = name;
  const dd = document.createElement("dd");
  dd.textContent = value;
  return [dt, dd];
}

function bytes(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${Math.round(n / 1e3)} kB` : `${n} bytes`;
}

function when(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function position() {
  const { source, index } = view;
  const more = source.done && !source.done() ? "+" : "";
  return `${index + 1} of ${source.hits.length}${more}`;
}

// facts and tags of recently shown photos (and of the next one, fetched ahead for the arrow keys)
const cache = new Map();

function fetched(path) {
  if (!cache.has(path)) {
    // tags once the facts are in: the server tags under the collection's lock, which the facts need too
    const facts = api(`/api/info?${qs({ path, k: 0 })}`);
    const tags = facts.then(() => api(`/api/tag?${qs({ path, k: 8 })}`));
    cache.set(path, { facts, tags });
    facts.catch(() => cache.delete(path));
    tags.catch(() => cache.delete(path));
    if (cache.size > 200) cache.delete(cache.keys().next().value);
  }
  return cache.get(path);
}

function ahead(index) {
  const next = view.source.hits[index + 1];
  if (!next) return;
  fetched(next.path);
  new Image().src = `/api/preview?${qs({ path: next.path })}`;
}

function factRows(hit, info) {
  const rows = [...fact("Path", info ? info.path : hit.path)];
  if (hit.score !== undefined) rows.push(...fact("Score", hit.score.toFixed(3)));
  if (!info) return rows;
  rows.push(...fact("Size", `${bytes(info.bytes)}${info.width ? ` · ${info.width} × ${info.height} px` : ""}`));
  rows.push(...fact(info.date_source === "exif" ? "Taken" : "File date", when(info.date_taken)));
  const place = info.place || hit.place;
  if (place) rows.push(...fact("Place", placeLabel(place)));
  if (info.camera) rows.push(...fact("Camera", info.camera));
  if (hit.text && hit.text.matched) rows.push(...fact("Text", hit.text.matched));
  return rows;
}

async function show(index) {
  const { source } = view;
  if (index < 0) return;
  if (index >= source.hits.length) {
    if (!source.more || !(await source.more()) || index >= source.hits.length) return;
  }
  const seq = ++view.seq;
  view.index = index;
  const hit = source.hits[index];
  const name = baseName(hit.path);
  const { facts, tags } = fetched(hit.path);
  showPhoto(hit.path);
  $("d-name").textContent = name;
  $("d-pos").textContent = position();
  $("d-prev").disabled = index === 0;
  $("d-next").disabled = index === source.hits.length - 1 && (!source.done || source.done());
  $("d-textbox").hidden = true;
  clearFaces();
  const img = $("d-img");
  img.alt = name;
  stopRegion();
  resetZoom();
  img.src = `/api/preview?${qs({ path: hit.path })}`;
  fitPhoto();
  $("d-open").href = `/api/original?${qs({ path: hit.path })}`;
  $("d-download").href = $("d-open").href;
  $("d-download").download = name;
  $("d-facts").replaceChildren(...factRows(hit, null));
  $("d-tags").replaceChildren();
  view.info = null;
  tags.then((found) => {
    if (seq !== view.seq) return;
    // the photo's one tag list (its first three are on its result card); each score is the calibrated
    // probability that the tag is right, and tags below the shown threshold never come
    if (!found.length) {
      const none = document.createElement("small");
      none.textContent = "no tag pixseek is sure of";
      $("d-tags").replaceChildren(none);
      return;
    }
    $("d-tags").replaceChildren(...found.map((t) => {
      const c = chip(t.tag, t.score, () => {
        go({ view: "search", kind: "text", q: t.tag, box: null, weak: false, filters: nav.route.filters || {} });
      });
      c.title = `${Math.round(t.score * 100)}% likely right`;
      return c;
    }));
  }).catch(() => { /* tags are a hint; the facts report errors */ });
  try {
    const info = await facts;
    if (seq !== view.seq) return;
    view.info = info;
    $("d-facts").replaceChildren(...factRows(hit, info));
    drawTextBox();
    loadFaces(hit.path, info.width, (q) => go({ view: "search", kind: "text", q, box: null, filters: {} })); // closes the viewer as it renders
  } catch (err) {
    if (seq === view.seq) $("d-facts").append(...fact("Error", err.message));
  }
  ahead(index);
}

// a hit found by the text in the photo (OCR) says where: outline that region
function drawTextBox() {
  const hit = view.source && view.source.hits[view.index];
  const box = hit && hit.text && hit.text.box;
  const img = $("d-img");
  if (!box || !view.info || !view.info.width || !img.complete || !img.clientWidth) { $("d-textbox").hidden = true; return; }
  const s = img.clientWidth / view.info.width;
  Object.assign($("d-textbox").style, { left: `${box[0] * s}px`, top: `${box[1] * s}px`,
    width: `${(box[2] - box[0]) * s}px`, height: `${(box[3] - box[1]) * s}px` });
  $("d-textbox").hidden = false;
}

function current() { return view.source.hits[view.index]; }

export function setupDetail(onRegion) {
  const dialog = $("detail");
  const fit = () => { fitPhoto(); drawTextBox(); drawFaces(); }; // outlines follow the photo's size
  $("d-img").addEventListener("load", fit);
  window.addEventListener("resize", fit);
  $("d-prev").addEventListener("click", () => show(view.index - 1));
  $("d-next").addEventListener("click", () => show(view.index + 1));
  $("d-close").addEventListener("click", closeDetail);
  $("d-similar").addEventListener("click", () => {
    const path = current().path;
    go({ view: "search", kind: "path", path, box: null, weak: false, filters: nav.route.filters || {} });
  });
  $("d-region").addEventListener("click", () => { // the next drag on the photo chooses the region
    const path = current().path;
    chooseRegion(async (f) => {
      const info = view.info || await fetched(path).facts;
      const box = [f[0] * info.width, f[1] * info.height, f[2] * info.width, f[3] * info.height].map(Math.round);
      onRegion(path, box);
    });
  });
  setupViewer((step) => show(view.index + step));
  dialog.addEventListener("cancel", (e) => { if (choosing()) { e.preventDefault(); stopRegion(); } });
  document.addEventListener("keydown", (e) => {
    if (!dialog.open || e.target.closest("input")) return;
    if (e.key === "ArrowRight") { e.preventDefault(); show(view.index + 1); }
    else if (e.key === "ArrowLeft") { e.preventDefault(); show(view.index - 1); }
    else if (e.key === "+" || e.key === "=") { e.preventDefault(); zoomBy(1.5); }
    else if (e.key === "-") { e.preventDefault(); zoomBy(1 / 1.5); }
    else if (e.key === "0") { e.preventDefault(); resetZoom(); }
  });
  dialog.addEventListener("close", () => {
    leavePhoto(); // closed by Escape or ✕: Back to the entry it was opened from
    // back to the card of the photo last shown, so Tab goes on from there
    const cards = view.opener && view.opener.parentElement ? view.opener.parentElement.querySelectorAll(".card") : [];
    const target = cards[view.index] || view.opener;
    if (target && target.isConnected) target.focus();
  });
}
