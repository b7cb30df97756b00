"""seed_demo builds a realistic agency, and running it twice changes nothing."""

from io import StringIO

from django.core.management import call_command

from accounting.models import Article, Customer, CustomerKind, Invoice, VatCode
from bitnet.models import Agency, Office, Subgroup, User
from payroll.models import DrivingLog, Trip


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Agency,
            Subgroup,
            Office,
            User,
            VatCode,
            Article,
            Customer,
            Invoice,
            DrivingLog,
            Trip,
        )
    }


def test_seed_demo_is_realistic_and_idempotent(db):
    out = StringIO()
    call_command("seed_demo", "--invoices", "40", "--no-poweroffice", stdout=out)
    first = _counts()
    assert first["Agency"] == 1
    assert first["Subgroup"] == 2
    assert first["Office"] == 3
    assert first["Article"] == 30
    assert first["Customer"] == 50
    assert first["Invoice"] == 40
    assert first["DrivingLog"] >= 4
    assert first["Trip"] > first["DrivingLog"]
    assert set(VatCode.objects.values_list("code", flat=True)) >= {"3", "5", "6"}
    assert Customer.objects.filter(kind=CustomerKind.ESTATE, name__startswith="Dødsbo etter ")
    assert Trip.objects.filter(toll__gt=0).exists()
    assert Trip.objects.filter(passengers__gt=0).exists()
    roles = set(User.objects.values_list("role", flat=True))
    assert roles == {"administrator", "okonomi", "lonn", "bruker"}
    for username in ("admin", "okonomi", "lonn", "bruker"):
        assert User.objects.get(username=username).check_password("demo")
    printed = out.getvalue()
    assert "admin" in printed and "«demo»" in printed
    # Invoices mix VAT codes 3, 5 and 6 on one invoice somewhere in the demo.
    assert any(
        {"3", "5", "6"} <= set(inv.lines.values_list("vat_code__code", flat=True))
        for inv in Invoice.objects.all()
    )

    call_command("seed_demo", "--invoices", "40", "--no-poweroffice", stdout=StringIO())
    assert _counts() == first
