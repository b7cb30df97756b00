"""The state's mileage rates as data (2025: 5.00 NOK/km, 2026: 5.30 NOK/km; passenger 1.00)."""

from decimal import Decimal

from django.db import migrations

RATES = [
    (2025, Decimal("5.00"), Decimal("1.00")),
    (2026, Decimal("5.30"), Decimal("1.00")),
]


def add_rates(apps, schema_editor):
    MileageRate = apps.get_model("payroll", "MileageRate")
    for year, rate, passenger in RATES:
        MileageRate.objects.update_or_create(
            year=year, defaults={"rate_per_km": rate, "passenger_rate_per_km": passenger}
        )


class Migration(migrations.Migration):
    dependencies = [("payroll", "0001_initial")]

    operations = [migrations.RunPython(add_rates, migrations.RunPython.noop)]
