"""Writes of Økonomi > Ikke eksporterte fakturaer that are not an export: the red eye."""

from __future__ import annotations

from django.utils import timezone

from accounting.models import Invoice
from bitnet.models import User


def invoice_export_hide_toggle(*, invoice: Invoice, user: User) -> bool:
    """Hide an invoice from "Ikke eksporterte fakturaer", or bring it back. Returns hidden."""
    hidden = not invoice.export_hidden
    Invoice.objects.filter(pk=invoice.pk).update(
        export_hidden=hidden,
        export_hidden_at=timezone.now() if hidden else None,
        export_hidden_by=user if hidden else None,
    )
    invoice.export_hidden = hidden
    return hidden
