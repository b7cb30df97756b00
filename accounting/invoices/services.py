"""Writes for Økonomi > Fakturaer: invoices and credit notes, numbered from the series."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from accounting.hooks import invoice_committed
from accounting.models import Article, Customer, Invoice, InvoiceKind, InvoiceLine
from accounting.money import kid_for, line_amounts
from bitnet.agencies.services import subgroup_allocate_invoice_number
from bitnet.models import Office, User


@dataclass(frozen=True)
class LineInput:
    article: Article
    quantity: Decimal
    unit_price: Decimal | None = None  # None: the article's price
    description: str = ""
    # Set when copying a line (credit notes): keep the original's account and VAT.
    account_id: int | None = None
    vat_code_id: int | None = None
    vat_rate: Decimal | None = None


def _write_lines(invoice: Invoice, lines: list[LineInput], *, sign: int) -> None:
    objs = []
    net_total = vat_total = Decimal("0.00")
    for position, line in enumerate(lines, start=1):
        article = line.article
        price = article.price if line.unit_price is None else line.unit_price
        quantity = line.quantity * sign
        rate = article.vat_code.rate if line.vat_rate is None else line.vat_rate
        amounts = line_amounts(quantity=quantity, unit_price=price, vat_rate=rate)
        objs.append(
            InvoiceLine(
                invoice=invoice,
                position=position,
                article=article,
                description=line.description or article.name,
                quantity=quantity,
                unit=article.unit,
                unit_price=price,
                account_id=line.account_id or article.account_id,
                vat_code_id=line.vat_code_id or article.vat_code_id,
                vat_rate=rate,
                net_amount=amounts.net,
                vat_amount=amounts.vat,
                gross_amount=amounts.gross,
            )
        )
        net_total += amounts.net
        vat_total += amounts.vat
    InvoiceLine.objects.bulk_create(objs)
    invoice.net_total = net_total
    invoice.vat_total = vat_total
    invoice.gross_total = net_total + vat_total
    invoice.save(update_fields=["net_total", "vat_total", "gross_total"])


def _announce(invoice_id: int) -> None:
    transaction.on_commit(
        lambda: invoice_committed.send(sender=Invoice, invoice_id=invoice_id), robust=True
    )


def invoice_create(
    *,
    created_by: User,
    office: Office,
    customer: Customer,
    lines: list[LineInput],
    invoice_date: dt.date,
    due_date: dt.date | None = None,
    our_reference: str = "",
    their_reference: str = "",
    deceased_name: str = "",
    note: str = "",
) -> Invoice:
    """Create an invoice with its lines, numbered from the office's subgroup's series."""
    if not lines:
        raise ValidationError("En faktura må ha minst én linje.")
    for line in lines:
        if line.quantity <= 0:
            raise ValidationError("Antall må være større enn null på en faktura.")
        if line.unit_price is not None and line.unit_price < 0:
            raise ValidationError("Prisen kan ikke være negativ.")
    subgroup = office.subgroup
    if customer.subgroup_id != subgroup.pk:
        raise ValidationError("Kunden tilhører en annen undergruppe enn byrået.")
    if due_date is None:
        due_date = invoice_date + dt.timedelta(days=subgroup.payment_terms_days)
    if due_date < invoice_date:
        raise ValidationError({"due_date": "Forfallsdato kan ikke være før fakturadato."})
    with transaction.atomic():
        number = subgroup_allocate_invoice_number(subgroup_id=subgroup.pk)
        invoice = Invoice.objects.create(
            agency_id=subgroup.agency_id,
            subgroup=subgroup,
            office=office,
            customer=customer,
            kind=InvoiceKind.INVOICE,
            number=number,
            invoice_date=invoice_date,
            due_date=due_date,
            kid=kid_for(customer_number=customer.number, invoice_number=number),
            our_reference=our_reference,
            their_reference=their_reference,
            deceased_name=deceased_name,
            note=note,
            created_by=created_by,
        )
        _write_lines(invoice, lines, sign=1)
        _announce(invoice.pk)
    return invoice


def credit_note_create(
    *, created_by: User, invoice: Invoice, invoice_date: dt.date, note: str = ""
) -> Invoice:
    """A credit note for the whole of ``invoice``: the same lines with negative quantities."""
    if invoice.is_credit_note:
        raise ValidationError("En kreditnota kan ikke krediteres.")
    with transaction.atomic():
        # Lock the invoice so two clicks cannot credit it twice.
        original = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if original.credit_notes.exists():
            raise ValidationError(f"Faktura {original.number} er allerede kreditert.")
        number = subgroup_allocate_invoice_number(subgroup_id=original.subgroup_id)
        credit = Invoice.objects.create(
            agency_id=original.agency_id,
            subgroup_id=original.subgroup_id,
            office_id=original.office_id,
            customer_id=original.customer_id,
            kind=InvoiceKind.CREDIT_NOTE,
            number=number,
            credited_invoice=original,
            invoice_date=invoice_date,
            due_date=invoice_date,
            kid=original.kid,
            our_reference=original.our_reference,
            their_reference=original.their_reference,
            deceased_name=original.deceased_name,
            note=note or f"Kreditering av faktura {original.number}",
            created_by=created_by,
        )
        lines = [
            LineInput(
                article=line.article,
                quantity=line.quantity,
                unit_price=line.unit_price,
                description=line.description,
                account_id=line.account_id,
                vat_code_id=line.vat_code_id,
                vat_rate=line.vat_rate,
            )
            for line in original.lines.select_related("article__vat_code")
        ]
        _write_lines(credit, lines, sign=-1)
        _announce(credit.pk)
    return credit
