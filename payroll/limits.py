"""Sane limits of one trip, and what counts as an unusual one (SPEC Part B).

Beyond a limit the figure is a typing error, not a trip: the form, the service and a database
constraint all refuse it, with the same Norwegian message. Within the limits a trip may still be
unusual (a long journey, or far more than the driver usually drives): the payroll export shows
those trips before anything is sent, so a person looks at them.

Plain data with no imports of our apps, so the model, its migration and the forms can share it.
"""

from decimal import Decimal

# Oslo–Kirkenes is about 1,800 km by road: a longer single trip is a typing error.
TRIP_MAX_KM = Decimal("2500")
# A car driven on a class B licence seats at most 8 passengers besides the driver.
TRIP_MAX_PASSENGERS = 8
# Bompenger, parkering and ferje, each per trip (a long car ferry is a few thousand kroner).
TRIP_MAX_EXPENSE = Decimal("10000")


def _grouped(number: Decimal | int) -> str:
    """2 500, with a no-break space, so a message never breaks inside the number."""
    return f"{int(number):,}".replace(",", "\xa0")


KM_TOO_LONG = (
    f"En tur kan ikke være lengre enn {_grouped(TRIP_MAX_KM)} km. Sjekk tallet, eller del en "
    "lang reise opp i flere turer."
)
TOO_MANY_PASSENGERS = (
    f"En tur kan ha høyst {TRIP_MAX_PASSENGERS} passasjerer (så mange en personbil har plass til)."
)
EXPENSE_TOO_HIGH = (
    f"Beløpet kan ikke være over {_grouped(TRIP_MAX_EXPENSE)} kr per tur. Sjekk tallet."
)

# Unusual, shown in the payroll export: a trip this long, whoever drives ...
UNUSUAL_KM = Decimal("1000")
# ... or this many times the driver's average trip over the year before, and at least
# UNUSUAL_MIN_KM (short trips vary a lot without meaning anything) ...
UNUSUAL_FACTOR = Decimal("5")
UNUSUAL_MIN_KM = Decimal("200")
# ... when the driver has at least this many earlier trips to compare with;
UNUSUAL_MIN_HISTORY = 5
# and an outlay of bompenger, parkering or ferje above this, in kroner.
UNUSUAL_EXPENSE = Decimal("2000")
