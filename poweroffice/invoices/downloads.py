"""'Last ned' of Økonomi > Ikke eksporterte fakturaer: the columns of the CSV and XLSX files
(bitnet/spreadsheet.py), with the reason each invoice is on the list."""

from accounting.models import Invoice
from bitnet.spreadsheet import Column
from poweroffice.invoices.selectors import Reason, export_reason
from poweroffice.models import Connection


def not_exported_columns(connections: dict[int, Connection]) -> list[Column]:
    """The columns; ``connections`` by subgroup id give the reason without a query per row."""

    def reason(invoice: Invoice) -> Reason:
        return export_reason(invoice, connections.get(invoice.subgroup_id))

    return [
        Column("Nr.", lambda i: i.number, "int"),
        Column("Type", lambda i: i.get_kind_display()),
        Column("Fakturadato", lambda i: i.invoice_date, "date"),
        Column("Kundenr.", lambda i: i.customer.number, "int"),
        Column("Kunde", lambda i: i.customer.name),
        Column("Avdøde", lambda i: i.deceased_name),
        Column("Undergruppe", lambda i: i.subgroup.name),
        Column("Byrå", lambda i: i.office.name),
        Column("Beløp inkl. mva", lambda i: i.gross_total, "money"),
        Column("Status", lambda i: i.get_export_status_display()),
        Column("Årsak", lambda i: reason(i).title),
        Column("Forklaring", lambda i: reason(i).detail),
        Column("Eksportforsøk", lambda i: i.export_attempts, "int"),
    ]
