"""How fast the web page answers, measured in the page itself (real headless Chromium, real `pixseek serve`).

    flock /tmp/pixseek-bench.lock python benchmarks/web_latency.py --db /tmp/web10k [--queries 20]

(/tmp/web10k: `pixseek index ../shared/data/tiny-imagenet-200/val --db /tmp/web10k`, 10,000 photos.)
The server is started on the collection and warmed up with three searches. Then, per query (Tiny ImageNet
class names), from the Search button's submit to: the result grid in the DOM and painted (next animation
frame), and the first 12 thumbnails loaded. Each query runs twice: first with thumbnails never made
before (the server makes them), then again (cached, as in a warm session). Every step is followed by a
0.4 s pause, as a person looks at the page, so that the thumbnails still loading from one step do not
run into the next one's timing. Detail view: from a click on
a result to the dialog showing the photo loaded (its preview made on first open) with its file facts and
date, and to its tags shown (asked for once the facts are in; tagging takes longer). The first card of
each query is a first open; the next two were fetched ahead by the page while the one before was open
(as it does for the arrow keys); "again" reopens them. Prints milliseconds:
p50, p90, max.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import tiny_names  # noqa: E402

CHROMIUM = os.environ.get("PIXSEEK_CHROMIUM", "/usr/bin/chromium")
PAUSE_MS = 400

SEARCH = """async (q) => {
  const message = document.getElementById('message');
  const t0 = performance.now();
  const shown = new Promise((done) => {
    const seen = () => document.querySelector('#results .card') && !message.textContent.startsWith('searching');
    new MutationObserver((_, obs) => { if (seen()) { obs.disconnect(); done(); } })
      .observe(message, { childList: true, characterData: true, subtree: true });
  });
  document.getElementById('q').value = q;
  document.getElementById('search-form').requestSubmit();
  await shown;
  await new Promise((r) => requestAnimationFrame(() => r()));
  const painted = performance.now() - t0;
  const imgs = [...document.querySelectorAll('#results .card img')].slice(0, 12);
  await Promise.all(imgs.map((i) => i.complete ? 0 : new Promise((r) => { i.onload = i.onerror = r; })));
  return [painted, performance.now() - t0];
}"""

DETAIL = """async ([i]) => {
  const card = document.querySelectorAll('#results .card')[i];
  const img = document.getElementById('d-img'), facts = document.getElementById('d-facts');
  const tags = document.getElementById('d-tags');
  const t0 = performance.now();
  card.click();
  const when = (ok) => new Promise((done) => {  // NaN: not shown within 15 s
    const poll = () => ok() ? requestAnimationFrame(() => done(performance.now() - t0))
      : performance.now() - t0 > 15000 ? done(NaN) : setTimeout(poll, 1);
    poll();
  });
  const took = await Promise.all([
    when(() => img.complete && img.naturalWidth > 0 && facts.textContent.includes('Size')
         && new URL(img.src).searchParams.get('path') === card.dataset.path),
    when(() => tags.children.length > 0)]);  // its tags, or the note that none is sure
  document.getElementById('detail').close();
  return took;
}"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _line(name: str, ms: list[float]) -> str:
    missed = sum(m != m for m in ms)  # NaN: never shown
    ms = sorted(m for m in ms if m == m)
    if missed:
        name = f"{name} ({missed} never shown)"
    p90 = ms[min(len(ms) - 1, int(round(0.9 * (len(ms) - 1))))]
    return f"  {name:<44} n={len(ms):<3} p50 {statistics.median(ms):6.1f} ms  p90 {p90:6.1f} ms  max {ms[-1]:6.1f} ms"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True, help="an indexed collection (10,000 Tiny ImageNet photos for the goal)")
    p.add_argument("--queries", type=int, default=20)
    args = p.parse_args()
    import httpx
    from playwright.sync_api import sync_playwright

    port = _port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "pixseek", "serve", "--db", args.db, "--port", str(port)])
    try:
        for _ in range(600):
            try:
                images = httpx.get(f"{base}/api/health").json()["images"]
                break
            except (httpx.HTTPError, KeyError, ValueError):
                time.sleep(0.1)
        else:
            sys.exit("pixseek serve did not start")
        words = sorted(set(tiny_names().values()))
        queries = [words[i * len(words) // args.queries] for i in range(args.queries)]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(base + "/")
            page.wait_for_selector("#status:not(:empty)")
            for q in ("dog", "cat", "car"):  # warm: model, word tables, tagger, first thumbnails
                page.evaluate(SEARCH, q)
                page.evaluate(DETAIL, [0])
            first, again, detail, detail_again = [], [], [], []
            for q in queries:  # a pause after each step, as a person looks: the page's background loads settle
                first.append(page.evaluate(SEARCH, q))
                page.wait_for_timeout(PAUSE_MS)
                for i in (0, 1, 2):
                    detail.append(page.evaluate(DETAIL, [i]))
                    page.wait_for_timeout(PAUSE_MS)
            for q in queries:
                again.append(page.evaluate(SEARCH, q))
                page.wait_for_timeout(PAUSE_MS)
                for i in (0, 1, 2):
                    detail_again.append(page.evaluate(DETAIL, [i]))
                    page.wait_for_timeout(PAUSE_MS)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"web page latency over {images:,} photos ({args.db}), {len(queries)} text queries, headless Chromium")
    print(_line("text search, grid painted (new thumbnails)", [a for a, _ in first]))
    print(_line("text search, 12 thumbnails loaded (new)", [b for _, b in first]))
    print(_line("text search, grid painted (warm, repeated)", [a for a, _ in again]))
    print(_line("text search, 12 thumbnails loaded (warm)", [b for _, b in again]))
    cold, ahead = detail[0::3], detail[1::3] + detail[2::3]
    print(_line("detail view: photo + facts (first open)", [a for a, _ in cold]))
    print(_line("detail view: tags too (first open)", [b for _, b in cold]))
    print(_line("detail view: photo + facts (fetched ahead)", [a for a, _ in ahead]))
    print(_line("detail view: tags too (fetched ahead)", [b for _, b in ahead]))
    print(_line("detail view: photo + facts (again, cached)", [a for a, _ in detail_again]))
    print(_line("detail view: tags too (again, cached)", [b for _, b in detail_again]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
