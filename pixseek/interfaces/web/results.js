// The result grid: one search at a time, pages of results (infinite scroll), and where the confident matches
// end: the weaker ones follow a divider (they can be folded away), the count says how many are confident.
import { $, apiCounted, baseName, chip, qs, thumbUrl } from "./api.js";
import { openDetail } from "./detail.js";
import { go } from "./route.js";
import { explainEmpty } from "./feedback.js";
import { selectBox } from "./select.js";
import { markButtons, setMarks } from "./teach.js";

const PAGE = 40;
export const results = { route: null, hits: [], offset: 0, done: true, loading: false, seq: 0, count: null,
  corrected: null, notes: [] };
let onFirstPage = null;

export function message(text, isError = false) {
  $("message").textContent = text;
  $("message").classList.toggle("error", isError);
}

function ignoredNotes(ignored) {
  return (ignored || []).map((i) => `ignored unknown word "${i.word}"` + (i.suggestion ? ` (did you mean "${i.suggestion}"?)` : ""));
}

async function fetchPage(route, offset) {
  const params = { k: PAGE, offset, ...route.filters };
  const box = route.box ? route.box.map(Math.round).join(",") : null;
  if (route.kind === "text") {
    const p = new URLSearchParams(qs({ q: route.q, exact: route.exact ? 1 : null, ...params }));
    for (const path of route.like || []) p.append("like", path);
    for (const path of route.unlike || []) p.append("unlike", path);
    return apiCounted(`/api/search?${p}`);
  }
  if (!route.kind) { // no words, no photo: the collection newest first, filtered or not
    const { body } = await apiCounted(`/api/browse?${qs({ k: PAGE, offset, ...route.filters })}`);
    return { body, count: body.total };
  }
  if (route.kind === "path") return apiCounted(`/api/similar?${qs({ path: route.path, box, ...params })}`);
  return apiCounted(`/api/uploads/${encodeURIComponent(route.upload)}/similar?${qs({ box, ...params })}`);
}

// what a screen reader says of a result: what is in it, where and when, not its file name and score
function describe(hit, name) {
  const parts = [];
  if (hit.tags && hit.tags.length) parts.push(hit.tags.slice(0, 3).join(", "));
  if (hit.text && hit.text.matched) parts.push(`with the text “${hit.text.matched}”`);
  const where = hit.place ? [hit.place.city, hit.place.country].filter(Boolean).join(", ") : "";
  if (where) parts.push(`in ${where}`);
  if (hit.taken) {
    const d = new Date(hit.taken);
    if (!Number.isNaN(d.getTime())) parts.push(`taken ${d.toLocaleDateString(undefined, { dateStyle: "medium" })}`);
  }
  if (hit.weak) parts.push("a weaker match");
  return parts.length ? `Photo: ${parts.join(", ")}` : `Photo ${name}`;
}

// the card's name, read first: a visually hidden text (the caption is for the eye; an aria-label would
// have to repeat the caption's visible words)
export function labelCard(fig, text) {
  let sr = fig.querySelector(".sr-only");
  if (!sr) {
    sr = document.createElement("span");
    sr.className = "sr-only";
    fig.prepend(sr);
  }
  sr.textContent = text;
}

export function card(hit, open, eager = false) {
  const fig = document.createElement("figure");
  fig.className = "card";
  fig.dataset.path = hit.path;
  fig.tabIndex = 0;
  fig.setAttribute("role", "link"); // it opens the photo's view (an address of its own); it holds buttons
  const name = baseName(hit.path);
  labelCard(fig, describe(hit, name));
  const img = document.createElement("img");
  img.loading = eager ? "eager" : "lazy"; // the first rows load at once, the rest as they scroll near
  img.alt = "";
  img.src = thumbUrl(hit.path);
  const cap = document.createElement("figcaption");
  cap.setAttribute("aria-hidden", "true"); // the card's label says what is in it; + and - mark it from the keyboard
  if (hit.score !== undefined) {
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = hit.score.toFixed(3);
    cap.append(score);
  }
  const label = document.createElement("span");
  label.className = "name";
  label.textContent = name;
  cap.append(label);
  const extra = [...(hit.tags || []), ...(hit.text && hit.text.matched ? [`text: “${hit.text.matched}”`] : [])];
  if (extra.length) {
    const tags = document.createElement("span");
    tags.className = "tags";
    tags.textContent = extra.join(", ");
    cap.append(tags);
  }
  fig.append(img, cap, selectBox(fig));
  fig.prepend(fig.querySelector(".sr-only"));
  if (hit.weak) fig.classList.add("weak");
  fig.addEventListener("click", () => open(fig));
  fig.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(fig); }
  });
  return fig;
}

const source = { hits: results.hits, more: () => loadMore(), done: () => results.done };

// "3 confident matches · 34 results", or "no confident match for "giraffe"; nearest:" when the first hit is weak;
// a corrected query says so, with a link to search the words as typed
function showCount() {
  const n = results.count;
  const firstWeak = results.hits.findIndex((h) => h.weak);
  const ended = firstWeak >= 0 || results.done;
  const sure = firstWeak >= 0 ? firstWeak : results.hits.length;
  const route = results.route;
  let text;
  if (!route.kind) text = browseCount(n);
  else if (!results.hits.length) text = "no results";
  else if (sure === 0) {
    text = route.kind === "text" ? `no confident match for "${results.corrected || route.q}"; nearest:` : "no confident match; nearest:";
    if (n !== null) text += ` (${n.toLocaleString()} result${n === 1 ? "" : "s"})`;
  } else {
    text = `${sure.toLocaleString()}${ended ? "" : "+"} confident match${sure === 1 && ended ? "" : "es"}`;
    if (n !== null) text += ` · ${n.toLocaleString()} result${n === 1 ? "" : "s"}`;
    else if (results.offset > sure) text += ` · ${results.offset}${results.done ? "" : "+"} results`;
  }
  const parts = [];
  if (results.corrected) {
    const again = document.createElement("a");
    again.id = "search-exact";
    again.href = "#";
    again.textContent = `search instead for "${route.q}"`;
    again.addEventListener("click", (e) => { e.preventDefault(); go({ ...route, exact: true }); });
    parts.push(`showing results for "${results.corrected}" (`, again, ") · ");
  }
  message("");
  $("message").replaceChildren(...parts, [text, ...results.notes].join(" · "));
}

function browseCount(n) {
  const filtered = Object.keys(results.route.filters || {}).length;
  if (!n && !filtered) return "No photos here yet: index a folder of photos, then reload this page.";
  const photos = `${(n || 0).toLocaleString()} photo${n === 1 ? "" : "s"}`;
  return filtered ? `${photos} match the filters, newest first` : `${photos}, newest first`;
}

// "May 2024": a heading before the first photo of each month, when browsing by date
const monthOf = (hit) => (hit.taken ? hit.taken.slice(0, 7) : "");

function monthHeading(hit) {
  const h = document.createElement("h3");
  h.className = "month";
  const [y, m] = monthOf(hit).split("-").map(Number);
  h.textContent = y ? new Date(y, m - 1, 1).toLocaleDateString(undefined, { month: "long", year: "numeric" }) : "Date unknown";
  return h;
}

// the divider before the first weak hit (none when even the first is weak: the count says so)
function divider() {
  const div = document.createElement("div");
  div.className = "weak-divider";
  div.setAttribute("role", "separator");
  div.textContent = "weaker matches";
  return div;
}

export async function loadMore() {
  if (results.loading || results.done || !results.route || folded()) return false;
  results.loading = true;
  const seq = results.seq;
  const route = results.route;
  let failed = false;
  try {
    const { body, count } = await fetchPage(route, results.offset);
    if (seq !== results.seq) return false; // a newer search started meanwhile
    const hits = Array.isArray(body) ? body : body.results; // text search also says which words it left out
    if (body.message) { message(body.message, true); results.done = true; failed = true; return false; }
    if (results.offset === 0 && body.terms) showWords(body.terms);
    if (results.offset === 0) Object.assign(results, { corrected: body.corrected || null, notes: ignoredNotes(body.ignored) });
    const start = results.hits.length;
    results.hits.push(...hits);
    hits.forEach((h, i) => {
      const at = start + i;
      if (h.weak && at > 0 && !results.hits[at - 1].weak) $("results").append(divider());
      if (!route.kind && (at === 0 || monthOf(results.hits[at - 1]) !== monthOf(h))) $("results").append(monthHeading(h));
      const fig = card(h, (f) => openDetail(source, at, f), at < 12);
      if (route.kind === "text") fig.querySelector("figcaption").append(markButtons(fig));
      $("results").append(fig);
    });
    results.offset += hits.length;
    if (count !== null) results.count = count;
    results.done = hits.length < PAGE || results.offset >= 10000 || (count !== null && results.offset >= count);
    showCount();
    if (start === 0 && !hits.length) explainEmpty(route, seq, () => results.seq);
    if (onFirstPage && start === 0) { onFirstPage(); onFirstPage = null; }
  } catch (err) {
    if (seq === results.seq) { message(err.message, true); results.done = true; failed = true; explainEmpty(route, seq, () => results.seq); }
  } finally {
    if (seq === results.seq) {
      results.loading = false;
      showFold(failed);
    }
  }
  if (seq === results.seq && !results.done && nearBottom()) return loadMore();
  return seq === results.seq;
}

// "Hide weaker matches" folds away the cards after the divider (they stay loaded); shown once there are some
const folded = () => $("results").classList.contains("hide-weak");

function showFold(failed = false) {
  $("weaker").hidden = failed || !results.hits.some((h, i) => h.weak && i > 0 && !results.hits[0].weak);
  $("weaker").textContent = folded() ? "Show weaker matches" : "Hide weaker matches";
  $("more").hidden = results.done || folded();
}

function nearBottom() {
  return $("sentinel").getBoundingClientRect().top < window.innerHeight + 400;
}

// searches left for another, kept as they were (cards, results, scroll position) for Back and Forward
const kept = new Map();

export function keepResults(key) {
  if (!results.route) return;
  kept.delete(key);
  kept.set(key, { route: results.route, hits: [...results.hits], nodes: [...$("results").children],
    words: [...$("words").children], wordsShown: !$("words-panel").hidden, folded: folded(), scroll: window.scrollY,
    ...Object.fromEntries(["offset", "done", "count", "corrected", "notes"].map((f) => [f, results[f]])) });
  while (kept.size > 12) kept.delete(kept.keys().next().value);
}

// a kept search back on screen, scrolled to where it was; false when it is not kept
export function restoreResults(key, route) {
  const was = kept.get(key);
  if (!was) return false;
  clearResults();
  const { hits, nodes, words, wordsShown, scroll, folded: fold, ...state } = was;
  Object.assign(results, state, { route, loading: false });
  results.hits.push(...hits);
  $("results").replaceChildren(...nodes);
  $("results").classList.toggle("hide-weak", fold);
  $("words").replaceChildren(...words);
  $("words-panel").hidden = !wordsShown;
  setMarks(route);
  showCount();
  showFold();
  window.scrollTo(0, scroll);
  return true;
}

// where a photo is among the results on screen, for the viewer; null when it is not
export function resultsSource(path) {
  const index = results.hits.findIndex((h) => h.path === path);
  if (index < 0) return null;
  const opener = [...$("results").querySelectorAll(".card")][index] || null;
  return { source, index, opener };
}

export function clearResults() {
  results.seq += 1;
  results.route = null;
  results.hits.length = 0;
  results.done = true;
  $("results").replaceChildren();
  $("results").classList.remove("hide-weak");
  $("more").hidden = true;
  $("weaker").hidden = true;
  $("words-panel").hidden = true;
  $("filter-note").hidden = true;
  message("");
}

// then: called once the first page is on screen (e.g. to bring results into view on a phone)
export function runSearch(route, then = null) {
  clearResults();
  Object.assign(results, { route, offset: 0, done: false, loading: false, count: null, corrected: null, notes: [] });
  onFirstPage = then;
  setMarks(route);
  message("searching…");
  return loadMore();
}

// the query with `word` (any case, a whole word) replaced by `other`
function replaceWord(q, word, other) {
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`(^|[^\\p{L}])${escaped}(?=$|[^\\p{L}])`, "iu");
  return re.test(q) ? q.replace(re, `$1${other}`) : `${q} ${other}`;
}

async function showWords(terms) {
  // the query's content terms as the server resolved them: no stopwords, no unknown words
  const seq = results.seq;
  const route = results.route;
  const words = [...new Set(terms.map((t) => t.toLowerCase()))];
  if (words.length > 2 || words.some((w) => w.includes(" "))) { $("words-panel").hidden = true; return; } // a sentence
  const groups = await Promise.all(words.map((w) =>
    apiCounted(`/api/words?${qs({ word: w, k: 8 })}`).then(({ body }) => [w, body]).catch(() => [w, []])));
  if (seq !== results.seq) return;
  const nodes = groups.filter(([, hits]) => hits.length).map(([w, hits]) => {
    const div = document.createElement("div");
    div.className = "word-group";
    const title = document.createElement("b");
    title.textContent = `instead of “${w}”:`;
    const chips = document.createElement("div");
    chips.className = "chips";
    const plain = hits.filter((h) => /^[\p{L}][\p{L}'-]*$/u.test(h.word)); // no "fla.", no numbers
    chips.append(...plain.map((h) => chip(h.word, null, () => {
      const q = replaceWord(route.q, w, h.word);
      $("q").value = q;
      go({ ...route, q, exact: false });
    }, `search ${h.word} instead of ${w}`)));
    div.append(title, chips);
    return div;
  });
  $("words").replaceChildren(...nodes);
  $("words-panel").hidden = nodes.length === 0;
}

export function setupResults() {
  $("more").addEventListener("click", loadMore);
  $("weaker").addEventListener("click", () => {
    $("results").classList.toggle("hide-weak");
    showFold();
    if (!folded()) loadMore();
  });
  new IntersectionObserver((entries) => { if (entries[0].isIntersecting) loadMore(); }, { rootMargin: "400px" })
    .observe($("sentinel"));
}
