"""Reads for Økonomi > Kunder: the customer list and a customer's invoice figures.

Every selector takes a queryset the caller has already scoped to the user's agency
(bitnet.access.for_agency), so a selector can never widen what a user may see.
"""

from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from accounting.models import Customer

ZERO = Decimal("0.00")


def customer_list(
    *,
    customers: QuerySet[Customer],
    search: str = "",
    subgroup_id: int | None = None,
    kind: str = "",
) -> QuerySet[Customer]:
    """Customers matching a free-text search (name, number, org.nr., city, e-mail)."""
    qs = customers.select_related("subgroup")
    search = search.strip()
    if search:
        condition = (
            Q(name__icontains=search)
            | Q(city__icontains=search)
            | Q(email__icontains=search)
            | Q(deceased_name__icontains=search)
        )
        digits = search.replace(" ", "")
        if digits.isdigit():
            condition |= Q(org_number__startswith=digits)
            if len(digits) <= 10:
                condition |= Q(number=int(digits))
        qs = qs.filter(condition)
    if subgroup_id:
        qs = qs.filter(subgroup_id=subgroup_id)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("subgroup__name", "number")


def customer_invoice_stats(*, customer: Customer) -> dict[str, Decimal | int]:
    return customer.invoices.aggregate(
        count=Count("id"),
        gross=Coalesce(Sum("gross_total"), ZERO),
        balance=Coalesce(Sum("balance"), ZERO),
    )
