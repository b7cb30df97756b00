"""Writes for agencies, subgroups and users; number series allocation."""

from django.db import transaction

from bitnet.models import Subgroup


class NumberSeriesExhausted(Exception):
    """The subgroup's series has no numbers left."""


def subgroup_allocate_invoice_number(*, subgroup_id: int) -> int:
    """The next invoice number of the subgroup's series.

    The subgroup row is locked (SELECT … FOR UPDATE) until the caller's transaction ends, so
    parallel invoices get consecutive numbers with no gaps and no duplicates; the unique
    constraint on (subgroup, number) is the last line of defence. Must run inside a transaction.
    """
    with transaction.atomic():
        subgroup = Subgroup.objects.select_for_update().get(pk=subgroup_id)
        number = max(subgroup.next_invoice_number, subgroup.invoice_series_start)
        if number > subgroup.invoice_series_end:
            raise NumberSeriesExhausted(
                f"Fakturanummerserien for {subgroup.name} er brukt opp "
                f"({subgroup.invoice_series_start}–{subgroup.invoice_series_end})."
            )
        Subgroup.objects.filter(pk=subgroup_id).update(next_invoice_number=number + 1)
        return number


def subgroup_allocate_customer_number(*, subgroup_id: int) -> int:
    """The next free customer number of the subgroup's series, under the same row lock."""
    from accounting.models import Customer  # accounting depends on bitnet, not the reverse

    with transaction.atomic():
        subgroup = Subgroup.objects.select_for_update().get(pk=subgroup_id)
        number = max(subgroup.next_customer_number, subgroup.customer_series_start)
        # Skip numbers taken by hand-entered customers.
        taken = set(
            Customer.objects.filter(subgroup_id=subgroup_id, number__gte=number).values_list(
                "number", flat=True
            )
        )
        while number in taken:
            number += 1
        if number > subgroup.customer_series_end:
            raise NumberSeriesExhausted(
                f"Kundenummerserien for {subgroup.name} er brukt opp "
                f"({subgroup.customer_series_start}–{subgroup.customer_series_end})."
            )
        Subgroup.objects.filter(pk=subgroup_id).update(next_customer_number=number + 1)
        return number
