// The page's state lives in the URL fragment, so Back/Forward walk through searches and a URL can be shared:
//   #q=dog&under=/photos/2024&after=2024-01-01&before=2024-12-31&type=jpg,png&place=Lund,%20Sweden      #q=dgo&exact=1 (no spelling correction)
//   #q=dog&like=/photos/a.jpg&like=/photos/b.jpg&unlike=/photos/c.jpg (results marked "more like this" / "not this")
//   #path=/photos/cat.jpg&box=10,20,200,220      #upload=ID&box=...      #dupes&threshold=0.8      #people
import { qs } from "./api.js";

export const FILTERS = ["under", "after", "before", "type", "place"];

export function parse(hash) {
  const h = new URLSearchParams((hash || "").replace(/^#/, ""));
  if (h.has("dupes")) return { view: "dupes", threshold: h.get("threshold") || null };
  if (h.has("people")) return { view: "people" };
  const route = { view: "search", kind: null, box: null, exact: h.get("exact") === "1", filters: {} };
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

export const nav = { route: parse("") };

// a new history entry (and so a new search) per state; the same state again re-runs it
export function go(route) {
  const hash = toHash(route);
  if (location.hash.replace(/^#/, "") === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}
