"""'Last ned' of Økonomi > Fakturaer: the columns of the CSV and XLSX files (bitnet/spreadsheet.py).

Every column reads the invoice or a row the list already joins (customer, office, subgroup), so
a download of any size takes the same queries as one page.
"""

from accounting.models import Invoice
from bitnet.spreadsheet import Column


def _payment(invoice: Invoice) -> str:
    return invoice.get_payment_status_display() if invoice.payment_status else "Ikke sjekket"


INVOICE_COLUMNS = [
    Column("Nr.", lambda i: i.number, "int"),
    Column("Type", lambda i: i.get_kind_display()),
    Column("Fakturadato", lambda i: i.invoice_date, "date"),
    Column("Forfallsdato", lambda i: i.due_date, "date"),
    Column("Kundenr.", lambda i: i.customer.number, "int"),
    Column("Kunde", lambda i: i.customer.name),
    Column("Avdøde", lambda i: i.deceased_name),
    Column("Undergruppe", lambda i: i.subgroup.name),
    Column("Byrå", lambda i: i.office.name),
    Column("Sum eks. mva", lambda i: i.net_total, "money"),
    Column("MVA", lambda i: i.vat_total, "money"),
    Column("Beløp inkl. mva", lambda i: i.gross_total, "money"),
    Column("Eksport", lambda i: i.get_export_status_display()),
    Column("Bilagsnr.", lambda i: i.voucher_no, "int"),
    Column("Bilagsdato", lambda i: i.voucher_date, "date"),
    Column("Betaling", _payment),
    Column("Saldo", lambda i: i.balance, "money"),
]
