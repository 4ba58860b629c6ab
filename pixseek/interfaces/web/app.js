// pixseek's page: plain JS modules over the /api routes, no build step. Every state is in the URL
// fragment (route.js): a search is a history entry, Back and Forward re-run the searches they reach.
import { $, api, keepUpload } from "./api.js";
import { closeDetail, setupDetail } from "./detail.js";
import { setupDupes, showDupes } from "./dupes.js";
import { fillFilters, formFilters, setupFilters } from "./filters.js";
import { fillNames, showPeople } from "./people.js";
import { focusCrop, scrollAfterCrop, setupQuery, showQuery } from "./query.js";
import { clearResults, message, runSearch, setupResults } from "./results.js";
import { go, nav, parse } from "./route.js";
import { setupTeach } from "./teach.js";

let cropNext = false; // "search with a region": the region fields take focus once the photo is the query

function render(route) {
  nav.route = route;
  closeDetail();
  const dupes = route.view === "dupes";
  $("search-view").hidden = dupes || route.view === "people";
  $("dupes-view").hidden = !dupes;
  $("people-view").hidden = route.view !== "people";
  if (dupes) { clearResults(); return showDupes(route); }
  if (route.view === "people") { clearResults(); return showPeople(); }
  fillFilters(route.filters);
  $("q").value = route.kind === "text" ? route.q : ""; // an image query is not the words last typed
  showQuery(route);
  if (cropNext) { cropNext = false; if (route.kind === "path") focusCrop(); }
  $("help").hidden = !!route.kind;
  if (!route.kind) { clearResults(); return null; }
  const then = scrollAfterCrop.wanted ? () => $("message").scrollIntoView({ block: "start" }) : null;
  scrollAfterCrop.wanted = false;
  return runSearch(route, then);
}

function searchWords(q) {
  q = q.trim();
  if (q) go({ view: "search", kind: "text", q, box: null, filters: formFilters() });
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
    const st = await api("/api/status");
    $("status").textContent = `${st.images.toLocaleString()} images · ${st.model} · words: ${st.words}`;
  } catch (err) { $("status").textContent = err.message; }
}

function start() {
  $("search-form").addEventListener("submit", (e) => { e.preventDefault(); searchWords($("q").value); });
  setupResults();
  setupQuery();
  setupDetail((path) => {
    cropNext = true;
    go({ view: "search", kind: "path", path, box: null, filters: nav.route.filters || {} });
  });
  setupDupes();
  setupTeach();
  setupFilters((filters) => { if (nav.route.kind) go({ ...nav.route, filters }); else fillFilters(filters); });
  setupImageInput();
  setupKeys();
  window.addEventListener("hashchange", () => render(parse(location.hash)));
  showStatus();
  fillNames();
  render(parse(location.hash));
}

start();
