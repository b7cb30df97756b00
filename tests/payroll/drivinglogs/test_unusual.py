"""Unusual trips (payroll/limits.py): within the limits, but worth a look before they are paid.
The payroll export shows them in "Søk" and in the preview, without stopping the export."""

import datetime as dt
from decimal import Decimal

import pytest

from payroll.drivinglogs.selectors import trips_unusual
from tests.fixtures.payroll import make_driver, make_log, may
from tests.poweroffice.salary.test_pages import SEARCH, _post_export, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def driver(office_a):
    return make_driver(office_a, number=14, first="Tone", last="Aas")


def _history(driver, *, km="20.0", trips=10):
    """A month of ordinary trips the month before."""
    return make_log(
        driver,
        start=dt.date(2026, 4, 1),
        end=dt.date(2026, 4, 30),
        status="exported",
        trips=[{"date": dt.date(2026, 4, 1 + i), "km": km} for i in range(trips)],
    )


def test_long_trips_and_large_outlays_are_flagged(driver):
    log = make_log(
        driver,
        trips=[
            {"date": may(4), "km": "1200.0"},
            {"date": may(5), "km": "999.9"},
            {"date": may(6), "km": "12.0", "ferry": "2400.00"},
            {"date": may(7), "km": "30.0", "toll": "2000.00"},
        ],
    )
    unusual = trips_unusual(log_ids=[log.pk])
    assert [(u.trip.km, u.reasons) for u in unusual] == [
        (Decimal("1200.0"), ["Lang tur: 1 200 km."]),
        (Decimal("12.0"), ["Ferje 2 400,00 kr."]),
    ]


def test_far_above_the_drivers_usual_is_flagged(driver, office_a):
    _history(driver)
    log = make_log(
        driver,
        trips=[{"date": may(4), "km": "350.0"}, {"date": may(5), "km": "60.0"}],
    )
    unusual = trips_unusual(log_ids=[log.pk])
    assert len(unusual) == 1
    assert unusual[0].trip.km == Decimal("350.0")
    assert unusual[0].reasons == [
        "350 km er mer enn 5 ganger sjåførens vanlige tur (snitt 20 km det siste året)."
    ]

    # The same trip is ordinary for a driver who often drives that far, and for one with no
    # history to compare with.
    long_haul = make_driver(office_a, number=15, first="Rune", last="Moe")
    _history(long_haul, km="180.0")
    newcomer = make_driver(office_a, number=16, first="Nils", last="Bakken")
    logs = [
        make_log(long_haul, trips=[{"date": may(4), "km": "350.0"}]),
        make_log(newcomer, trips=[{"date": may(4), "km": "350.0"}]),
    ]
    assert trips_unusual(log_ids=[log.pk for log in logs]) == []


def test_unusual_trips_take_two_queries_whatever_their_number(driver, django_assert_num_queries):
    _history(driver)
    log = make_log(driver, trips=[{"date": may(d), "km": "400.0"} for d in range(1, 21)])
    with django_assert_num_queries(2):
        assert len(trips_unusual(log_ids=[log.pk])) == 20


def test_the_export_shows_unusual_trips_before_sending(client, payroll_world, payroll_a):
    driver = make_driver(payroll_world.office, number=4, first="Per", last="Olsen")
    log = make_log(
        driver,
        trips=[{"date": may(4), "km": "1234.5"}, {"date": may(5), "km": "10.0"}],
    )
    client.force_login(payroll_a)
    search = text(client.get(SEARCH.format(sg=payroll_world.subgroup.pk)))
    assert "Uvanlige turer – sjekk før eksport" in search
    assert "Lang tur: 1 234,5 km." in search
    assert 'href="#uvanlige-turer">1 uvanlig</a>' in search

    preview = _post_export(client, payroll_world, [log], action="preview")
    assert preview.status_code == 200
    page = text(preview)
    assert "Uvanlige turer – sjekk før eksport" in page and "Lang tur: 1 234,5 km." in page
    # A warning, not a stop: the export button is there.
    assert 'value="export"' in page
