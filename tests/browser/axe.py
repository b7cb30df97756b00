"""axe-core in real Chromium: run the WCAG 2.0/2.1 A and AA rules on the open page.

axe-core comes from the npm registry (package.json, pinned in package-lock.json; ``npm ci``
in bin/test puts it in node_modules/). The page's Content-Security-Policy forbids inline
scripts, so the script is not added as a tag: its source is evaluated through the DevTools
protocol (``page.evaluate``), which the page's CSP does not govern.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pytest

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@cache
def axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def require_axe() -> None:
    """Skip without axe-core outside CI; in CI a missing axe-core is a failure."""
    if AXE_JS.exists():
        return
    reason = f"axe-core is not installed ({AXE_JS}); run `npm ci` in the project folder"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def axe_violations(page) -> list[dict]:
    """The WCAG A/AA violations axe-core finds on the page as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})",
        WCAG_TAGS,
    )
    return result["violations"]


def describe(violations: list[dict]) -> list[str]:
    """One line per failing element: rule, impact, selector and axe's summary."""
    lines = []
    for violation in violations:
        for node in violation["nodes"]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(
                f"{violation['id']} ({violation['impact']}) {' '.join(map(str, node['target']))}:"
                f" {summary[:200]}"
            )
    return lines
