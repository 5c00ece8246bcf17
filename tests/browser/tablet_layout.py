"""Measuring a tablet (or wall) page in the browser: finger-sized, spaced controls and no clipped text.

Issue 14's rules for the instructor tablet, at 768×1024 portrait and 1280×800 landscape:

- every visible control (button, link, input, select, ``label.button``) is at least
  :data:`MIN_TARGET_PX` × :data:`MIN_TARGET_PX` CSS px;
- two controls are at least :data:`MIN_GAP_PX` apart (edge to edge) unless one holds the other;
  with a bottom sheet open only the sheet counts (its scrim covers the rest);
- no element with text of its own is clipped: ``scrollWidth`` no more than ``clientWidth`` (and, where
  its overflow is hidden, no line hidden below: ``scrollHeight`` within 0.3 em of ``clientHeight``) —
  an ellipsis counts as clipped;
- nothing is wider than the screen.
"""

from __future__ import annotations

from playwright.sync_api import Page

PORTRAIT = {"width": 768, "height": 1024}
LANDSCAPE = {"width": 1280, "height": 800}
MIN_TARGET_PX = 48
MIN_GAP_PX = 8
SLACK_PX = 0.5
"""Sub-pixel layout: a gap of 0.5rem at 16 px is 8 px, but rounding may report 7.99."""

_MEASURE = """([minSize, minGap, slack]) => {
  const shown = (e) => {
    const r = e.getBoundingClientRect(), s = getComputedStyle(e);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && e.offsetParent !== null
      && !e.closest('.toast') && parseFloat(s.opacity) > 0;
  };
  const label = (e) => (e.dataset.testid || e.tagName.toLowerCase())
    + ' "' + (e.textContent || e.value || '').trim().slice(0, 30) + '"';
  const targets = 'button, a[href], input:not([type=hidden]), select, textarea, label.button, [role=button]';
  // an open bottom sheet covers the page with its scrim: only what is on the sheet can be tapped
  const modal = document.querySelector('.sheet:not([hidden]) .panel');
  const reachable = (e) => !modal || modal.contains(e);
  const controls = [...document.querySelectorAll(targets)].filter(shown).filter(reachable);
  const small = controls.map((e) => ({ e, r: e.getBoundingClientRect() }))
    .filter(({ r }) => r.width < minSize - slack || r.height < minSize - slack)
    .map(({ e, r }) => `${label(e)} ${Math.round(r.width)}x${Math.round(r.height)}`);
  const close = [];
  const boxes = controls.map((e) => ({ e, r: e.getBoundingClientRect() }));
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.e.contains(b.e) || b.e.contains(a.e)) continue;
      const gap = Math.max(b.r.left - a.r.right, a.r.left - b.r.right, b.r.top - a.r.bottom, a.r.top - b.r.bottom);
      if (gap < minGap - slack) close.push(`${label(a.e)} and ${label(b.e)}: ${gap.toFixed(1)} px`);
    }
  }
  const clipped = [...document.querySelectorAll('body *')].filter(shown).filter(reachable).filter((e) => {
    if (![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) return false;
    const s = getComputedStyle(e);
    if (s.display === 'inline') return false;  // its block ancestor is measured
    const wide = e.scrollWidth > e.clientWidth + 1;
    // a glyph's line box poking a few px out of a tight box is not a hidden line: a clamped or cut
    // line is most of a line high
    const tall = s.overflowY !== 'visible' && e.scrollHeight > e.clientHeight + Math.max(2, 0.3 * parseFloat(s.fontSize));
    return wide || tall || (s.textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth);
  }).map((e) => `${label(e)} ${e.scrollWidth}/${e.clientWidth} wide, ${e.scrollHeight}/${e.clientHeight} high`);
  const overflow = document.documentElement.scrollWidth - innerWidth;
  return { small, close, clipped, overflow };
}"""


def measure(page: Page) -> dict:
    """The page as it is now: ``{"small", "close", "clipped", "overflow"}`` (lists of descriptions, px)."""
    return page.evaluate(_MEASURE, [MIN_TARGET_PX, MIN_GAP_PX, SLACK_PX])


def tablet_problems(page: Page, where: str, sizes=(PORTRAIT, LANDSCAPE)) -> list[str]:
    """Every rule broken on the page at each size (the viewport is put back afterwards)."""
    before = page.viewport_size
    problems: list[str] = []
    try:
        for size in sizes:
            page.set_viewport_size(size)
            page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
            m = measure(page)
            at = f"{where} at {size['width']}x{size['height']}"
            problems += [f"{at}: under {MIN_TARGET_PX} px: {s}" for s in m["small"]]
            problems += [f"{at}: under {MIN_GAP_PX} px apart: {s}" for s in m["close"]]
            problems += [f"{at}: clipped text: {s}" for s in m["clipped"]]
            if m["overflow"] > 0:
                problems.append(f"{at}: {m['overflow']} px wider than the screen")
    finally:
        if before:
            page.set_viewport_size(before)
    return problems


def check_tablet_controls(page: Page, where: str) -> None:
    """Fail with every broken rule listed (see the module's docstring)."""
    problems = tablet_problems(page, where)
    assert not problems, "\n".join(problems)


REFUSALS_THAT_ARE_ANSWERS = (
    (404, "/api/demo"),           # the sign-in and start screens ask whether the hub is a demo
    (400, "/api/circuits"),       # the builder's preview and save: the hub's validation messages
)
"""``(status, path prefix)`` of refused calls that are the page asking, not something going wrong: the
browser logs every 4xx answer as a console error."""


def console_watch(page: Page, answers=REFUSALS_THAT_ARE_ANSWERS) -> list[str]:
    """Collect the page's uncaught errors and console errors (``answers`` left out) into the list returned."""
    import re

    errors: list[str] = []
    refused = re.compile(r"status of (\d{3})")

    def on_console(m) -> None:
        if m.type != "error":
            return
        url = m.location.get("url", "")
        status = refused.search(m.text)
        path = re.sub(r"^https?://[^/]+", "", url)
        if status and any(int(status.group(1)) == code and path.startswith(prefix) for code, prefix in answers):
            return
        errors.append(f"{m.text} ({url})")

    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", on_console)
    return errors
