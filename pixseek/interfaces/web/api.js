// Talking to the server: JSON routes, the result count header, uploads kept under an id.
export const $ = (id) => document.getElementById(id);

export function qs(params) {
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") out.set(k, v);
  return out.toString();
}

async function request(url, options) {
  const resp = await fetch(url, options);
  const body = await resp.json().catch(() => ({ error: `HTTP ${resp.status}` }));
  if (!resp.ok) throw new Error(body.error || `HTTP ${resp.status}`);
  return [body, resp];
}

export async function api(url, options) {
  return (await request(url, options))[0];
}

// the body and X-Result-Count (results above the relevance cut-off; null when the server does not say)
export async function apiCounted(url, options) {
  const [body, resp] = await request(url, options);
  const count = resp.headers.get("X-Result-Count");
  return { body, count: count === null || count === "" ? null : Number(count) };
}

export function form(blob) {
  const data = new FormData();
  data.append("file", blob);
  return { method: "POST", body: data };
}

// uploads: sent once and kept by the server for a while (so the URL, searches and tags name them by id),
// and here for this page's life (to show them without fetching them back)
const blobs = new Map();

export async function keepUpload(file) {
  const { id } = await api("/api/uploads", form(file));
  blobs.set(id, file);
  return id;
}

const shown = new Map(); // id -> object URL of this page's own file

export function localUpload(id) {
  if (!blobs.has(id)) return null;
  if (!shown.has(id)) shown.set(id, URL.createObjectURL(blobs.get(id)));
  return shown.get(id);
}

export function thumbUrl(path) { return `/api/thumb?${qs({ path })}`; }

export function chip(text, score, onClick, label = null) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "chip";
  b.textContent = text;
  if (score !== null && score !== undefined) {
    const s = document.createElement("small");
    s.textContent = ` ${score.toFixed(2)}`;
    s.setAttribute("aria-hidden", "true"); // the name is what is read; the score is for the eye
    b.append(s);
  }
  if (label) b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}

export const baseName = (path) => path.split("/").pop();
export const narrow = () => window.matchMedia("(max-width: 700px)").matches;
