"""Lønnseksport "Søk" renders one row per logbook, whatever the number of trips; each
logbook's trips are fetched on demand ("Vis turer")."""

import datetime as dt
from decimal import Decimal

import pytest

from bitnet.models import Role, User
from payroll.models import DrivingLog, Trip
from tests.fixtures.payroll import make_driver, make_log, may
from tests.poweroffice.salary.test_pages import SEARCH

pytestmark = pytest.mark.django_db


def _add_trips(logs, count: int) -> None:
    Trip.objects.bulk_create(
        Trip(
            log=log,
            date=may(1 + i % 28),
            from_place="Majorstuen",
            to_place="Ullevål sykehus",
            purpose="Henting av avdøde",
            km=Decimal("12.5"),
            toll=Decimal("44.00"),
        )
        for log in logs
        for i in range(count)
    )


def test_search_html_does_not_grow_with_trips(client, payroll_world, payroll_a, admin_b):
    drivers = [
        make_driver(payroll_world.office, number=n, first="Sjåfør", last=f"Nr{n}")
        for n in range(1, 6)
    ]
    logs = [make_log(driver) for driver in drivers]
    _add_trips(logs, 1)
    client.force_login(payroll_a)
    url = SEARCH.format(sg=payroll_world.subgroup.pk)
    few = client.get(url).content.decode()
    _add_trips(logs, 39)
    many = client.get(url).content.decode()

    assert "Ullevål sykehus" not in many  # no trip is rendered until asked for
    # Only the sums' digits differ (a few characters per logbook), not one row per trip.
    assert abs(len(many.encode()) - len(few.encode())) < 250
    assert many.count('class="trips-toggle"') == 5

    # "Vis turer": one logbook's trips, fetched on demand.
    log = logs[0]
    assert f'data-trips="/lonn/lonnseksport/ny/kjorebok/{log.pk}/turer/"' in many
    trips = client.get(f"/lonn/lonnseksport/ny/kjorebok/{log.pk}/turer/")
    assert trips.status_code == 200
    assert trips.content.decode().count("Ullevål sykehus") == 40

    # Another agency's logbook does not exist; a plain user may not look.
    client.force_login(admin_b)
    assert client.get(f"/lonn/lonnseksport/ny/kjorebok/{log.pk}/turer/").status_code == 404
    client.force_login(drivers[0])
    assert client.get(f"/lonn/lonnseksport/ny/kjorebok/{log.pk}/turer/").status_code == 403


def test_search_of_300_drivers_stays_small(client, po, payroll_world, payroll_a):
    for number in range(11, 301):  # the sandbox seeds employees 1-10
        po.hook(
            "POST",
            f"clients/{payroll_world.client_key}/data/employees",
            json={"Number": number, "FirstName": "Sjåfør", "LastName": str(number)},
        )
    users = User.objects.bulk_create(
        User(
            username=f"sjafor-{n}",
            agency=payroll_world.subgroup.agency,
            office=payroll_world.office,
            role=Role.USER,
            first_name="Sjåfør",
            last_name=f"Nummer {n}",
            employee_number=n,
        )
        for n in range(1, 301)
    )
    logs = DrivingLog.objects.bulk_create(
        DrivingLog(
            agency=payroll_world.subgroup.agency,
            driver=user,
            period_start=dt.date(2026, 5, 1),
            period_end=dt.date(2026, 5, 31),
            status="approved",
        )
        for user in users
    )
    _add_trips(logs, 22)
    client.force_login(payroll_a)
    response = client.get(SEARCH.format(sg=payroll_world.subgroup.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<tr data-log=") == 300
    assert 'id="problems"' not in html
    assert len(response.content) < 300_000, len(response.content)
