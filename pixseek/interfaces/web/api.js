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

// uploads: kept by the server for a while (so the URL can name them), and here for this page's life
const blobs = new Map();

export async function keepUpload(file) {
  const { id } = await api("/api/uploads", form(file));
  blobs.set(id, file);
  return id;
}

export async function uploadBlob(id) {
  if (!blobs.has(id)) {
    const resp = await fetch(`/api/uploads/${encodeURIComponent(id)}`);
    if (!resp.ok) {
      const body = await resp.json().catch(() => ({}));
      throw new Error(body.error || `the uploaded image is no longer kept by the server: upload it again`);
    }
    blobs.set(id, await resp.blob());
  }
  return blobs.get(id);
}

export function thumbUrl(path) { return `/api/thumb?${qs({ path })}`; }

export function chip(text, score, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "chip";
  b.textContent = text;
  if (score !== null && score !== undefined) {
    const s = document.createElement("small");
    s.textContent = score.toFixed(2);
    b.append(s);
  }
  b.addEventListener("click", onClick);
  return b;
}

export const baseName = (path) => path.split("/").pop();
export const narrow = () => window.matchMedia("(max-width: 700px)").matches;
