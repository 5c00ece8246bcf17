"""What "legible at a glance from 10 m" means on the wall, as checks a Chromium page can run: no visible
text under 3 % of the screen height, no text element cut short, no panel holding more than it shows.
Used by the wall's browser tests (``tests/browser/test_display*.py``)."""

from __future__ import annotations

from typing import Any

MIN_TEXT_SHARE = 0.03
"""The smallest text a wall may show, as a share of the screen height (32.4 px at 1080p)."""

# every visible text node's rendered font size; SVG text is scaled by its element's screen matrix
SMALL_TEXT = """(minPx) => {
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const text = n.textContent.trim(), e = n.parentElement;
    if (!text || !e || e.closest('script, style')) continue;
    const range = document.createRange(); range.selectNodeContents(n);
    const rects = [...range.getClientRects()].filter((r) => r.width > 0 && r.height > 0
      && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth);
    if (!rects.length) continue;
    const st = getComputedStyle(e);
    if (st.visibility === 'hidden' || parseFloat(st.opacity) === 0) continue;
    const scale = e instanceof SVGElement && e.getScreenCTM ? Math.abs(e.getScreenCTM().a) : 1;
    const px = parseFloat(st.fontSize) * scale;
    const where = `${e.tagName.toLowerCase()}.${e.getAttribute('class') || ''}`;
    if (px < minPx) out.push(`${px.toFixed(1)} px: ${text.slice(0, 40)} (${where})`);
  }
  return out;
}"""

# visible elements with text whose content is wider than their box (cut off, or "…"), or taller than a
# box that clips it (by more than a tight line height's glyph overhang, a fifth of the font size)
CUT_TEXT = """() => [...document.querySelectorAll('body *')].filter((e) => {
  if (e instanceof SVGElement || !e.textContent.trim() || !e.getClientRects().length) return false;
  const st = getComputedStyle(e);
  if (st.display === 'inline' || st.visibility === 'hidden') return false;
  const clipsY = st.overflowY !== 'visible' && e.scrollHeight > e.clientHeight + 0.2 * parseFloat(st.fontSize);
  return e.scrollWidth > e.clientWidth + 1 || clipsY;
}).map((e) => `${e.dataset.testid || e.className}: ${e.textContent.trim().slice(0, 40)}`)"""

# panels holding more than they show
OVERFLOWING = """() => [...document.querySelectorAll('.tile, .board, .latest, .next, .bar, .side')]
  .filter((e) => e.getClientRects().length && (e.scrollHeight > e.clientHeight + 1 || e.scrollWidth > e.clientWidth + 1))
  .map((e) => e.dataset.testid || e.className)"""


def legible(page: Any, view: str) -> None:
    """Every text at least 3 % of the viewport's height, none cut short, no panel overflowing."""
    min_px = MIN_TEXT_SHARE * page.viewport_size["height"]
    small = page.evaluate(SMALL_TEXT, min_px)
    assert small == [], f"{view}: text under {min_px:.1f} px: {small}"
    cut = page.evaluate(CUT_TEXT)
    assert cut == [], f"{view}: text cut short: {cut}"
    over = page.evaluate(OVERFLOWING)
    assert over == [], f"{view}: panels holding more than they show: {over}"
