"""What a salary line must and may carry, per processing type of its pay item.

From the contract's ``ProcessingType`` (each member says which salary line fields it "requires"
and which it "allows"). The sandbox refuses a line without a required field, and a line that
gives Amount, Quantity or Rate where its pay item's type has no use for them: PowerOffice computes
the amount of a quantity-and-rate pay item itself ("the quantity and rate should be provided as
drivers"), and a refund or fixed amount is an amount, not a quantity times a rate.
"""

A, Q, R = "Amount", "Quantity", "Rate"
NUMBER, PERSON, DEDUCTION = "Number", "CommuterPersonType", "DeductionType"
SUPPLIER, YEAR = "SupplierAccountId", "IncomeYear"
LIST_PRICE, REGISTERED, PLATE = "CarListPrice", "CarRegistrationDate", "CarRegistrationNo"
PLATE_OR_POOL = "CarRegistrationNo|IsCarPool"  # either one

# processing type -> (required fields, further fields among Amount/Quantity/Rate it allows)
_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "AttachmentOfEarnings": ((DEDUCTION, SUPPLIER), (A, R)),
    "AttachmentOfEarningsTax": ((DEDUCTION, YEAR), (A, R)),
    "BackPaymentOfPensionAndAnnuities": ((A,), ()),
    "CommuterWithNumberOfJourneys": ((A, NUMBER), ()),
    "CommuterWithPersonType": ((A, PERSON), ()),
    "CommuterWithPersonTypeAndQuantity": ((A, Q, PERSON), ()),
    "CommuterWithPersonTypeQuantityAndRate": ((Q, PERSON), (R,)),
    "CorrectionOfAdditionalEmployersContribution": ((A,), ()),
    "CorrectionOfEmployersContribution": ((A,), ()),
    "DeductionWithBalance": ((DEDUCTION,), (A, R)),
    "ElectronicCommunications": ((), (A,)),
    "ExpenseRefund": ((A,), ()),
    "FixedAmount": ((A,), ()),
    "FixedAmountWithQuantity": ((A, Q), ()),
    "FixedAmountWithQuantitySubjectToWithholdingTax": ((A, Q), ()),
    "FixedSalary": ((), (A,)),
    "FiveDayWeek": ((Q,), (R,)),
    "FreeCarOther": ((LIST_PRICE, PLATE_OR_POOL), (A,)),
    "FreeCarOutsideStandardRule": ((REGISTERED, LIST_PRICE), (A,)),
    "FreeCarStandardRule": ((REGISTERED, LIST_PRICE, PLATE_OR_POOL), ()),
    "HolidayPay": ((), (A,)),
    "HolidayPayCorrection": ((A,), ()),
    "HolidayPayCorrectionOver60": ((A,), ()),
    "HolidayPayFinalSettlement": ((A,), ()),
    "HolidayPayForSpecifiedYear": ((), (A,)),
    "HolidayPayOver60Years": ((), (A,)),
    "HomeVisitsForCommuters": ((A, NUMBER, PERSON), ()),
    "HourlyWage": ((Q,), (R,)),
    "Lott": ((A, NUMBER), ()),
    "PensionDeduction": ((DEDUCTION,), (A, R)),
    "PensionDeductionUnlimited": ((DEDUCTION,), (A, R)),
    "PercentOfFixedSalary": ((), (A, R)),
    "PercentOfHourlyWage": ((Q,), (R,)),
    "QuantityAndFixedRate": ((Q,), (R,)),
    "QuantityAndFixedRateReportingZeroAsQuantity": ((Q,), (R,)),
    "QuantityAndRate": ((Q, R), ()),
    "QuantityAndRateReportingZeroAsQuantity": ((Q, R), ()),
    "QuantityAndRateSubjectToWithholdingTax": ((Q, R), ()),
    "RetroactivePaymentFixedSalary": ((A,), ()),
    "RetroactivePaymentHourlyRate": ((A,), ()),
    "RetroactivePaymentOvertime": ((A,), ()),
    "RetroactivePaymentDeductionForHoliday": ((A,), ()),
    "SalaryAdvance": ((A,), ()),
    "SeafarersAllowanceDaysAtSea": ((NUMBER,), ()),
    "SeafarersAllowanceDeduction": ((), ()),
    "SixDayWeek": ((Q,), (R,)),
    "TradeUnionDeduction": ((SUPPLIER,), (A, R)),
    "WageDeductionForHoliday": ((), (A,)),
    "WageDeductionForHolidayOver60Years": ((), (A,)),
    "WorkCarKilometers": ((LIST_PRICE, "PrivateDrivenKilometers"), (A,)),
    "WorkCarListPrice": ((REGISTERED, LIST_PRICE, PLATE), (A,)),
}


def line_rules(processing: str | None) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(required fields, allowed Amount/Quantity/Rate) of a processing type; None if unknown."""
    rules = _RULES.get(processing or "")
    if rules is None:
        return None
    required, allowed = rules
    return required, tuple(f for f in (A, Q, R) if f in required or f in allowed)


def computes_amount(processing: str | None) -> bool:
    """Whether PowerOffice computes the amount from Quantity × Rate (no Amount allowed)."""
    rules = line_rules(processing)
    return rules is not None and A not in rules[1] and Q in rules[1] and R in rules[1]
