"""Lønn > Kjørebøker: delivering, approving and taking back a log; exported logs are read-only."""

from decimal import Decimal

from payroll.models import DrivingLog, DrivingLogStatus
from tests.factories import DrivingLogFactory
from tests.payroll.drivinglogs.test_pages import _login, _trip_post


def test_driver_delivers_and_payroll_approves(client, user_a, payroll_a, log_user):
    url = f"/lonn/kjoreboker/{log_user.pk}/status/"
    _login(client, user_a)
    page = client.get(f"/lonn/kjoreboker/{log_user.pk}/")
    assert page.context["actions"] == [("submitted", "Lever kjøreboken")]
    client.post(url, {"status": "submitted"})
    log_user.refresh_from_db()
    assert log_user.status == DrivingLogStatus.SUBMITTED

    # Delivered: the driver can no longer change trips, and cannot approve.
    trip = log_user.trips.get()
    response = client.post(f"/lonn/kjoreboker/{log_user.pk}/turer/{trip.pk}/", _trip_post())
    assert response.status_code == 302
    trip.refresh_from_db()
    assert trip.km == Decimal("42.0")
    assert client.post(url, {"status": "approved"}).status_code == 403
    log_user.refresh_from_db()
    assert log_user.status == DrivingLogStatus.SUBMITTED

    _login(client, payroll_a)
    page = client.get(f"/lonn/kjoreboker/{log_user.pk}/")
    assert ("approved", "Godkjenn") in page.context["actions"]
    client.post(url, {"status": "approved"})
    log_user.refresh_from_db()
    assert log_user.status == DrivingLogStatus.APPROVED


def test_driver_takes_back_a_delivered_log(client, user_a, log_user):
    _login(client, user_a)
    url = f"/lonn/kjoreboker/{log_user.pk}/status/"
    client.post(url, {"status": "submitted"})
    client.post(url, {"status": "draft"})
    log_user.refresh_from_db()
    assert log_user.status == DrivingLogStatus.DRAFT


def test_an_empty_log_cannot_be_delivered(client, user_a):
    log = DrivingLogFactory(driver=user_a, status=DrivingLogStatus.DRAFT)
    _login(client, user_a)
    response = client.post(
        f"/lonn/kjoreboker/{log.pk}/status/", {"status": "submitted"}, follow=True
    )
    assert "Legg inn minst én tur før kjøreboken leveres" in response.content.decode()
    log.refresh_from_db()
    assert log.status == DrivingLogStatus.DRAFT


def test_skipping_a_step_is_refused(client, payroll_a, log_user):
    _login(client, payroll_a)
    response = client.post(
        f"/lonn/kjoreboker/{log_user.pk}/status/", {"status": "approved"}, follow=True
    )
    assert "kan ikke gå fra «Under arbeid» til «Godkjent»" in response.content.decode()
    log_user.refresh_from_db()
    assert log_user.status == DrivingLogStatus.DRAFT


def test_exported_log_is_read_only(client, payroll_a, log_user):
    DrivingLog.objects.filter(pk=log_user.pk).update(status=DrivingLogStatus.EXPORTED)
    trip = log_user.trips.get()
    _login(client, payroll_a)
    page = client.get(f"/lonn/kjoreboker/{log_user.pk}/")
    assert page.context["can_edit"] is False
    assert page.context["actions"] == []
    assert "eksportert til lønn og kan ikke endres" in page.content.decode()
    for url in [
        f"/lonn/kjoreboker/{log_user.pk}/turer/ny/",
        f"/lonn/kjoreboker/{log_user.pk}/turer/{trip.pk}/",
    ]:
        response = client.post(url, _trip_post())
        assert response.status_code == 302
    client.post(f"/lonn/kjoreboker/{log_user.pk}/turer/{trip.pk}/slett/")
    client.post(f"/lonn/kjoreboker/{log_user.pk}/status/", {"status": "submitted"})
    log_user.refresh_from_db()
    assert log_user.status == DrivingLogStatus.EXPORTED
    assert list(log_user.trips.values_list("km", flat=True)) == [Decimal("42.0")]
