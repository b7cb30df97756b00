"""Salary line amounts: grouping per employee, pay item and year, exact in Decimal, summed by the
database (SPEC Part B, 5). No PowerOffice needed: the mappings are set directly."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from payroll.models import MileageRate, ReimbursementKind, WageCodeMapping
from payroll.reimbursements import drivinglog_summaries
from poweroffice.salary.create import external_import_reference
from poweroffice.salary.selectors import salary_lines_compute, wage_code_mappings
from tests.fixtures.payroll import WAGE_CODES, make_driver, make_log, may

pytestmark = pytest.mark.django_db

K = ReimbursementKind


@pytest.fixture
def mapped(subgroup_a):
    for kind, code in {**WAGE_CODES, K.FOREST_ROAD: "7103"}.items():
        WageCodeMapping.objects.create(
            subgroup=subgroup_a, kind=kind, pay_item_code=code, pay_item_id=f"id-{code}"
        )
    return wage_code_mappings(subgroup=subgroup_a)


def _lines(log_ids, mappings):
    result = salary_lines_compute(log_ids=log_ids, mappings=mappings)
    return {(line.employee_number, line.code, line.year): line for line in result.lines}, result


def test_one_month_every_kind_exact(office_a, mapped):
    kari = make_driver(office_a, number=4, first="Kari", last="Berg")
    log = make_log(
        kari,
        trips=[
            {"date": may(2), "km": "42.0", "passengers": 2, "toll": "44.00"},
            {"date": may(9), "km": "10.5", "passengers": 1, "parking": "45.00"},
            {"date": may(20), "km": "33.3", "trailer": True, "ferry": "132.50", "toll": "27.50"},
            {"date": may(31), "km": "7.7", "forest_road": True},
        ],
    )
    lines, result = _lines([log.pk], mapped)

    mileage = lines[(4, "7100", 2026)]
    # 42.0 + 10.5 + 33.3 + 7.7 = 93.5 km at 5.30 (2026)
    assert (mileage.quantity, mileage.rate, mileage.amount) == (
        Decimal("93.5"),
        Decimal("5.30"),
        Decimal("495.55"),
    )
    assert mileage.comment == "Kjøring 02.05–31.05.2026, 4 turer"
    passenger = lines[(4, "7101", 2026)]
    # 2 × 42.0 + 1 × 10.5 = 94.5 passenger-km at 1.00
    assert (passenger.quantity, passenger.rate, passenger.amount) == (
        Decimal("94.5"),
        Decimal("1.00"),
        Decimal("94.50"),
    )
    assert passenger.comment == "Passasjertillegg 02.05–09.05.2026, 2 turer"
    trailer = lines[(4, "7102", 2026)]
    assert (trailer.quantity, trailer.rate, trailer.amount) == (
        Decimal("33.3"),
        Decimal("1.00"),
        Decimal("33.30"),
    )
    forest = lines[(4, "7103", 2026)]
    assert (forest.quantity, forest.amount) == (Decimal("7.7"), Decimal("7.70"))
    assert forest.comment == "Skogs-/anleggsvei 31.05.2026, 1 tur"
    toll = lines[(4, "7140", 2026)]
    # Expenses: quantity 1, rate = amount.
    assert (toll.quantity, toll.rate, toll.amount) == (
        Decimal("1"),
        Decimal("71.50"),
        Decimal("71.50"),
    )
    assert toll.comment == "Bompenger 02.05–20.05.2026, 2 turer"
    assert lines[(4, "7141", 2026)].amount == Decimal("45.00")
    assert lines[(4, "7142", 2026)].amount == Decimal("132.50")
    assert len(lines) == 7
    assert result.amount_total == Decimal("880.05")
    assert all(isinstance(line.amount, Decimal) for line in result.lines)
    assert not result.unmapped


def test_range_over_new_year_splits_by_year_with_each_years_rate(office_a, mapped):
    ola = make_driver(office_a, number=5, first="Ola", last="Dahl")
    december = make_log(
        ola,
        start=dt.date(2025, 12, 1),
        end=dt.date(2025, 12, 31),
        trips=[
            {"date": dt.date(2025, 12, 30), "km": "100.0", "passengers": 1},
            {"date": dt.date(2025, 12, 31), "km": "20.4"},
        ],
    )
    january = make_log(
        ola,
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 1, 31),
        trips=[{"date": dt.date(2026, 1, 2), "km": "100.0", "passengers": 1}],
    )
    lines, _ = _lines([december.pk, january.pk], mapped)
    assert lines[(5, "7100", 2025)].rate == Decimal("5.00")
    assert lines[(5, "7100", 2025)].amount == Decimal("602.00")  # 120.4 × 5.00
    assert lines[(5, "7100", 2026)].rate == Decimal("5.30")
    assert lines[(5, "7100", 2026)].amount == Decimal("530.00")
    assert lines[(5, "7101", 2025)].amount == Decimal("100.00")
    assert lines[(5, "7101", 2026)].amount == Decimal("100.00")
    # One reference per employee, pay item and year.
    refs = {external_import_reference(export_id=7, line=line) for line in lines.values()}
    assert "bitnet-pay-7-5-7100-2025" in refs and "bitnet-pay-7-5-7100-2026" in refs
    assert len(refs) == len(lines)


def test_rounded_half_up_to_ore_once(office_a, mapped):
    MileageRate.objects.create(
        year=2027, rate_per_km=Decimal("4.35"), passenger_rate_per_km=Decimal("1.05")
    )
    per = make_driver(office_a, number=6, first="Per", last="Lie")
    log = make_log(
        per,
        start=dt.date(2027, 3, 1),
        end=dt.date(2027, 3, 31),
        # 3 × 10.3 km: each trip is 44.805 kr; rounded per trip it would be 3 × 44.81 = 134.43,
        # rounded once it is 30.9 × 4.35 = 134.415 -> 134.42.
        trips=[{"date": dt.date(2027, 3, d), "km": "10.3", "passengers": 1} for d in (1, 2, 3)],
    )
    lines, _ = _lines([log.pk], mapped)
    assert lines[(6, "7100", 2027)].amount == Decimal("134.42")
    # 30.9 × 1.05 = 32.445 -> 32.45 (half up, not half even)
    assert lines[(6, "7101", 2027)].amount == Decimal("32.45")


def test_expense_kinds_sharing_a_pay_item_share_a_line(office_a, subgroup_a):
    for kind, code in {
        K.MILEAGE: "7100",
        K.TOLL: "7140",
        K.PARKING: "7140",
        K.FERRY: "7140",
    }.items():
        WageCodeMapping.objects.create(subgroup=subgroup_a, kind=kind, pay_item_code=code)
    mappings = wage_code_mappings(subgroup=subgroup_a)
    nils = make_driver(office_a, number=7, first="Nils", last="Moe")
    log = make_log(
        nils,
        trips=[
            {"date": may(3), "toll": "20.00", "parking": "30.00"},
            {"date": may(4), "ferry": "99.90"},
            {"date": may(5)},
        ],
    )
    lines, _ = _lines([log.pk], mappings)
    expenses = lines[(7, "7140", 2026)]
    assert (expenses.quantity, expenses.rate, expenses.amount) == (
        Decimal("1"),
        Decimal("149.90"),
        Decimal("149.90"),
    )
    assert expenses.kinds == (K.TOLL, K.PARKING, K.FERRY)
    assert expenses.comment == "Bompenger, parkering og ferje 03.05–04.05.2026, 2 turer"


def test_unmapped_kinds_are_counted(office_a, subgroup_a):
    WageCodeMapping.objects.create(subgroup=subgroup_a, kind=K.MILEAGE, pay_item_code="7100")
    driver = make_driver(office_a, number=8, first="Tone", last="Aas")
    log = make_log(driver, trips=[{"date": may(3), "toll": "20.00"}, {"date": may(4)}])
    _, result = _lines([log.pk], wage_code_mappings(subgroup=subgroup_a))
    assert result.unmapped == {K.TOLL: 1}
    assert [line.code for line in result.lines] == ["7100"]


def test_queries_do_not_grow_with_trips(office_a, mapped):
    def queries_for(trips_per_log: int, drivers: int) -> int:
        ids = []
        for i in range(drivers):
            driver = make_driver(
                office_a,
                number=100 + i + trips_per_log * 10,
                first="D",
                last=f"{trips_per_log}x{i}",
            )
            ids.append(
                make_log(
                    driver,
                    trips=[
                        {"date": may(1 + d % 28), "passengers": d % 2, "toll": "10.00"}
                        for d in range(trips_per_log)
                    ],
                ).pk
            )
        with CaptureQueriesContext(connection) as ctx:
            salary_lines_compute(log_ids=ids, mappings=mapped)
            drivinglog_summaries(log_ids=ids)
        return len(ctx.captured_queries)

    assert queries_for(2, 2) == queries_for(25, 6)
