"""Every main page passes axe-core's WCAG 2.0/2.1 A and AA rules, for each role, at desktop
(1280 px) and phone (390 px) width, and no page is wider than a phone's screen.

Add a page by adding a row to PAGES: a name, the path (``{invoice}`` and ``{drivinglog}`` are
filled in from the test data) and whether it is seen logged in. Screenshots go to /tmp/ha11y/.
"""

from pathlib import Path

import pytest

from tests.browser.axe import axe_violations, describe, require_axe
from tests.factories import DrivingLogFactory, TripFactory

SHOTS = Path("/tmp/ha11y")
ROLES = ["admin_a", "finance_a", "payroll_a", "user_a"]
WIDTHS = {"desktop": 1280, "phone": 390}

PAGES = [
    ("hjem", "/", True),
    ("fakturaer", "/okonomi/fakturaer/", True),
    ("faktura", "/okonomi/fakturaer/{invoice}/", True),
    ("forhandsvis-eksport", "/okonomi/fakturaer/{invoice}/forhandsvis-eksport/", True),
    ("kunder", "/okonomi/kunder/", True),
    ("ikke-eksporterte", "/okonomi/ikke-eksporterte/", True),
    ("betalingssjekk", "/administrasjon/betalingssjekk/", True),
    ("datadeling", "/administrasjon/datadeling/", True),
    ("valider-kontoplan", "/administrasjon/kontoplan/valider/", True),
    ("avstemming", "/okonomi/avstemming/", True),
    ("kjoreboker", "/lonn/kjoreboker/", True),
    ("kjorebok", "/lonn/kjoreboker/{drivinglog}/", True),
    ("lonnskoder", "/lonn/lonnskoder/", True),
    ("lonnseksport", "/lonn/lonnseksport/", True),
    ("brukere", "/administrasjon/brukere/", True),
    ("integrasjonsstatus", "/okonomi/integrasjonsstatus/", True),
    ("profil", "/profil/", True),
    ("logg-inn", "/logg-inn/", False),
]

# The innermost unclipped elements that reach past the right edge of the screen, to say what to fix.
WIDE_ELEMENTS = """width => {
  const clipped = el => { for (let p = el.parentElement; p; p = p.parentElement) {
    if (getComputedStyle(p).overflowX !== 'visible') return true; } return false; };
  const past = el => el.getBoundingClientRect().right > width + 1;
  return [...document.body.querySelectorAll('*')]
    .filter(el => past(el) && !clipped(el) && ![...el.children].some(c => past(c) && !clipped(c)))
    .slice(0, 5)
    .map(el => el.tagName.toLowerCase()
      + (el.className ? '.' + String(el.className).split(' ').join('.') : ''));
}"""

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page_data(invoice_a, user_a):
    log = DrivingLogFactory(driver=user_a)
    TripFactory(log=log)
    return {"invoice": invoice_a.pk, "drivinglog": log.pk}


def check_page(page, url: str, label: str) -> list[str]:
    problems = []
    for width_name, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(url)
        page.wait_for_load_state("load")
        page.screenshot(path=str(SHOTS / f"{label}-{width_name}.png"), full_page=True)
        problems += [f"{label} {width}px: {line}" for line in describe(axe_violations(page))]
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 0:
            wide = page.evaluate(WIDE_ELEMENTS, width)
            problems.append(
                f"{label} {width}px: the page is {overflow}px wider than the screen: {wide}"
            )
    return problems


@pytest.mark.parametrize(("name", "path", "logged_in"), PAGES, ids=[p[0] for p in PAGES])
def test_page_is_accessible(request, browser_page, page_data, name, path, logged_in):
    require_axe()
    SHOTS.mkdir(parents=True, exist_ok=True)
    url = browser_page.base + path.format(**page_data)
    problems = []
    if not logged_in:
        problems += check_page(browser_page, url, name)
    else:
        for role in ROLES:
            browser_page.context.clear_cookies()
            browser_page.login(request.getfixturevalue(role))
            problems += check_page(browser_page, url, f"{name}-{role}")
    assert not problems, "\n".join(problems)


def test_main_menu_works_by_keyboard(browser_login, finance_a):
    """The menu groups are buttons: Enter opens one, Tab reaches its pages, Escape closes it."""
    page = browser_login(finance_a)
    page.goto(page.base + "/")
    economy = page.get_by_role("button", name="Økonomi")
    invoices = page.locator(".mainnav").get_by_role("link", name="Fakturaer")
    assert economy.get_attribute("aria-expanded") == "false"
    assert not invoices.is_visible()
    economy.focus()
    page.keyboard.press("Enter")
    assert economy.get_attribute("aria-expanded") == "true"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Fakturaer"
    page.keyboard.press("Escape")
    assert economy.get_attribute("aria-expanded") == "false"
    assert page.evaluate("() => document.activeElement.textContent") == "Økonomi"
    assert not invoices.is_visible()
    economy.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/okonomi/fakturaer/")
