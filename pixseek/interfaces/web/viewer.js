// The viewer's photo: fitted to the space it has (small photos scaled up to fit), zoom (wheel, pinch,
// double-click, + and - keys) and pan (drag once zoomed), swipe between photos (a touch or mouse drag
// sideways while not zoomed), and a region drawn on the photo for "Search with a region".
import { $ } from "./api.js";

const zoom = { scale: 1, x: 0, y: 0 };
const pointers = new Map();
let gesture = null; // { x, y, zx, zy } a drag; { dist, scale } a pinch; { at: [fx, fy] } a region being drawn
let region = null; // { done(box in fractions of the photo) } while the next drag chooses a region
let swipe = () => {};

export function fitPhoto() {
  const img = $("d-img");
  const stage = $("d-stage");
  if (!img.naturalWidth || !stage.clientWidth) return;
  const s = Math.min(stage.clientWidth / img.naturalWidth, stage.clientHeight / img.naturalHeight);
  img.style.width = `${Math.floor(img.naturalWidth * s)}px`;
  img.style.height = `${Math.floor(img.naturalHeight * s)}px`;
}

function apply() {
  $("d-frame").style.transform = zoom.scale === 1 ? "" : `translate(${zoom.x}px, ${zoom.y}px) scale(${zoom.scale})`;
  $("d-stage").classList.toggle("zoomed", zoom.scale > 1);
  $("d-zoom").textContent = `${Math.round(zoom.scale * 100)}%`;
}

export function resetZoom() {
  Object.assign(zoom, { scale: 1, x: 0, y: 0 });
  apply();
}

// zoom by `factor`, keeping the point under (cx, cy) where it is
export function zoomBy(factor, cx = null, cy = null) {
  const r = $("d-stage").getBoundingClientRect();
  const qx = (cx === null ? r.left + r.width / 2 : cx) - (r.left + r.width / 2);
  const qy = (cy === null ? r.top + r.height / 2 : cy) - (r.top + r.height / 2);
  const scale = Math.min(8, Math.max(1, zoom.scale * factor));
  if (scale === 1) { resetZoom(); return; }
  zoom.x = qx - (scale * (qx - zoom.x)) / zoom.scale;
  zoom.y = qy - (scale * (qy - zoom.y)) / zoom.scale;
  zoom.scale = scale;
  apply();
}

// the next drag on the photo chooses a region; `done` gets [x0, y0, x1, y1] in fractions of the photo
export function chooseRegion(done) {
  resetZoom();
  region = { done };
  $("d-hint").hidden = false;
  $("d-stage").classList.add("choosing");
}

export function stopRegion() {
  region = null;
  gesture = null;
  $("d-hint").hidden = true;
  $("d-cropbox").hidden = true;
  $("d-stage").classList.remove("choosing");
}

export const choosing = () => region !== null;

function fraction(e) {
  const r = $("d-img").getBoundingClientRect();
  return [Math.min(Math.max((e.clientX - r.left) / r.width, 0), 1), Math.min(Math.max((e.clientY - r.top) / r.height, 0), 1)];
}

function drawRegion(a, b) {
  const img = $("d-img");
  const [x0, y0, x1, y1] = [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])];
  Object.assign($("d-cropbox").style, { left: `${x0 * img.clientWidth}px`, top: `${y0 * img.clientHeight}px`,
    width: `${(x1 - x0) * img.clientWidth}px`, height: `${(y1 - y0) * img.clientHeight}px` });
  $("d-cropbox").hidden = false;
  return [x0, y0, x1, y1];
}

function down(e) {
  if (e.button > 0 || (!region && e.target.closest("button"))) return; // a face box on the photo is a button
  pointers.set(e.pointerId, [e.clientX, e.clientY]);
  $("d-stage").setPointerCapture(e.pointerId);
  e.preventDefault();
  if (region) { gesture = { at: fraction(e) }; return; }
  if (pointers.size === 2) {
    const [a, b] = [...pointers.values()];
    gesture = { dist: Math.hypot(a[0] - b[0], a[1] - b[1]), scale: zoom.scale };
  } else gesture = { x: e.clientX, y: e.clientY, zx: zoom.x, zy: zoom.y };
}

function move(e) {
  if (!pointers.has(e.pointerId) || !gesture) return;
  pointers.set(e.pointerId, [e.clientX, e.clientY]);
  if (gesture.at) { drawRegion(gesture.at, fraction(e)); return; }
  if (gesture.dist && pointers.size === 2) {
    const [a, b] = [...pointers.values()];
    zoomBy((gesture.scale * Math.hypot(a[0] - b[0], a[1] - b[1])) / gesture.dist / zoom.scale, (a[0] + b[0]) / 2, (a[1] + b[1]) / 2);
  } else if (gesture.x !== undefined && zoom.scale > 1) {
    zoom.x = gesture.zx + e.clientX - gesture.x;
    zoom.y = gesture.zy + e.clientY - gesture.y;
    apply();
  }
}

function up(e) {
  if (!pointers.delete(e.pointerId) || !gesture) return;
  const g = gesture;
  gesture = null;
  if (g.at) {
    const box = drawRegion(g.at, fraction(e));
    const big = box[2] - box[0] > 0.02 && box[3] - box[1] > 0.02;
    if (big) { const { done } = region; stopRegion(); done(box); } else $("d-cropbox").hidden = true;
    return;
  }
  if (g.x === undefined || zoom.scale > 1) return;
  const dx = e.clientX - g.x;
  const dy = e.clientY - g.y;
  if (Math.abs(dx) > 50 && Math.abs(dx) > 2 * Math.abs(dy)) swipe(dx < 0 ? 1 : -1); // left: the next photo
}

export function setupViewer(onSwipe) {
  swipe = onSwipe;
  const stage = $("d-stage");
  stage.addEventListener("pointerdown", down);
  stage.addEventListener("pointermove", move);
  stage.addEventListener("pointerup", up);
  stage.addEventListener("pointercancel", (e) => { pointers.delete(e.pointerId); gesture = null; });
  stage.addEventListener("wheel", (e) => { e.preventDefault(); zoomBy(Math.exp(-e.deltaY / 300), e.clientX, e.clientY); },
    { passive: false });
  stage.addEventListener("dblclick", (e) => { if (zoom.scale > 1) resetZoom(); else zoomBy(2.5, e.clientX, e.clientY); });
  $("d-zoom-in").addEventListener("click", () => zoomBy(1.5));
  $("d-zoom-out").addEventListener("click", () => zoomBy(1 / 1.5));
  $("d-full").addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else $("detail").requestFullscreen().catch(() => {});
  });
}
