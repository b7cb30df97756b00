"""Which pay items a driving-log salary line can go to, and what the line carries for each.

A pay item's ``ProcessingType`` (PowerOffice's contract, enum ``ProcessingType``) decides which
salary line fields PowerOffice requires and which it takes. Our lines know a quantity (km,
passenger-km, or 1 for an outlay), a rate and an amount, nothing else (no number of journeys,
commuter type, deduction type, supplier or car), so only the types below can be used, each with
exactly the fields it takes:

- quantity and rate: PowerOffice computes the amount itself ("the quantity and rate should be
  provided as drivers"), so no Amount; for the fixed-rate types our rate (the year's rate per km)
  overrides the pay item's;
- a fixed amount with a quantity: our amount and quantity;
- an amount (refunds of toll, parking, ferry): the amount alone.
"""

from __future__ import annotations

QUANTITY, RATE, AMOUNT = "Quantity", "Rate", "Amount"

LINE_FIELDS: dict[str, tuple[str, ...]] = {
    "QuantityAndRate": (QUANTITY, RATE),
    "QuantityAndRateReportingZeroAsQuantity": (QUANTITY, RATE),
    "QuantityAndRateSubjectToWithholdingTax": (QUANTITY, RATE),
    "QuantityAndFixedRate": (QUANTITY, RATE),
    "QuantityAndFixedRateReportingZeroAsQuantity": (QUANTITY, RATE),
    "HourlyWage": (QUANTITY, RATE),
    "FixedAmountWithQuantity": (AMOUNT, QUANTITY),
    "FixedAmountWithQuantitySubjectToWithholdingTax": (AMOUNT, QUANTITY),
    "ExpenseRefund": (AMOUNT,),
    "FixedAmount": (AMOUNT,),
}

# A pay item whose type we were not told (it could not be checked yet): everything we know.
UNKNOWN_TYPE_FIELDS = (QUANTITY, RATE, AMOUNT)


def salary_line_fields(processing_type: str) -> tuple[str, ...]:
    """The fields among Quantity, Rate and Amount a line to a pay item of this type carries."""
    if not processing_type:
        return UNKNOWN_TYPE_FIELDS
    return LINE_FIELDS.get(processing_type, UNKNOWN_TYPE_FIELDS)


def processing_type_problem(code: str, name: str, processing_type: str) -> str:
    """Empty when a driving-log line can go to a pay item of this type; else why not."""
    if not processing_type or processing_type in LINE_FIELDS:
        return ""
    return (
        f"Lønnsart {code} ({name or 'uten navn'}) har behandlingstypen {processing_type} i "
        "PowerOffice Go, som krever opplysninger en kjørebok ikke har. Velg en lønnsart for "
        "antall og sats (f.eks. QuantityAndRate) eller for beløp (f.eks. ExpenseRefund)."
    )
