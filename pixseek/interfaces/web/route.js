// The page's state lives in the URL fragment, so Back/Forward walk through searches and a URL can be shared:
//   #q=dog&under=/photos/2024&after=2024-01-01&before=2024-12-31&type=jpg,png&place=Lund,%20Sweden      #q=dgo&exact=1 (no spelling correction)
//   #q=dog&like=/photos/a.jpg&like=/photos/b.jpg&unlike=/photos/c.jpg (results marked "more like this" / "not this")
//   #path=/photos/cat.jpg&box=10,20,200,220      #upload=ID&box=...      #dupes&threshold=0.8      #people
//   ...&photo=/photos/a.jpg: that photo open in the viewer over the state (its own history entry: Back closes it)
import { qs } from "./api.js";

export const FILTERS = ["under", "after", "before", "type", "place"];

export function parse(hash) {
  const h = new URLSearchParams((hash || "").replace(/^#/, ""));
  const photo = h.get("photo") || null;
  if (h.has("dupes")) return { view: "dupes", threshold: h.get("threshold") || null, photo };
  if (h.has("people")) return { view: "people" };
  const route = { view: "search", kind: null, box: null, exact: h.get("exact") === "1", filters: {}, photo };
  for (const f of FILTERS) if (h.get(f)) route.filters[f] = h.get(f);
  route.like = h.getAll("like");
  route.unlike = h.getAll("unlike");
  if (h.get("q") || route.like.length) Object.assign(route, { kind: "text", q: h.get("q") || "" });
  else if (h.get("path")) Object.assign(route, { kind: "path", path: h.get("path") });
  else if (h.get("upload")) Object.assign(route, { kind: "upload", upload: h.get("upload") });
  const box = (h.get("box") || "").split(",").map(Number);
  if (route.kind && route.kind !== "text" && box.length === 4 && box.every(Number.isFinite)) route.box = box;
  return route;
}

export function toHash(route) {
  const key = searchKey(route);
  if (!route.photo) return key;
  return `${key}${key ? "&" : ""}${new URLSearchParams({ photo: route.photo })}`;
}

// the state without the photo open over it: the same key, the same results (only the viewer changes)
export function searchKey(route) {
  if (route.view === "dupes") return route.threshold ? `dupes&${qs({ threshold: route.threshold })}` : "dupes";
  if (route.view === "people") return "people";
  const p = {};
  if (route.kind === "text") p.q = route.q;
  else if (route.kind === "path") p.path = route.path;
  else if (route.kind === "upload") p.upload = route.upload;
  if (route.box) p.box = route.box.map(Math.round).join(",");
  Object.assign(p, route.filters || {});
  if (route.exact && route.kind === "text") p.exact = "1";
  const out = new URLSearchParams(qs(p));
  if (route.kind === "text") {
    for (const path of route.like || []) out.append("like", path);
    for (const path of route.unlike || []) out.append("unlike", path);
  }
  return out.toString();
}

export const nav = { route: parse(""), fresh: false };

// a new history entry (and so a new search) per state; the same state again re-runs it
export function go(route) {
  const hash = toHash({ ...route, photo: null });
  nav.fresh = true; // asked for now: searched afresh, not brought back from before
  if (location.hash.replace(/^#/, "") === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

// the viewer: opening a photo is a history entry of its own (Back closes it, Forward opens it again);
// walking from photo to photo replaces that entry, so one Back always closes the viewer
export function showPhoto(path) {
  const hash = toHash({ ...nav.route, photo: path });
  if (!nav.route.photo) {
    location.hash = hash;
    history.replaceState({ viewer: true }, "");
  } else history.replaceState(history.state, "", `#${hash}`);
  nav.route = { ...nav.route, photo: path };
}

export function leavePhoto() {
  if (!new URLSearchParams(location.hash.replace(/^#/, "")).has("photo")) return;
  if (history.state && history.state.viewer) history.back();
  else history.replaceState(null, "", `#${toHash({ ...nav.route, photo: null })}`); // opened from a bookmark
  nav.route = { ...nav.route, photo: null };
}
