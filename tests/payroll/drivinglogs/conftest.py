"""Driving logs used by the pages' tests: the plain user's own, another user's, another agency's."""

import datetime as dt
from decimal import Decimal

import pytest

from payroll.models import DrivingLogStatus
from tests.factories import DrivingLogFactory, TripFactory


@pytest.fixture
def log_user(user_a):
    """The plain user's own log, "Under arbeid", with one trip."""
    log = DrivingLogFactory(driver=user_a, status=DrivingLogStatus.DRAFT)
    TripFactory(log=log, date=dt.date(2026, 5, 4), km=Decimal("42.0"), toll=Decimal("45.00"))
    return log


@pytest.fixture
def log_payroll(payroll_a):
    """Another user's log in the same agency, "Levert"."""
    log = DrivingLogFactory(driver=payroll_a, status=DrivingLogStatus.SUBMITTED)
    TripFactory(log=log, date=dt.date(2026, 5, 6), km=Decimal("10.0"))
    return log


@pytest.fixture
def log_b(admin_b):
    log = DrivingLogFactory(driver=admin_b, status=DrivingLogStatus.DRAFT)
    TripFactory(log=log)
    return log
