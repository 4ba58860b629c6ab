// pixseek's page: plain JS modules over the /api routes, no build step. Every state is in the URL
// fragment (route.js): a search is a history entry, and so is the viewer over it. Back and Forward bring a
// search back as it was left (its results and scroll position, results.js); a bookmark runs it afresh.
import { $, api, keepUpload, narrow } from "./api.js";
import { closeDetail, setupDetail, syncPhoto } from "./detail.js";
import { dupesSource, setupDupes, showDupes } from "./dupes.js";
import { fillFilters, formFilters, setupFilters } from "./filters.js";
import { fillNames, showPeople } from "./people.js";
import { scrollAfterCrop, setupQuery, showQuery } from "./query.js";
import { clearResults, keepResults, message, restoreResults, resultsSource, runSearch, setupResults } from "./results.js";
import { go, nav, parse, searchKey } from "./route.js";
import { setupSelection } from "./select.js";
import { setupTeach } from "./teach.js";

let shownKey = null; // the state on screen, without the photo open over it (route.searchKey)

// where a photo named in the URL is in what is on screen (else it is shown on its own)
function findPhoto(path) {
  const found = nav.route.view === "dupes" ? dupesSource(path) : resultsSource(path);
  return found || { source: { hits: [{ path }], more: null, done: () => true }, index: 0, opener: null };
}

function render(route) {
  const fresh = nav.fresh;
  nav.fresh = false;
  nav.route = route;
  const key = searchKey(route);
  if (key === shownKey && !fresh) { syncPhoto(route, findPhoto); return null; } // only the viewer changed
  if (shownKey !== null) keepResults(shownKey);
  shownKey = key;
  closeDetail();
  const dupes = route.view === "dupes";
  $("search-view").hidden = dupes || route.view === "people";
  $("dupes-view").hidden = !dupes;
  $("people-view").hidden = route.view !== "people";
  const photo = () => syncPhoto(nav.route, findPhoto);
  if (dupes) { clearResults(); return showDupes(route).then(photo); }
  if (route.view === "people") { clearResults(); return showPeople(); }
  fillFilters(route.filters);
  $("q").value = route.kind === "text" ? route.q : ""; // an image query is not the words last typed
  showQuery(route);
  $("help").hidden = !!route.kind;
  $("examples").hidden = !!route.kind;
  if (!fresh && restoreResults(key, route)) { photo(); return null; }
  const crop = scrollAfterCrop.wanted;
  scrollAfterCrop.wanted = false;
  return runSearch(route, () => { if (crop) $("message").scrollIntoView({ block: "start" }); photo(); });
}

// words, or none: the collection's photos (with the filters set)
function searchWords(q) {
  q = q.trim();
  go(q ? { view: "search", kind: "text", q, box: null, filters: formFilters() }
    : { view: "search", kind: null, box: null, filters: formFilters() });
}

// a few searches the collection can answer, from its own tags
async function showExamples() {
  try {
    const words = await api("/api/examples");
    if (!words.length) return;
    const links = words.map((w) => {
      const a = document.createElement("a");
      a.href = `#${new URLSearchParams({ q: w })}`;
      a.textContent = w;
      a.className = "example";
      return a;
    });
    $("examples").replaceChildren("Try: ", ...links.flatMap((a, i) => (i ? [" · ", a] : [a])));
  } catch (err) { /* examples are a hint */ }
}

async function useFile(file) {
  if (!file || !file.type.startsWith("image/")) { message("that is not an image file", true); return; }
  message("uploading…");
  try {
    const upload = await keepUpload(file);
    go({ view: "search", kind: "upload", upload, box: null, filters: formFilters() });
  } catch (err) { message(err.message, true); }
}

function setupImageInput() {
  $("pick").addEventListener("click", () => $("file").click());
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

function setupKeys() {
  document.addEventListener("keydown", (e) => {
    const typing = e.target.closest("input, textarea, select, [contenteditable]");
    if (e.key === "/" && !typing && !$("detail").open && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      if (nav.route.view !== "search") go({ view: "search", kind: null, box: null, filters: {} });
      $("q").focus();
      $("q").select();
    }
  });
}

async function showStatus() {
  try {
    const cov = await api("/api/coverage");
    const month = (d) => new Date(d.slice(0, 10)).toLocaleDateString(undefined, { month: "long", year: "numeric" });
    $("status").textContent = `${cov.photos.toLocaleString()} photo${cov.photos === 1 ? "" : "s"}`
      + (cov.first ? ` · taken ${month(cov.first)} to ${month(cov.last)}` : "") + (cov.root ? ` · in ${cov.root}` : "");
  } catch (err) { $("status").textContent = err.message; }
}

// a phone: the results come first, so the panels above them start folded, the cards without captions
function fitPhone() {
  if (!narrow()) return;
  $("words-panel").open = false;
  $("q").placeholder = "Search photos";
  $("captions").addEventListener("click", () => {
    const on = document.body.classList.toggle("captions");
    $("captions").setAttribute("aria-pressed", String(on));
    $("captions").textContent = on ? "Hide captions" : "Show captions";
  });
}

function start() {
  fitPhone();
  $("search-form").addEventListener("submit", (e) => { e.preventDefault(); searchWords($("q").value); });
  setupResults();
  setupQuery();
  setupDetail((path, box) => go({ view: "search", kind: "path", path, box, filters: nav.route.filters || {} }));
  setupDupes();
  setupTeach();
  setupSelection();
  setupFilters((filters) => go({ ...nav.route, filters })); // with no words: the photos they let through
  setupImageInput();
  setupKeys();
  history.scrollRestoration = "manual"; // a search brought back scrolls to where it was left (results.js)
  window.addEventListener("hashchange", () => render(parse(location.hash)));
  showStatus();
  fillNames();
  showExamples();
  render(parse(location.hash));
}

start();
