// Face boxes over the detail view's photo (photos indexed with --faces): each face outlined, its person
// named in its tooltip; a click lists that person's photos (their name, or person:ID, as the query).
import { $, api, qs } from "./api.js";

let shown = { path: null, faces: [], width: 0 };

export async function loadFaces(path, width, onPerson) {
  shown = { path, faces: [], width, onPerson };
  draw();
  try {
    const found = await api(`/api/faces?${qs({ path, detect: "false" })}`);
    if (shown.path !== path) return;
    shown.faces = found.faces;
    draw();
  } catch { /* faces are a hint; the facts report errors */ }
}

export function clearFaces() {
  shown = { path: null, faces: [], width: 0 };
  draw();
}

export function draw() {
  const frame = $("d-frame");
  frame.querySelectorAll(".face-box").forEach((b) => b.remove());
  const img = $("d-img");
  if (!shown.faces.length || !shown.width || !img.complete || !img.clientWidth) return;
  const s = img.clientWidth / shown.width;
  for (const f of shown.faces) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "face-box";
    const who = f.name || (f.person !== null ? `person ${f.person}` : "no one yet");
    b.title = who;
    b.setAttribute("aria-label", `face: ${who}`);
    Object.assign(b.style, { left: `${f.box[0] * s}px`, top: `${f.box[1] * s}px`,
      width: `${(f.box[2] - f.box[0]) * s}px`, height: `${(f.box[3] - f.box[1]) * s}px` });
    if (f.person !== null) b.addEventListener("click", () => shown.onPerson(f.name || `person:${f.person}`));
    else b.disabled = true;
    frame.append(b);
  }
}
