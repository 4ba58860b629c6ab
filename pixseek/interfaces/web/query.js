// The query panel of an image search: the query image, its crop box (drawn with a pointer or typed in
// pixels), and its tags (of the region when there is one).
import { $, api, chip, localUpload, narrow, qs } from "./api.js";
import { go, nav } from "./route.js";

let tagSeq = 0;

function sourceOf(route) {
  if (route.kind === "path") return `/api/original?${qs({ path: route.path })}`;
  return localUpload(route.upload) || `/api/uploads/${encodeURIComponent(route.upload)}`; // this page's own file: not fetched back
}

export function showQuery(route) {
  const isImage = route.kind === "path" || route.kind === "upload";
  $("query-panel").hidden = !isImage;
  if (!isImage) return;
  $("clear-box").hidden = !route.box;
  const src = sourceOf(route);
  const img = $("query-img");
  if (img.dataset.src !== src) {
    img.dataset.src = src;
    img.removeAttribute("src");
    img.src = src;
  }
  drawBox(route.box);
  fillFields(route.box);
  showTags(route);
}

async function showTags(route) {
  const seq = ++tagSeq;
  $("query-tags").replaceChildren();
  try {
    const box = route.box ? route.box.map(Math.round).join(",") : null;
    const tags = route.kind === "path"
      ? await api(`/api/tag?${qs({ path: route.path, k: 6, box })}`)
      : await api(`/api/uploads/${encodeURIComponent(route.upload)}/tags?${qs({ k: 6, box })}`);
    if (seq !== tagSeq) return;
    $("query-tags").replaceChildren(...tags.map((t) => chip(t.tag, t.score, () => {
      $("q").value = t.tag;
      go({ view: "search", kind: "text", q: t.tag, box: null, filters: nav.route.filters || {} });
    })));
  } catch (err) { /* tags are a hint; the search itself reports errors */ }
}

function fillFields(box) {
  const img = $("query-img");
  const b = box || (img.naturalWidth ? [0, 0, img.naturalWidth, img.naturalHeight] : null);
  ["x0", "y0", "x1", "y1"].forEach((id, i) => { $(id).value = b ? Math.round(b[i]) : ""; });
}

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

// a new box on the same image: a new search
function searchBox(box) {
  const route = nav.route;
  if (route.kind !== "path" && route.kind !== "upload") return;
  go({ ...route, box });
}

export const scrollAfterCrop = { wanted: false };

function setupDrawing() {
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
    if (big) { scrollAfterCrop.wanted = narrow(); searchBox(box); } else drawBox(nav.route.box);
  });
  img.addEventListener("load", () => { drawBox(nav.route.box); fillFields(nav.route.box); });
  window.addEventListener("resize", () => drawBox(nav.route.box));
}

export function setupQuery() {
  setupDrawing();
  $("crop-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const box = ["x0", "y0", "x1", "y1"].map((id) => Number($(id).value));
    const img = $("query-img");
    if (!box.every(Number.isFinite) || box[2] <= box[0] || box[3] <= box[1] || box[0] < 0 || box[1] < 0) {
      $("message").textContent = "a region needs x1 > x0 and y1 > y0, in pixels of the image";
      $("message").classList.add("error");
      return;
    }
    const whole = img.naturalWidth && box[0] === 0 && box[1] === 0 && box[2] >= img.naturalWidth && box[3] >= img.naturalHeight;
    scrollAfterCrop.wanted = narrow();
    searchBox(whole ? null : box);
  });
  $("clear-box").addEventListener("click", () => searchBox(null));
}
