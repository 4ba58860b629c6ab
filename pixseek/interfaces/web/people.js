// The People view (#people): one card per person found by `index --faces` (their best photo, name, photo
// count), most photos first. A card's photo lists that person's photos (a search for the name, or
// person:ID); Rename, Merge into… and Forget call /api/people and draw the list again.
import { $, api } from "./api.js";
import { card } from "./results.js";
import { go } from "./route.js";

function say(text, isError = false) {
  $("people-message").textContent = text;
  $("people-message").classList.toggle("error", isError);
}

function query(p) {
  return p.name || `person:${p.id}`; // a name of several words is searched as one
}

async function change(url, method, body) {
  try {
    await api(url, { method, headers: { "Content-Type": "application/json" }, body: body && JSON.stringify(body) });
    await showPeople();
  } catch (err) { say(err.message, true); }
}

function entry(p) {
  const section = document.createElement("section");
  section.className = "person";
  section.dataset.id = p.id;
  const label = p.name || `Person ${p.id}`;
  section.setAttribute("aria-label", `${label}, ${p.count} photo${p.count === 1 ? "" : "s"}`);
  const c = card({ path: p.photos[0] }, () => go({ view: "search", kind: "text", q: query(p), box: null, filters: {} }));
  const heading = document.createElement("h3");
  heading.textContent = `${label} · ${p.count} photo${p.count === 1 ? "" : "s"}`;
  const actions = document.createElement("div");
  actions.className = "row";
  const rename = document.createElement("button");
  rename.type = "button";
  rename.textContent = p.name ? "Rename" : "Name";
  rename.addEventListener("click", () => {
    const name = prompt(`Name for ${label}`, p.name || "");
    if (name !== null) change(`/api/people/${p.id}`, "PUT", { name: name.trim() || null });
  });
  const merge = document.createElement("button");
  merge.type = "button";
  merge.textContent = "Merge into…";
  merge.addEventListener("click", () => {
    const into = prompt(`Merge ${label} into which person id?`);
    if (into) change(`/api/people/${encodeURIComponent(into.trim())}/merge`, "POST", { other: p.id });
  });
  const forget = document.createElement("button");
  forget.type = "button";
  forget.textContent = "Forget";
  forget.addEventListener("click", () => {
    if (confirm(`Forget ${label} and their faces?`)) change(`/api/people/${p.id}`, "DELETE");
  });
  actions.append(rename, merge, forget);
  section.append(c, heading, actions);
  return section;
}

// the search box completes the names of the people (a datalist, filled once the page opens)
export async function fillNames() {
  try {
    const people = await api("/api/people");
    $("people-names").replaceChildren(...people.filter((p) => p.name).map((p) => {
      const o = document.createElement("option");
      o.value = p.name;
      return o;
    }));
  } catch { /* completion is a convenience */ }
}

export async function showPeople() {
  $("people").replaceChildren();
  say("loading people…");
  try {
    const people = await api("/api/people");
    people.filter((p) => p.photos.length).forEach((p) => $("people").append(entry(p)));
    say(people.length ? `${people.length} people · a photo lists theirs` : "no people yet: index with --faces");
    fillNames();
  } catch (err) { say(err.message, true); }
}
