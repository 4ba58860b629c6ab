// Places on the page: the "Taken in" filter (every place with its photo count, from /api/places), a dot map
// of where the photos were taken (/api/places/map, drawn here as SVG: no map tiles, so it works offline),
// and the place line of the detail view. A place filter travels in the URL as place=NAME, as --place does.
import { $, api } from "./api.js";

const SVG = "http://www.w3.org/2000/svg";

// "Lund, Skåne, Sweden" for the detail view (a hit's or /api/info's place), "" when unknown
export function placeLabel(place) {
  if (!place) return "";
  const names = [place.city, place.region, place.country].filter((n, i, all) => n && all.indexOf(n) === i);
  const where = names.join(", ");
  const at = `${Math.abs(place.lat).toFixed(4)}° ${place.lat >= 0 ? "N" : "S"}, ${Math.abs(place.lon).toFixed(4)}° ${place.lon >= 0 ? "E" : "W"}`;
  return where ? `${where} (${at})` : at;
}

// what --place takes for a place: its city (or region) and country, each of which must hold
function filterName(p) {
  return [p.city || p.region, p.country].filter(Boolean).join(", ");
}

function option(value, label) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = label;
  return o;
}

// the <select> of places: for each country, the whole country, then its places, with photo counts
function fillSelect(places) {
  const select = $("f-place");
  const byCountry = new Map();
  for (const p of places) {
    if (!p.country) continue;
    if (!byCountry.has(p.country)) byCountry.set(p.country, []);
    byCountry.get(p.country).push(p);
  }
  const groups = [...byCountry].map(([country, list]) => {
    const group = document.createElement("optgroup");
    group.label = country;
    const total = list.reduce((n, p) => n + p.photos, 0);
    group.append(option(country, `${country}: all (${total.toLocaleString()})`));
    for (const p of list) if (p.city || p.region) group.append(option(filterName(p), `${p.city || p.region} (${p.photos.toLocaleString()})`));
    return group;
  });
  select.replaceChildren(option("", "anywhere"), ...groups);
  $("f-place-label").hidden = !groups.length;
}

// a dot per rounded position, sized by its photos, on a plain longitude/latitude grid fitted to the dots
function drawMap(dots, pick) {
  const svg = $("place-map");
  svg.toggleAttribute("hidden", !dots.length); // an SVG element has no .hidden property
  if (!dots.length) return;
  const lats = dots.map((d) => d.lat), lons = dots.map((d) => d.lon);
  const pad = 0.5; // degrees around the dots (a lone place still shows its neighbourhood)
  const [west, east] = [Math.min(...lons) - pad, Math.max(...lons) + pad];
  const [south, north] = [Math.max(Math.min(...lats) - pad, -89), Math.min(Math.max(...lats) + pad, 89)];
  const [cx, cy] = [(west + east) / 2, (south + north) / 2];
  const kx = Math.max(Math.cos((cy * Math.PI) / 180), 0.2); // a degree of longitude is shorter away from the equator
  const width = 300, height = 180, margin = 10; // pixels kept clear around the dots, so none is cut
  const scale = Math.min((width - 2 * margin) / ((east - west) * kx), (height - 2 * margin) / (north - south));
  const x = (lon) => width / 2 + (lon - cx) * kx * scale;
  const y = (lat) => height / 2 - (lat - cy) * scale;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const [w, e] = [cx - width / (2 * kx * scale), cx + width / (2 * kx * scale)];
  const [s, n] = [cy - height / (2 * scale), cy + height / (2 * scale)];
  const step = [1, 2, 5, 10, 15, 30, 45, 90].find((d) => (e - w) / d <= 8) || 90;
  const lines = [];
  for (let lon = Math.ceil(w / step) * step; lon <= e; lon += step) lines.push(["x", x(lon)]);
  for (let lat = Math.ceil(s / step) * step; lat <= n; lat += step) lines.push(["y", y(lat)]);
  const grid = lines.map(([axis, at]) => {
    const l = document.createElementNS(SVG, "line");
    const [x1, y1, x2, y2] = axis === "x" ? [at, 0, at, height] : [0, at, width, at];
    Object.entries({ x1, y1, x2, y2, class: "grid" }).forEach(([k, v]) => l.setAttribute(k, v));
    return l;
  });
  const most = Math.max(...dots.map((d) => d.photos));
  const marks = dots.map((d) => {
    const c = document.createElementNS(SVG, "circle");
    const name = filterName(d) || `${d.lat}, ${d.lon}`;
    c.setAttribute("cx", x(d.lon).toFixed(1));
    c.setAttribute("cy", y(d.lat).toFixed(1));
    c.setAttribute("r", (2.5 + 5 * Math.sqrt(d.photos / most)).toFixed(1));
    c.setAttribute("class", "dot");
    c.setAttribute("tabindex", "0");
    c.setAttribute("role", "button");
    c.setAttribute("aria-label", `${name}: ${d.photos} photos`);
    c.dataset.place = filterName(d);
    const title = document.createElementNS(SVG, "title");
    title.textContent = `${name}: ${d.photos.toLocaleString()} photo${d.photos === 1 ? "" : "s"}`;
    c.append(title);
    if (c.dataset.place) {
      c.addEventListener("click", () => pick(c.dataset.place));
      c.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pick(c.dataset.place); } });
    }
    return c;
  });
  svg.replaceChildren(...grid, ...marks);
}

// fill the filter and the map; pick(name) is called when a dot is chosen
export async function setupPlaces(pick) {
  try {
    const [places, map] = await Promise.all([api("/api/places"), api("/api/places/map")]);
    fillSelect(places);
    drawMap(map.dots, pick);
  } catch (err) { /* no places offered; searches still work */ }
}

export function formPlace() {
  return $("f-place").value;
}

// show `name` as the chosen place, adding it when the list lacks it (a place typed into the URL: "UK")
export function fillPlace(name) {
  const select = $("f-place");
  if (name && ![...select.options].some((o) => o.value === name)) select.append(option(name, name));
  select.value = name || "";
}
