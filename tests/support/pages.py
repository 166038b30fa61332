"""What every portal page must be, checked in a real Chromium: the page-check harness.

    FORBIDDEN       raw codes no page may show (UTC, audit action codes, cli:root, state and role
                    codes, version counters, None, a traceback, template braces)
    check_page      at the page open now: no sideways scroll, nothing forbidden in the visible
                    text, every field labelled, tap targets and text sizes for a phone, text
                    contrast at least 4.5:1, lang="zh-CN", and a full-page screenshot
                    build/artifacts/<name>-<width>.png
    signed_in_pages one logged-in page per width (1366 and 390 px), each in a context of its own

Only the visible text is checked (`inner_text("body")`), never the HTML: a code may sit in a URL, a
form value or a data attribute, where nobody reads it. ASCII codes match as whole words, so
`reported` does not match inside `unreported` nor `town` inside a longer word; dotted audit
codes match as whole dotted tokens.

Other pages' tests use it like this:

    with signed_in_pages(browser, portal.url, "edu") as pages:
        for width, page in pages.items():
            page.goto(f"{portal.url}/inbox")
            check_page(page, "inbox")
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from models.labels import (
    ACTIONS,
    ASSIGNMENT_ROLES,
    AUDIT_ACTIONS,
    CHECKIN_STATES,
    FIELDS,
    STATES,
    UNIT_KINDS,
)
from tests.support.browser import ARTIFACTS
from tests.support.portal import PASSWORD

WIDTHS = (1366, 390)
PHONE = 390
MIN_TAP = 44  # px: the smallest finger target (WCAG 2.5.5, Apple's and Android's guides)
MIN_INPUT_FONT = 16  # px: below this iOS Safari zooms the page when a field is focused

# Codes a person must never read raw. Single words where a code is also an English word that a
# Chinese page has no reason to carry; dotted audit codes whole. Usernames of the seed (office,
# staff, leader, auditor, edu …) are shown in the header on purpose and so are not here.
_WORDS = sorted(
    {
        "UTC",
        "None",
        "null",
        "undefined",
        "Traceback",
        "office_admin",
        "office_staff",
        *STATES,
        *CHECKIN_STATES,
        *ASSIGNMENT_ROLES,
        *(kind for kind in UNIT_KINDS),
        *(name for name in FIELDS if "_" in name),  # units_text; plain words (title) are English
    }
)
FORBIDDEN: dict[str, re.Pattern[str]] = {
    **{word: re.compile(rf"(?<![\w.:/-]){re.escape(word)}(?![\w:/-])") for word in _WORDS},
    **{
        code: re.compile(rf"(?<![\w.]){re.escape(code)}(?![\w])")
        for code in AUDIT_ACTIONS
        if "." in code
    },
    "cli:…": re.compile(r"\bcli:\w+"),
    "liaison:…": re.compile(r"\bliaison:"),
    "版本 N": re.compile(r"版本\s*\d+"),
    "{{": re.compile(r"\{\{|\}\}|\{%|%\}"),
    "Action.": re.compile(r"\b(?:Action|State|Role|CheckInState)\.[A-Z_]+"),
    # A stored time shown as kept (ISO 8601, in UTC), not as the office reads it (Beijing time).
    "ISO time": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d"),
    "+00:00": re.compile(r"\+00:00\b"),
    # A field or figure code (completion_rate, doc_no): a person reads its label.
    "snake_case": re.compile(r"(?<![\w.:/@-])[a-z]+(?:_[a-z]+)+(?![\w.:/@-])"),
}
# Bare action verbs (sign, report …) are English words too; a page shows them only as button values,
# never as text, so they are checked as whole words as well.
FORBIDDEN.update(
    {verb: re.compile(rf"(?<![\w.:/-]){verb}(?![\w:/-])") for verb in ACTIONS if verb not in _WORDS}
)


def forbidden_in(text: str) -> list[str]:
    """Each forbidden code found in this visible text, with a little of what surrounds it."""
    found = []
    for name, pattern in FORBIDDEN.items():
        for hit in pattern.finditer(text):
            start, end = max(0, hit.start() - 20), hit.end() + 20
            found.append(f"{name}: …{text[start:end]}…".replace("\n", " "))
            break
    return found


# Each visible form field without a label: its tag, name and type.
_UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => !['hidden', 'submit', 'button', 'reset', 'image'].includes(e.type))
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
               && !e.getAttribute('aria-labelledby'))
  .map(e => `${e.tagName.toLowerCase()} name=${e.name} type=${e.type}`)"""

# Controls a finger must hit, smaller than MIN_TAP in height: buttons, fields, nav links. A checkbox
# or radio counts by its label (the label is the target). Links inside running text are exempt
# (WCAG 2.5.8), as are hidden ones.
# Targets under MIN_TAP high, or under MIN_TAP wide, at phone width: every control, every link and
# every <summary>. A checkbox or radio counts by the label around it. A link inside a sentence (its
# parent holds other text) is exempt, as WCAG 2.5.8 exempts inline targets: making it taller would
# space out the lines it sits in.
_SMALL_TARGETS = """(minimum) => [...document.querySelectorAll(
    'button, input, select, textarea, a[href], summary')]
  .filter(e => e.type !== 'hidden' && e.offsetParent !== null)
  .filter(e => e.tagName !== 'A'
               || e.parentElement.textContent.trim() === e.textContent.trim())
  .map(e => {
     const target = (e.type === 'checkbox' || e.type === 'radio') && e.closest('label')
       ? e.closest('label') : e;
     const box = target.getBoundingClientRect();
     return [e, box];
  })
  .filter(([e, box]) => box.height + 0.5 < minimum || box.width + 0.5 < minimum)
  .map(([e, box]) => `${e.tagName.toLowerCase()} ${e.name || e.textContent.trim().slice(0, 20)}`
                     + ` ${Math.round(box.width)}×${Math.round(box.height)}px`)"""

# Fields whose text is smaller than MIN_INPUT_FONT.
_SMALL_FIELDS = """(minimum) => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => !['hidden', 'checkbox', 'radio', 'submit', 'button', 'file'].includes(e.type))
  .filter(e => parseFloat(getComputedStyle(e).fontSize) < minimum)
  .map(e => `${e.tagName.toLowerCase()} name=${e.name} ${getComputedStyle(e).fontSize}`)"""

# Elements wider than the window (what makes the page scroll sideways), innermost first.
_WIDE = """(width) => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > width + 1)
  .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > width + 1))
  .slice(0, 5)
  .map(e => `${e.tagName.toLowerCase()}.${e.className}`
             + ` ${Math.round(e.getBoundingClientRect().right)}px`)"""


# Text whose contrast with what is behind it is under 4.5:1 (3:1 for large text), WCAG 1.4.3: the
# colour of each element holding text against the first opaque background up its ancestors.
_LOW_CONTRAST = """() => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => v / 255)
    .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const behind = e => {
    for (; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const e of document.querySelectorAll('body *')) {
    const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !e.getClientRects().length) continue;
    const style = getComputedStyle(e);
    if (style.visibility === 'hidden' || parseFloat(style.opacity) === 0) continue;
    if (e.closest('.sr') || (e.closest('.skip') && document.activeElement !== e)) continue;
    const [a, b] = [lum(rgb(style.color).slice(0, 3)), lum(behind(e))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < needed) low.push(`${e.tagName.toLowerCase()} "${e.textContent.trim().slice(0, 15)}"`
                                 + ` ${ratio.toFixed(2)}:1`);
  }
  return low.slice(0, 8);
}"""


def problems_of(page: Any) -> list[str]:
    """Everything wrong with the page open now, in words (an empty list: nothing)."""
    width = page.viewport_size["width"]
    problems = []
    # Against the viewport asked for: a phone browser zooms out to fit a too-wide page, which
    # would make innerWidth grow with the overflow it is meant to reveal.
    scroll, inner = page.evaluate("() => document.documentElement.scrollWidth"), width
    if scroll > inner:
        problems.append(
            f"scrolls sideways at {width}px ({scroll} > {inner}): {page.evaluate(_WIDE, width)}"
        )
    problems += [f"shows {hit}" for hit in forbidden_in(page.inner_text("body"))]
    problems += [f"unlabelled {field}" for field in page.evaluate(_UNLABELLED)]
    if width <= PHONE:
        problems += [f"tap target too small: {t}" for t in page.evaluate(_SMALL_TARGETS, MIN_TAP)]
        problems += [
            f"field text under {MIN_INPUT_FONT}px: {f}"
            for f in page.evaluate(_SMALL_FIELDS, MIN_INPUT_FONT)
        ]
    problems += [f"contrast too low: {t}" for t in page.evaluate(_LOW_CONTRAST)]
    if page.evaluate("() => document.documentElement.lang") != "zh-CN":
        problems.append('the page is not lang="zh-CN"')
    return problems


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(ARTIFACTS / f"{name}-{page.viewport_size['width']}.png"), full_page=True
    )


def check_page(page: Any, name: str) -> None:
    """Assert the page open now is fit to show (see the module's docstring) and keep its
    screenshot."""
    screenshot(page, name)
    problems = problems_of(page)
    assert not problems, (
        f"{name} at {page.viewport_size['width']}px ({page.url}):\n  " + "\n  ".join(problems)
    )


def sign_in_page(page: Any, base_url: str, username: str, password: str = PASSWORD) -> None:
    """What a person does: the login form, filled and sent."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


@contextmanager
def signed_in_pages(
    browser: Any, base_url: str, username: str, widths: tuple[int, ...] = WIDTHS
) -> Iterator[dict[int, Any]]:
    """One page per width, each in its own browser context, signed in as `username` (one login:
    the later contexts start from the first one's cookies)."""
    contexts = []
    pages: dict[int, Any] = {}
    try:
        state = None
        for width in widths:
            context = browser.new_context(
                locale="zh-CN",
                viewport={"width": width, "height": 900},
                storage_state=state,
                is_mobile=width <= PHONE,
                has_touch=width <= PHONE,
            )
            contexts.append(context)
            page = context.new_page()
            if state is None:
                sign_in_page(page, base_url, username)
                state = context.storage_state()
            pages[width] = page
        yield pages
    finally:
        for context in contexts:
            context.close()
