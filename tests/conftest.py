"""Shared fixtures: named personas for permission and isolation tests.

Personas: ``admin_a`` (administrator of agency A), ``finance_a`` (økonomi in A),
``payroll_a`` (lønn in A), ``user_a`` (plain user in A) and ``admin_b`` (administrator of B).
"""

import os
from pathlib import Path

import pytest

from bitnet.models import Role
from tests.factories import AgencyFactory, OfficeFactory, SubgroupFactory, UserFactory

pytest_plugins = [
    "tests.fixtures.accounting",
    "tests.fixtures.admin",
    "tests.fixtures.sandbox",
    "tests.fixtures.browser",
    "tests.fixtures.export",
    "tests.fixtures.payments",
    "tests.fixtures.payroll",
    "tests.fixtures.validation",
]


def pytest_configure(config):
    """In CI nothing may be skipped for want of a real part: PostgreSQL, Redis, Chromium."""
    if not os.environ.get("CI"):
        return
    missing = []
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        missing.append("DATABASE_URL (PostgreSQL)")
    if not os.environ.get("REDIS_URL"):
        missing.append("REDIS_URL")
    if not Path("/usr/bin/chromium").exists():
        missing.append("/usr/bin/chromium")
    if missing:
        raise pytest.UsageError("CI needs the real services: " + ", ".join(missing))


@pytest.fixture
def agency_a(db):
    return AgencyFactory(name="Hansen Begravelsesbyrå AS")


@pytest.fixture
def agency_b(db):
    return AgencyFactory(name="Fjordheim Gravferd AS")


@pytest.fixture
def subgroup_a(agency_a):
    return SubgroupFactory(agency=agency_a, name="Hansen Oslo")


@pytest.fixture
def office_a(subgroup_a):
    return OfficeFactory(subgroup=subgroup_a, agency=subgroup_a.agency, name="Majorstuen")


def _persona(agency, username, role, office=None):
    return UserFactory(
        agency=agency, username=username, role=role, office=office, first_name=username.title()
    )


@pytest.fixture
def admin_a(agency_a, office_a):
    return _persona(agency_a, "admin_a", Role.ADMINISTRATOR, office_a)


@pytest.fixture
def finance_a(agency_a, office_a):
    return _persona(agency_a, "finance_a", Role.FINANCE, office_a)


@pytest.fixture
def payroll_a(agency_a, office_a):
    return _persona(agency_a, "payroll_a", Role.PAYROLL, office_a)


@pytest.fixture
def user_a(agency_a, office_a):
    return _persona(agency_a, "user_a", Role.USER, office_a)


@pytest.fixture
def admin_b(agency_b):
    return _persona(agency_b, "admin_b", Role.ADMINISTRATOR)


@pytest.fixture
def personas(admin_a, finance_a, payroll_a, user_a, admin_b):
    return {
        "admin_a": admin_a,
        "finance_a": finance_a,
        "payroll_a": payroll_a,
        "user_a": user_a,
        "admin_b": admin_b,
    }
