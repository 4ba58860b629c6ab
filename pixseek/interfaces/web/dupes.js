// The near-duplicates review view (#dupes): groups of copies of one picture (their verified similarity,
// the suggested keeper marked, why each other photo is a copy) and bursts (distinct shots of one scene
// seconds apart: no keeper suggested). Scores and the threshold are shown as the server sends them, to
// three decimals. Read-only: the server deletes nothing.
import { $, api, baseName, qs } from "./api.js";
import { openDetail } from "./detail.js";
import { card, labelCard } from "./results.js";
import { go } from "./route.js";

const PAGE = 30;
const dupes = { threshold: null, offset: 0, total: 0, seq: 0 };

function say(text, isError = false) {
  $("dupes-message").textContent = text;
  $("dupes-message").classList.toggle("error", isError);
}

function title(g, number, threshold) {
  if (g.kind === "burst") {
    return `Group ${number}: burst of ${g.paths.length} shots within ${g.seconds} s · distinct photos, nothing suggested to delete`;
  }
  return `Group ${number}: ${g.paths.length} copies · similarity ${g.score.toFixed(3)} (its least alike pair, threshold ${threshold})`;
}

function group(g, number, threshold) {
  const section = document.createElement("section");
  section.className = `dupe-group ${g.kind === "burst" ? "burst" : "copies"}`;
  const heading = document.createElement("h3");
  heading.textContent = title(g, number, threshold);
  section.setAttribute("aria-label", heading.textContent);
  const grid = document.createElement("div");
  grid.className = "grid";
  const paths = g.keep ? [g.keep, ...g.paths.filter((p) => p !== g.keep)] : g.paths; // the keeper first
  const source = { hits: paths.map((path) => ({ path })), more: null, done: () => true };
  section.viewerSource = source;
  paths.forEach((path, i) => {
    const c = card({ path }, (fig) => openDetail(source, i, fig));
    if (g.keep && path === g.keep) {
      c.classList.add("keep");
      const badge = document.createElement("span");
      badge.className = "keep-badge";
      badge.textContent = "keep";
      c.prepend(badge);
      labelCard(c, `${baseName(path)}, suggested keeper`);
    } else if (g.why && g.why[path]) {
      const note = document.createElement("span");
      note.className = "dupe-why";
      note.textContent = g.why[path];
      c.append(note);
      labelCard(c, `${baseName(path)}, ${g.why[path]} copy`);
    }
    grid.append(c);
  });
  section.append(heading, grid);
  return section;
}

// where a photo is among the groups on screen, for the viewer; null when it is not
export function dupesSource(path) {
  for (const section of document.querySelectorAll(".dupe-group")) {
    const index = section.viewerSource.hits.findIndex((h) => h.path === path);
    if (index >= 0) return { source: section.viewerSource, index, opener: section.querySelectorAll(".card")[index] };
  }
  return null;
}

async function loadGroups() {
  const seq = dupes.seq;
  $("more-dupes").hidden = true;
  try {
    const body = await api(`/api/duplicates?${qs({ threshold: dupes.threshold, offset: dupes.offset, k: PAGE })}`);
    if (seq !== dupes.seq) return;
    $("threshold").value = body.threshold;
    body.groups.forEach((g, i) => $("dupes").append(group(g, dupes.offset + i + 1, body.threshold)));
    dupes.offset += body.groups.length;
    dupes.total = body.total;
    say(body.total ? `${body.total.toLocaleString()} group${body.total === 1 ? "" : "s"} of near-duplicates (copies at similarity ≥ ${body.threshold}, and bursts)`
      : `no near-duplicates at similarity ≥ ${body.threshold}`);
    $("more-dupes").hidden = dupes.offset >= dupes.total;
  } catch (err) {
    if (seq === dupes.seq) say(err.message, true);
  }
}

export function showDupes(route) {
  dupes.seq += 1;
  Object.assign(dupes, { threshold: route.threshold, offset: 0, total: 0 });
  $("dupes").replaceChildren();
  say("grouping near-duplicates… (a few seconds on a large collection)");
  return loadGroups();
}

export function setupDupes() {
  $("more-dupes").addEventListener("click", loadGroups);
  $("dupes-form").addEventListener("submit", (e) => {
    e.preventDefault();
    go({ view: "dupes", threshold: $("threshold").value || null });
  });
}
