# ruff: noqa: F811  (the shared fixtures of test_web_app are imported, then asked for by name)
"""Accessibility of the page, in real headless Chromium over real photos: an automated audit (axe-core, from
npm: install.sh puts it in .npm-tools/, nothing of it is shipped) of the home, results, viewer and
duplicates pages in both themes at desktop and phone sizes, with no serious or critical violation; the
focus ring's contrast; results announced by what is in them; chip names apart from their scores."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_web_app import RATIO_JS, SIZES, _open, browser, search, server, wait_results  # noqa: F401

AXE = Path(__file__).resolve().parents[2] / ".npm-tools" / "node_modules" / "axe-core" / "axe.min.js"
AUDIT = """async () => (await axe.run(document, { resultTypes: ['violations'] })).violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => `${v.id}: ${v.nodes.slice(0, 3)
    .map(n => n.target.join(' ') + ' ' + (n.failureSummary || '').slice(0, 160)).join(' | ')}`)"""


def audit(page) -> list[str]:
    page.wait_for_timeout(300)  # transitions and lazy images settled
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate(AUDIT)


@pytest.mark.skipif(not AXE.exists(), reason=f"axe-core is not installed at {AXE}: run ./install.sh (npm install axe-core)")
@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_violations_on_any_page(browser, server, scheme, size):
    ctx, pg, errors = _open(browser, server, color_scheme=scheme, bypass_csp=True, **SIZES[size])  # axe is injected
    try:
        wait_results(pg)
        found = {"home": audit(pg)}
        search(pg, "goldfish")
        pg.wait_for_selector("#words-panel:not([hidden])", state="attached")
        found["results"] = audit(pg)
        pg.locator("#results .card").first.click()
        pg.wait_for_selector("#detail[open]")
        pg.wait_for_selector("#d-tags .chip")
        found["viewer"] = audit(pg)
        pg.keyboard.press("Escape")
        pg.wait_for_selector("#detail", state="hidden")
        pg.evaluate("() => { location.hash = 'dupes'; }")
        pg.wait_for_function("() => !document.querySelector('#dupes-message').textContent.startsWith('grouping')")
        found["duplicates"] = audit(pg)
        assert not any(found.values()), found
    finally:
        ctx.close()
    assert not errors, errors


FOCUS = "() => {" + RATIO_JS + """
  const ring = getComputedStyle(document.activeElement).outlineColor;
  const grounds = [document.body, document.querySelector('header'), document.querySelector('.card')]
    .map(e => getComputedStyle(e).backgroundColor);
  return Math.min(...grounds.map(g => ratio(ring, g)));
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_focus_ring_contrast_and_what_results_announce(browser, server, scheme):
    ctx, pg, errors = _open(browser, server, color_scheme=scheme)
    try:
        search(pg, "goldfish")
        pg.focus("#results .card")
        pg.keyboard.press("Shift+Tab")
        pg.keyboard.press("Tab")  # a keyboard focus: the ring shows
        assert pg.evaluate(FOCUS) >= 3
        label = pg.evaluate("() => { const c = document.querySelector('#results .card'); return c.textContent.trim() &&"
                            " document.querySelector('#results .card .sr-only').textContent; }")
        assert "goldfish" in label and not re.search(r"\.jpe?g|score|\d\.\d{3}", label, re.I), label
        pg.wait_for_selector("#words-panel .chip")
        names = pg.eval_on_selector_all(".chip", "cs => cs.map(c => c.getAttribute('aria-label') || c.textContent)")
        assert names and not any(re.search(r"[a-z]\d", n) for n in names), names  # "cat0.92" no more
    finally:
        ctx.close()
    assert not errors, errors

