// pixseek search page: plain JS over the /api routes, no build step.
// A query is words, an indexed image (path) or an uploaded file, each optionally with a crop box.
"use strict";

const PAGE = 40;
const $ = (id) => document.getElementById(id);
const state = { query: null, offset: 0, done: true, loading: false, seq: 0 };

async function api(url, options) {
  const resp = await fetch(url, options);
  const body = await resp.json().catch(() => ({ error: `HTTP ${resp.status}` }));
  if (!resp.ok) throw new Error(body.error || `HTTP ${resp.status}`);
  return body;
}

function qs(params) {
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined) out.set(k, v);
  return out.toString();
}

function fetchPage(query, offset) {
  const box = query.box ? query.box.join(",") : null;
  if (query.kind === "text") return api(`/api/search?${qs({ q: query.q, k: PAGE, offset })}`);
  if (query.kind === "path") return api(`/api/similar?${qs({ path: query.path, k: PAGE, offset, box })}`);
  const form = new FormData();
  form.append("file", query.file);
  return api(`/api/similar?${qs({ k: PAGE, offset, box })}`, { method: "POST", body: form });
}

function message(text, isError = false) {
  $("message").textContent = text;
  $("message").classList.toggle("error", isError);
}

function ignoredNotes(ignored) {
  return (ignored || []).map((i) => `ignored unknown word "${i.word}"` + (i.suggestion ? ` (did you mean "${i.suggestion}"?)` : ""));
}

function card(hit) {
  const fig = document.createElement("figure");
  fig.className = "card";
  fig.dataset.path = hit.path;
  fig.title = hit.path;
  const img = document.createElement("img");
  img.loading = "lazy";
  img.alt = hit.path.split("/").pop();
  img.src = `/api/thumb?${qs({ path: hit.path })}`;
  const cap = document.createElement("figcaption");
  const score = document.createElement("span");
  score.className = "score";
  score.textContent = hit.score.toFixed(3);
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = img.alt;
  cap.append(score, name);
  if (hit.tags && hit.tags.length) {
    const tags = document.createElement("span");
    tags.className = "tags";
    tags.textContent = hit.tags.join(", ");
    cap.append(tags);
  }
  fig.append(img, cap);
  fig.addEventListener("click", () => run({ kind: "path", path: hit.path, box: null }));
  return fig;
}

async function loadMore() {
  if (state.loading || state.done || !state.query) return;
  state.loading = true;
  const seq = state.seq;
  try {
    const page = await fetchPage(state.query, state.offset);
    if (seq !== state.seq) return; // a newer query started meanwhile
    const hits = Array.isArray(page) ? page : page.results; // text search also says which words it left out
    if (page.terms && state.offset === 0) showWords(page.terms);
    hits.forEach((h) => $("results").append(card(h)));
    state.offset += hits.length;
    state.done = hits.length < PAGE || state.offset >= 10000;
    const count = state.offset ? `${state.offset}${state.done ? "" : "+"} results` : "no results";
    message([count, ...ignoredNotes(page.ignored)].join(" · "));
  } catch (err) {
    if (seq === state.seq) { message(err.message, true); state.done = true; }
  } finally {
    if (seq === state.seq) state.loading = false;
    $("more").hidden = state.done;
  }
  if (seq === state.seq && !state.done && nearBottom()) loadMore();
}

function nearBottom() {
  return $("sentinel").getBoundingClientRect().top < window.innerHeight + 400;
}

function run(query) {
  state.query = query;
  state.offset = 0;
  state.done = false;
  state.loading = false;
  state.seq += 1;
  $("results").replaceChildren();
  message("searching…");
  showQuery(query);
  if (query.kind === "text") history.replaceState(null, "", `#${qs({ q: query.q })}`);
  else if (query.kind === "path") history.replaceState(null, "", `#${qs({ path: query.path })}`);
  loadMore();
}

// the query panel: image with a drawable box, its tags; or the words panel for text -------------
let queryUrl = null;

function showQuery(query) {
  const isImage = query.kind !== "text";
  $("query-panel").hidden = !isImage;
  $("clear-box").hidden = !query.box;
  drawBox(query.box);
  if (!isImage) { $("words-panel").hidden = true; return; } // near words follow the server's terms
  $("words-panel").hidden = true;
  const src = query.kind === "path" ? `/api/original?${qs({ path: query.path })}` : objectUrl(query.file);
  if ($("query-img").dataset.src !== src) {
    $("query-img").dataset.src = src;
    $("query-img").src = src;
    showTags(query);
  }
}

function objectUrl(file) {
  if (!queryUrl || queryUrl.file !== file) {
    if (queryUrl) URL.revokeObjectURL(queryUrl.url);
    queryUrl = { file, url: URL.createObjectURL(file) };
  }
  return queryUrl.url;
}

async function showTags(query) {
  const seq = state.seq;
  $("query-tags").replaceChildren();
  try {
    let tags;
    if (query.kind === "path") tags = await api(`/api/tag?${qs({ path: query.path, k: 6 })}`);
    else {
      const form = new FormData();
      form.append("file", query.file);
      tags = await api("/api/tag?k=6", { method: "POST", body: form });
    }
    if (seq !== state.seq) return;
    $("query-tags").replaceChildren(...tags.map((t) => chip(t.tag, t.score, () => search(t.tag))));
  } catch (err) { /* tags are a hint; the search itself reports errors */ }
}

function chip(text, score, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "chip";
  b.textContent = text;
  const s = document.createElement("small");
  s.textContent = score.toFixed(2);
  b.append(s);
  b.addEventListener("click", onClick);
  return b;
}

async function showWords(terms) {
  // the query's content terms as the server resolved them: no stopwords, no unknown words
  const seq = state.seq;
  const words = [...new Set(terms.map((t) => t.toLowerCase()))].slice(0, 4);
  const groups = await Promise.all(words.map((w) =>
    api(`/api/words?${qs({ word: w, k: 8 })}`).then((hits) => [w, hits]).catch(() => [w, []])));
  if (seq !== state.seq) return;
  const nodes = groups.filter(([, hits]) => hits.length).map(([w, hits]) => {
    const div = document.createElement("div");
    div.className = "word-group";
    const title = document.createElement("b");
    title.textContent = w;
    const chips = document.createElement("div");
    chips.className = "chips";
    chips.append(...hits.map((h) => chip(h.word, h.score, () => search(`${$("q").value.trim()} ${h.word}`))));
    div.append(title, chips);
    return div;
  });
  $("words").replaceChildren(...nodes);
  $("words-panel").hidden = nodes.length === 0;
}

function search(q) {
  $("q").value = q;
  if (q.trim()) run({ kind: "text", q: q.trim() });
}

// drawing a crop box on the query image ------------------------------------------------------
function drawBox(box) {
  const el = $("box");
  const img = $("query-img");
  if (!box || !img.naturalWidth) { el.hidden = true; return; }
  const sx = img.clientWidth / img.naturalWidth;
  const sy = img.clientHeight / img.naturalHeight;
  Object.assign(el.style, { left: `${box[0] * sx}px`, top: `${box[1] * sy}px`,
    width: `${(box[2] - box[0]) * sx}px`, height: `${(box[3] - box[1]) * sy}px` });
  el.hidden = false;
}

function setupBoxDrawing() {
  const frame = $("query-frame");
  const img = $("query-img");
  let start = null;
  const point = (e) => {
    const r = img.getBoundingClientRect();
    return [Math.min(Math.max(e.clientX - r.left, 0), r.width), Math.min(Math.max(e.clientY - r.top, 0), r.height)];
  };
  const toImage = (a, b) => {
    const sx = img.naturalWidth / img.clientWidth;
    const sy = img.naturalHeight / img.clientHeight;
    return [Math.min(a[0], b[0]) * sx, Math.min(a[1], b[1]) * sy, Math.max(a[0], b[0]) * sx, Math.max(a[1], b[1]) * sy]
      .map(Math.round);
  };
  frame.addEventListener("pointerdown", (e) => {
    if (!img.naturalWidth) return;
    start = point(e);
    frame.setPointerCapture(e.pointerId);
    e.preventDefault();
  });
  frame.addEventListener("pointermove", (e) => { if (start) drawBox(toImage(start, point(e))); });
  frame.addEventListener("pointerup", (e) => {
    if (!start) return;
    const end = point(e);
    const box = toImage(start, end);
    const big = Math.abs(end[0] - start[0]) > 4 && Math.abs(end[1] - start[1]) > 4;
    start = null;
    if (big && state.query && state.query.kind !== "text") run({ ...state.query, box });
    else drawBox(state.query && state.query.box);
  });
  img.addEventListener("load", () => drawBox(state.query && state.query.box));
  $("clear-box").addEventListener("click", () => run({ ...state.query, box: null }));
}

// images in: pick, drop, paste --------------------------------------------------------------
function useFile(file) {
  if (!file || !file.type.startsWith("image/")) { message("that is not an image file", true); return; }
  run({ kind: "upload", file, box: null });
}

function setupImageInput() {
  $("file").addEventListener("change", (e) => { useFile(e.target.files[0]); e.target.value = ""; });
  let depth = 0;
  document.addEventListener("dragenter", (e) => { if (e.dataTransfer.types.includes("Files")) { depth++; $("drop-hint").hidden = false; } });
  document.addEventListener("dragleave", () => { depth = Math.max(0, depth - 1); if (!depth) $("drop-hint").hidden = true; });
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    $("drop-hint").hidden = true;
    useFile(e.dataTransfer.files[0]);
  });
  document.addEventListener("paste", (e) => {
    const file = [...(e.clipboardData ? e.clipboardData.files : [])].find((f) => f.type.startsWith("image/"));
    if (file) { e.preventDefault(); useFile(file); }
  });
}

async function showStatus() {
  try {
    const st = await api("/api/status");
    $("status").textContent = `${st.images.toLocaleString()} images · ${st.model} · words: ${st.words}`;
  } catch (err) { $("status").textContent = err.message; }
}

function start() {
  $("search-form").addEventListener("submit", (e) => { e.preventDefault(); search($("q").value); });
  $("more").addEventListener("click", loadMore);
  new IntersectionObserver((entries) => { if (entries[0].isIntersecting) loadMore(); }, { rootMargin: "400px" })
    .observe($("sentinel"));
  setupBoxDrawing();
  setupImageInput();
  window.addEventListener("resize", () => drawBox(state.query && state.query.box));
  showStatus();
  const h = new URLSearchParams(location.hash.slice(1));
  if (h.get("q")) search(h.get("q"));
  else if (h.get("path")) run({ kind: "path", path: h.get("path"), box: null });
}

start();
