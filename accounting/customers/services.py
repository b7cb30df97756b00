"""Writes for Økonomi > Kunder: create a customer (numbered from the subgroup's series) and
change its details."""

from django.core.exceptions import ValidationError
from django.db import transaction

from accounting.models import Customer, CustomerKind
from bitnet.agencies.services import subgroup_allocate_customer_number
from bitnet.models import Subgroup


def customer_create(
    *,
    subgroup: Subgroup,
    kind: str,
    name: str,
    number: int | None = None,
    deceased_name: str = "",
    org_number: str = "",
    email: str = "",
    phone: str = "",
    address: str = "",
    postal_code: str = "",
    city: str = "",
) -> Customer:
    """Create a customer; without a number, the next one from the subgroup's series."""
    if kind == CustomerKind.ESTATE and deceased_name and not name:
        name = f"Dødsbo etter {deceased_name}"
    with transaction.atomic():
        if number is None:
            number = subgroup_allocate_customer_number(subgroup_id=subgroup.pk)
        elif not subgroup.customer_series_start <= number <= subgroup.customer_series_end:
            raise ValidationError(
                {
                    "number": f"Kundenummeret må ligge i serien {subgroup.customer_series_start}"
                    f"–{subgroup.customer_series_end}."
                }
            )
        elif Customer.objects.filter(subgroup=subgroup, number=number).exists():
            raise ValidationError({"number": f"Kundenummer {number} er allerede i bruk."})
        customer = Customer(
            agency_id=subgroup.agency_id,
            subgroup=subgroup,
            number=number,
            kind=kind,
            name=name,
            deceased_name=deceased_name,
            org_number=org_number,
            email=email,
            phone=phone,
            address=address,
            postal_code=postal_code,
            city=city,
        )
        customer.full_clean()
        customer.save()
    return customer


CUSTOMER_EDITABLE_FIELDS = frozenset(
    {
        "kind",
        "name",
        "deceased_name",
        "org_number",
        "email",
        "phone",
        "address",
        "postal_code",
        "city",
    }
)


def customer_update(*, customer: Customer, **fields: str) -> Customer:
    """Change a customer's details. Subgroup and number stay: invoices and KIDs use them."""
    unknown = set(fields) - CUSTOMER_EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        for name, value in fields.items():
            setattr(locked, name, value)
        if locked.kind == CustomerKind.ESTATE and locked.deceased_name and not locked.name:
            locked.name = f"Dødsbo etter {locked.deceased_name}"
        locked.full_clean()
        locked.save()
    return locked
