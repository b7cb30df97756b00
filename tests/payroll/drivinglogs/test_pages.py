"""Lønn > Kjørebøker: every user keeps their own driving logs, payroll staff and administrators
see and edit all of the agency's; trips, amounts at the year's MileageRate, status."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bitnet.models import Role
from payroll.drivinglogs import selectors, services
from payroll.models import DrivingLog, DrivingLogStatus, MileageRate, Trip
from tests.factories import DrivingLogFactory, TripFactory, UserFactory

MAY_START, MAY_END = dt.date(2026, 5, 1), dt.date(2026, 5, 31)


def _login(client, user):
    client.force_login(user)
    return client


def _trip_post(**values):
    data = {
        "date": "2026-05-12",
        "from_place": "Majorstuen",
        "to_place": "Vestre krematorium",
        "purpose": "Transport av avdøde",
        "km": "18,4",
        "passengers": "1",
        "toll": "",
        "parking": "40",
        "ferry": "",
    }
    data.update(values)
    return data


# Access


@pytest.mark.parametrize("persona", ["admin_a", "finance_a", "payroll_a", "user_a"])
def test_pages_render_for_every_user_of_the_agency(client, personas, persona):
    user = personas[persona]
    log = DrivingLogFactory(driver=user, status=DrivingLogStatus.DRAFT)
    trip = TripFactory(log=log)
    _login(client, user)
    for url in [
        "/lonn/kjoreboker/",
        "/lonn/kjoreboker/ny/",
        f"/lonn/kjoreboker/{log.pk}/",
        f"/lonn/kjoreboker/{log.pk}/turer/ny/",
        f"/lonn/kjoreboker/{log.pk}/turer/{trip.pk}/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url


def test_anonymous_is_sent_to_login(client, log_user):
    for url in ["/lonn/kjoreboker/", f"/lonn/kjoreboker/{log_user.pk}/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/logg-inn/")


def test_plain_user_sees_only_own_logs(client, user_a, log_user, log_payroll):
    _login(client, user_a)
    response = client.get("/lonn/kjoreboker/")
    assert list(response.context["page_obj"]) == [log_user]
    assert "driver" not in response.context["form"].fields
    # Someone else's log does not exist for a plain user: 404 everywhere, nothing changes.
    trip = log_payroll.trips.get()
    for url in [
        f"/lonn/kjoreboker/{log_payroll.pk}/",
        f"/lonn/kjoreboker/{log_payroll.pk}/turer/ny/",
        f"/lonn/kjoreboker/{log_payroll.pk}/turer/{trip.pk}/",
    ]:
        assert client.get(url).status_code == 404, url
    response = client.post(f"/lonn/kjoreboker/{log_payroll.pk}/turer/ny/", _trip_post())
    assert response.status_code == 404
    assert (
        client.post(f"/lonn/kjoreboker/{log_payroll.pk}/turer/{trip.pk}/slett/").status_code == 404
    )
    assert (
        client.post(f"/lonn/kjoreboker/{log_payroll.pk}/status/", {"status": "draft"}).status_code
        == 404
    )
    assert log_payroll.trips.count() == 1
    log_payroll.refresh_from_db()
    assert log_payroll.status == DrivingLogStatus.SUBMITTED


def test_finance_user_is_a_plain_driver_here(client, finance_a, log_user, log_payroll):
    own = DrivingLogFactory(driver=finance_a)
    _login(client, finance_a)
    assert list(client.get("/lonn/kjoreboker/").context["page_obj"]) == [own]
    assert client.get(f"/lonn/kjoreboker/{log_user.pk}/").status_code == 404


@pytest.mark.parametrize("persona", ["payroll_a", "admin_a"])
def test_payroll_and_admin_see_all_of_the_agency(
    client, personas, persona, log_user, log_payroll, log_b
):
    _login(client, personas[persona])
    response = client.get("/lonn/kjoreboker/")
    assert set(response.context["page_obj"]) == {log_user, log_payroll}
    assert client.get(f"/lonn/kjoreboker/{log_user.pk}/").status_code == 200
    filtered = client.get(f"/lonn/kjoreboker/?driver={log_user.driver_id}")
    assert list(filtered.context["page_obj"]) == [log_user]


def test_another_agencys_log_is_404(client, admin_b, log_user, log_b):
    _login(client, admin_b)
    trip = log_user.trips.get()
    for url in [
        f"/lonn/kjoreboker/{log_user.pk}/",
        f"/lonn/kjoreboker/{log_user.pk}/turer/ny/",
        f"/lonn/kjoreboker/{log_user.pk}/turer/{trip.pk}/",
    ]:
        assert client.get(url).status_code == 404, url
    assert client.post(f"/lonn/kjoreboker/{log_user.pk}/turer/{trip.pk}/slett/").status_code == 404
    assert list(client.get("/lonn/kjoreboker/").context["page_obj"]) == [log_b]
    # A driver of agency A cannot be chosen by B's administrator.
    response = client.post(
        "/lonn/kjoreboker/ny/",
        {"driver": log_user.driver_id, "period_start": "2026-06-01", "period_end": "2026-06-30"},
    )
    assert "driver" in response.context["form"].errors
    assert not DrivingLog.objects.filter(period_start=dt.date(2026, 6, 1)).exists()


def test_trip_of_another_log_is_404(client, payroll_a, log_user, log_payroll):
    _login(client, payroll_a)
    other_trip = log_payroll.trips.get()
    assert client.get(f"/lonn/kjoreboker/{log_user.pk}/turer/{other_trip.pk}/").status_code == 404


# New log


def test_user_creates_own_log_whatever_driver_is_posted(client, user_a, payroll_a):
    _login(client, user_a)
    page = client.get("/lonn/kjoreboker/ny/")
    assert "driver" not in page.context["form"].fields
    response = client.post(
        "/lonn/kjoreboker/ny/",
        {
            "driver": payroll_a.pk,
            "period_start": "2026-06-01",
            "period_end": "2026-06-30",
            "vehicle": "el 12345",
        },
    )
    log = DrivingLog.objects.get()
    assert response["Location"] == f"/lonn/kjoreboker/{log.pk}/"
    assert log.driver == user_a
    assert log.agency == user_a.agency
    assert log.status == DrivingLogStatus.DRAFT
    assert log.vehicle == "EL 12345"


def test_payroll_creates_a_log_for_any_user_of_the_agency(client, payroll_a, user_a, admin_b):
    _login(client, payroll_a)
    drivers = client.get("/lonn/kjoreboker/ny/").context["form"].fields["driver"].queryset
    assert user_a in drivers and admin_b not in drivers
    client.post(
        "/lonn/kjoreboker/ny/",
        {"driver": user_a.pk, "period_start": "2026-06-01", "period_end": "2026-06-30"},
    )
    assert DrivingLog.objects.get().driver == user_a


def test_from_date_after_to_date_is_refused(client, user_a):
    _login(client, user_a)
    response = client.post(
        "/lonn/kjoreboker/ny/", {"period_start": "2026-06-30", "period_end": "2026-06-01"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["period_start"] == [
        "Fra dato kan ikke være etter til dato."
    ]
    assert "Fra dato kan ikke være etter til dato" in response.content.decode()
    assert not DrivingLog.objects.exists()


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-05-01", "2026-05-31"), ("2026-05-15", "2026-06-15"), ("2026-04-20", "2026-05-01")],
)
def test_overlapping_period_for_same_driver_is_refused(client, user_a, log_user, start, end):
    _login(client, user_a)
    response = client.post("/lonn/kjoreboker/ny/", {"period_start": start, "period_end": end})
    assert response.status_code == 200
    errors = response.context["form"].errors["period_start"]
    assert any("har allerede en kjørebok for perioden 01.05.2026–31.05.2026" in e for e in errors)
    assert DrivingLog.objects.count() == 1


def test_same_period_for_another_driver_is_fine(client, payroll_a, user_a, log_user):
    _login(client, payroll_a)
    client.post(
        "/lonn/kjoreboker/ny/",
        {"driver": payroll_a.pk, "period_start": "2026-05-01", "period_end": "2026-05-31"},
    )
    assert DrivingLog.objects.filter(driver=payroll_a).count() == 1


# Trips


def test_add_edit_and_delete_a_trip(client, user_a, log_user):
    _login(client, user_a)
    response = client.post(f"/lonn/kjoreboker/{log_user.pk}/turer/ny/", _trip_post())
    assert response["Location"] == f"/lonn/kjoreboker/{log_user.pk}/"
    trip = log_user.trips.get(date=dt.date(2026, 5, 12))
    assert (trip.km, trip.passengers, trip.parking, trip.toll) == (
        Decimal("18.4"),
        1,
        Decimal("40.00"),
        Decimal("0.00"),
    )

    response = client.post(
        f"/lonn/kjoreboker/{log_user.pk}/turer/{trip.pk}/",
        _trip_post(km="20", trailer="on", forest_road="on", ferry="125,50"),
    )
    assert response.status_code == 302
    trip.refresh_from_db()
    assert (trip.km, trip.trailer, trip.forest_road, trip.ferry) == (
        Decimal("20.0"),
        True,
        True,
        Decimal("125.50"),
    )

    # "Lagre og legg til ny" comes back to the form with the same date.
    response = client.post(
        f"/lonn/kjoreboker/{log_user.pk}/turer/ny/", _trip_post(another="1", date="2026-05-13")
    )
    assert response["Location"] == f"/lonn/kjoreboker/{log_user.pk}/turer/ny/?dato=2026-05-13"

    assert client.get(f"/lonn/kjoreboker/{log_user.pk}/turer/{trip.pk}/slett/").status_code == 405
    response = client.post(f"/lonn/kjoreboker/{log_user.pk}/turer/{trip.pk}/slett/")
    assert response.status_code == 302
    assert not Trip.objects.filter(pk=trip.pk).exists()
    assert log_user.trips.count() == 2


BAD_TRIP = [
    ("date before period", {"date": "2026-04-30"}, "date",
     "Datoen må ligge i kjørebokens periode (01.05.2026–31.05.2026)."),
    ("date after period", {"date": "2026-06-01"}, "date", "Datoen må ligge i kjørebokens periode"),
    ("km zero", {"km": "0"}, "km", "Antall km må være større enn 0."),
    ("km negative", {"km": "-5"}, "km", "Antall km må være større enn 0."),
    ("km not a number", {"km": "langt"}, "km", "Skriv et tall"),
    ("passengers negative", {"passengers": "-1"}, "passengers",
     "Antall passasjerer kan ikke være negativt."),
    ("toll negative", {"toll": "-10"}, "toll", "Beløpet kan ikke være negativt."),
    ("parking negative", {"parking": "-1,50"}, "parking", "Beløpet kan ikke være negativt."),
    ("ferry negative", {"ferry": "-99"}, "ferry", "Beløpet kan ikke være negativt."),
    ("from missing", {"from_place": ""}, "from_place", "påkrevet"),
    ("km absurd", {"km": "999999"}, "km", "En tur kan ikke være lengre enn 2\xa0500 km."),
    ("km too many digits", {"km": "123456789"}, "km", "Tallet er for stort"),
    ("passengers a bus", {"passengers": "60"}, "passengers",
     "En tur kan ha høyst 8 passasjerer"),
    ("toll absurd", {"toll": "20000"}, "toll", "Beløpet kan ikke være over 10\xa0000 kr per tur."),
    ("parking absurd", {"parking": "10000,01"}, "parking",
     "Beløpet kan ikke være over 10\xa0000 kr"),
    ("ferry absurd", {"ferry": "99999"}, "ferry", "Beløpet kan ikke være over 10\xa0000 kr"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "values", "field", "message"), BAD_TRIP, ids=[c[0] for c in BAD_TRIP]
)
def test_bad_trip_input(client, user_a, log_user, case, values, field, message):
    _login(client, user_a)
    response = client.post(f"/lonn/kjoreboker/{log_user.pk}/turer/ny/", _trip_post(**values))
    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert any(message in e for e in errors), errors
    assert message in response.content.decode()
    assert log_user.trips.count() == 1

    # The same input on an existing trip changes nothing either.
    trip = log_user.trips.get()
    before = Trip.objects.filter(pk=trip.pk).values().get()
    response = client.post(f"/lonn/kjoreboker/{log_user.pk}/turer/{trip.pk}/", _trip_post(**values))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert Trip.objects.filter(pk=trip.pk).values().get() == before


def test_services_refuse_bad_trips_too(log_user):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as excinfo:
        services.trip_create(
            log=log_user,
            date=dt.date(2026, 6, 2),
            from_place="A",
            to_place="B",
            purpose="C",
            km=Decimal("0"),
        )
    assert set(excinfo.value.message_dict) == {"date", "km"}
    assert log_user.trips.count() == 1


def test_services_refuse_impossible_trips(log_user):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as excinfo:
        services.trip_create(
            log=log_user,
            date=dt.date(2026, 5, 2),
            from_place="Oslo",
            to_place="Oslo",
            purpose="Tastefeil",
            km=Decimal("999999"),
            passengers=60,
            ferry=Decimal("50000"),
        )
    messages = excinfo.value.message_dict
    assert messages["km"] == [
        "En tur kan ikke være lengre enn 2\xa0500 km. Sjekk tallet, eller del en lang reise opp i "
        "flere turer."
    ]
    assert messages["passengers"] == [
        "En tur kan ha høyst 8 passasjerer (så mange en personbil har plass til)."
    ]
    assert messages["ferry"] == ["Beløpet kan ikke være over 10\xa0000 kr per tur. Sjekk tallet."]
    trip = log_user.trips.get()
    with pytest.raises(ValidationError):
        services.trip_update(trip=trip, km=Decimal("2500.1"))
    # The limits themselves are allowed.
    services.trip_update(trip=trip, km=Decimal("2500"), passengers=8, toll=Decimal("10000"))


@pytest.mark.parametrize(
    "values",
    [{"km": Decimal("999999")}, {"passengers": 60}, {"toll": Decimal("10000.01")}],
    ids=["km", "passengers", "toll"],
)
def test_database_refuses_impossible_trips(log_user, values):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Trip.objects.create(
            log=log_user,
            date=dt.date(2026, 5, 2),
            from_place="A",
            to_place="B",
            purpose="C",
            **{"km": Decimal("10"), **values},
        )


# Amounts


def test_amounts_use_the_rate_of_the_trips_year(client, payroll_a, user_a):
    assert MileageRate.objects.get(year=2026).rate_per_km == Decimal("5.30")
    log = DrivingLogFactory(
        driver=user_a,
        period_start=dt.date(2025, 12, 1),
        period_end=dt.date(2026, 1, 31),
        status=DrivingLogStatus.DRAFT,
    )
    TripFactory(log=log, date=dt.date(2025, 12, 30), km=Decimal("100.0"))
    TripFactory(
        log=log,
        date=dt.date(2026, 1, 5),
        km=Decimal("100.0"),
        passengers=2,
        trailer=True,
        toll=Decimal("57.00"),
        parking=Decimal("30.00"),
        ferry=Decimal("112.00"),
    )
    TripFactory(log=log, date=dt.date(2026, 1, 6), km=Decimal("12.3"), forest_road=True)
    _login(client, payroll_a)
    response = client.get(f"/lonn/kjoreboker/{log.pk}/")
    detail = response.context["detail"]
    rows = [(r.mileage, r.passenger, r.supplements, r.expenses, r.total) for r in detail.trips]
    assert rows == [
        (Decimal("500.00"), Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), Decimal("500.00")),
        (Decimal("530.00"), Decimal("200.00"), Decimal("100.00"), Decimal("199.00"),
         Decimal("1029.00")),
        (Decimal("65.19"), Decimal("0.00"), Decimal("12.30"), Decimal("0.00"), Decimal("77.49")),
    ]  # fmt: skip
    totals = detail.totals
    assert totals.km == Decimal("212.3")
    assert totals.mileage == Decimal("1095.19")
    assert totals.passenger == Decimal("200.00")
    assert totals.supplements == Decimal("112.30")
    assert totals.expenses == Decimal("199.00")
    assert totals.total == Decimal("1606.49")
    html = response.content.decode()
    assert "1\xa0606,49" in html
    assert "2025: 5,00 kr/km" in html and "2026: 5,30 kr/km" in html


def test_missing_rate_is_shown_not_guessed(client, user_a):
    log = DrivingLogFactory(
        driver=user_a,
        period_start=dt.date(2031, 1, 1),
        period_end=dt.date(2031, 1, 31),
        status=DrivingLogStatus.DRAFT,
    )
    TripFactory(log=log, date=dt.date(2031, 1, 2), km=Decimal("10.0"), toll=Decimal("20.00"))
    _login(client, user_a)
    response = client.get(f"/lonn/kjoreboker/{log.pk}/")
    assert response.context["detail"].totals.missing_years == [2031]
    assert "Det finnes ingen kilometersats for 2031" in response.content.decode()


def test_totals_round_once_per_year_like_the_export(db):
    rate = MileageRate.objects.get(year=2026)
    rate.rate_per_km = Decimal("5.35")
    rate.save()
    log = DrivingLogFactory(status=DrivingLogStatus.DRAFT)
    for _ in range(3):
        TripFactory(log=log, date=dt.date(2026, 5, 2), km=Decimal("10.1"))
    detail = selectors.drivinglog_detail(log=log)
    assert [r.mileage for r in detail.trips] == [Decimal("54.04")] * 3  # 54.035 each
    assert detail.totals.mileage == Decimal("162.11")  # 30.3 × 5.35 = 162.105, rounded once


# List


def test_list_sums_come_from_the_database(client, payroll_a, user_a, log_user, log_payroll):
    TripFactory(
        log=log_user,
        date=dt.date(2026, 5, 20),
        km=Decimal("8.5"),
        parking=Decimal("30.00"),
        ferry=Decimal("80.00"),
    )
    _login(client, payroll_a)
    response = client.get("/lonn/kjoreboker/")
    rows = {log.pk: log for log in response.context["page_obj"]}
    row = rows[log_user.pk]
    assert (row.trip_count, row.km_total, row.toll_total, row.parking_total, row.ferry_total) == (
        2,
        Decimal("50.5"),
        Decimal("45.00"),
        Decimal("30.00"),
        Decimal("80.00"),
    )
    totals = response.context["totals"]
    assert (totals["trip_count"], totals["km"]) == (3, Decimal("60.5"))


def test_list_filters(client, payroll_a, user_a, log_user, log_payroll):
    june = DrivingLogFactory(
        driver=user_a,
        period_start=dt.date(2026, 6, 1),
        period_end=dt.date(2026, 6, 30),
        status=DrivingLogStatus.APPROVED,
    )
    _login(client, payroll_a)

    def listed(query):
        return set(client.get(f"/lonn/kjoreboker/{query}").context["page_obj"])

    assert listed("?status=submitted") == {log_payroll}
    assert listed("?status=approved") == {june}
    assert listed(f"?driver={user_a.pk}") == {log_user, june}
    assert listed("?date_from=2026-06-10&date_to=2026-06-12") == {june}
    assert listed("?date_from=2026-05-31") == {log_user, log_payroll, june}
    response = client.get("/lonn/kjoreboker/?date_from=2026-07-01&date_to=2026-06-01")
    assert "Fra dato kan ikke være etter til dato" in response.content.decode()
    assert set(response.context["page_obj"]) == {log_user, log_payroll, june}


def test_list_query_count_does_not_grow_with_logs(
    client, payroll_a, agency_a, django_assert_max_num_queries
):
    _login(client, payroll_a)

    def make(n, offset):
        for i in range(n):
            driver = UserFactory(agency=agency_a, username=f"driver{offset + i}", role=Role.USER)
            log = DrivingLogFactory(driver=driver)
            TripFactory(log=log)
            TripFactory(log=log, toll=Decimal("10"))

    make(2, 0)
    with CaptureQueriesContext(connection) as few:
        client.get("/lonn/kjoreboker/")
    make(25, 100)
    with CaptureQueriesContext(connection) as full:
        response = client.get("/lonn/kjoreboker/")
    assert len(response.context["page_obj"]) == 25
    assert len(full) == len(few)
    with django_assert_max_num_queries(12):
        client.get("/lonn/kjoreboker/?status=submitted&page=2")


# Status
