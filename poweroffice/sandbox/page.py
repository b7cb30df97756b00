"""The sandbox's front page: what PowerOffice Go received, per client, for a person trying it.

It says SANDBOX at the top and in its title, so that no one takes it for PowerOffice Go.
"""

from html import escape
from urllib.parse import quote

from .values import dec, format_datetime

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
  background:#f4f6f8;color:#1f2933}
header{background:#12355b;color:#fff;padding:16px 28px}
.sandbox-flag{display:inline-block;background:#f5b400;color:#1f2933;font-weight:700;
  letter-spacing:.08em;border-radius:4px;padding:2px 8px;margin-right:10px;font-size:14px;
  vertical-align:middle}
header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;opacity:.8;font-size:13px}
main{padding:20px 28px;max-width:1300px}
section.client{background:#fff;border:1px solid #d9e2ec;border-radius:8px;margin-bottom:28px;
  padding:16px 20px}
section.client h2{margin:0 0 4px;font-size:18px}
.meta{color:#52606d;font-size:13px;margin-bottom:12px}
h3{font-size:15px;margin:18px 0 6px;color:#243b53}
table{border-collapse:collapse;width:100%;font-size:13px;margin-bottom:6px}
th,td{border-bottom:1px solid #e4e7eb;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f0f4f8;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
table.lines{margin:4px 0 8px 24px;width:calc(100% - 24px);background:#fafbfc}
.badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;background:#e4e7eb}
.badge.ok{background:#d5f5e3;color:#1e6f43}.badge.warn{background:#fdebd0;color:#8a4b08}
.badge.bad{background:#fadbd8;color:#922b21}
.empty{color:#7b8794;font-style:italic;font-size:13px}
a{color:#1d4ed8}
"""


def _money(value) -> str:
    if value is None:
        return ""
    return f"{dec(value):,.2f}".replace(",", " ").replace(".", ",")


def _quantity(value) -> str:
    if value is None:
        return ""
    return format(dec(value).normalize(), "f").replace(".", ",")


def _text(value) -> str:
    return "" if value is None else escape(str(value))


def _mask(key: str) -> str:
    return "••••" + key[-4:] if key else ""


def _table(
    headers: list[str], rows: list[str], numeric: set[int] | None = None, css: str = ""
) -> str:
    numeric = numeric or set()
    head = "".join(
        f'<th class="num">{h}</th>' if i in numeric else f"<th>{h}</th>"
        for i, h in enumerate(headers)
    )
    return (
        f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _cells(values: list[str], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    return (
        "<tr>"
        + "".join(
            f'<td class="num">{v}</td>' if i in numeric else f"<td>{v}</td>"
            for i, v in enumerate(values)
        )
        + "</tr>"
    )


def _client_section(client: dict, link_query: str = "") -> str:
    data = client["data"]
    accounts = data["accounts"]
    vats = data["vatcodes"]
    customers_by_ledger = {c.get("SubledgerAccountId"): c for c in data["customers"].values()}
    parts = [
        f'<section class="client"><h2>{_text(client["name"])}</h2>',
        f'<div class="meta">Klient-ID {_text(client["client_id"])} · klientnøkkel '
        f"{_mask(client['client_key'])}"
        f" · abonnement: {_text(', '.join(client['subscriptions']) or 'ingen')}</div>",
    ]

    parts.append("<h3>Bilag (utgående fakturaer)</h3>")
    vouchers = sorted(
        data["vouchers"].values(), key=lambda v: v.get("VoucherNo") or 0, reverse=True
    )
    if not vouchers:
        parts.append('<p class="empty">Ingen bilag mottatt.</p>')
    else:
        rows = []
        for voucher in vouchers:
            invoice = data["outgoinginvoices"].get(voucher["Id"], {})
            customer = customers_by_ledger.get(voucher.get("CustomerAccountId")) or {}
            if voucher.get("IsReversed"):
                status = '<span class="badge bad">Reversert</span>'
            elif invoice and dec(invoice.get("Balance") or 0) == 0:
                status = '<span class="badge ok">Betalt</span>'
            elif invoice and dec(invoice.get("Balance") or 0) != dec(
                invoice.get("TotalPostedAmount") or 0
            ):
                status = '<span class="badge warn">Delvis betalt</span>'
            else:
                status = '<span class="badge">Ubetalt</span>'
            attachment = client["attachments"].get(voucher["Id"])
            link = (
                "<a "
                f'href="/_sandbox/clients/{escape(client["client_id"])}/vouchers/{escape(voucher["Id"])}/documentation{link_query}">'
                f"{_text(attachment['filename'])}</a>"
                if attachment
                else ""
            )
            kind = "Kreditnota" if dec(voucher.get("CurrencyAmount") or 0) < 0 else "Faktura"
            rows.append(
                _cells(
                    [
                        _text(voucher.get("VoucherNo")),
                        _text(voucher.get("InvoiceNo")),
                        kind,
                        f"{_text(customer.get('Number'))} {_text(customer.get('Name'))}",
                        _text(voucher.get("VoucherDate")),
                        _text(voucher.get("DueDate")),
                        _money(voucher.get("CurrencyAmount")),
                        _money(invoice.get("Balance")),
                        status,
                        link,
                        _text(voucher.get("ExternalImportReference")),
                    ],
                    {6, 7},
                )
            )
            line_rows = []
            for line in voucher.get("OutgoingInvoiceLines") or []:
                account = accounts.get(str(line.get("AccountId"))) or {}
                vat = vats.get(str(line.get("VatId"))) or {}
                product = data["products"].get(str(line.get("ProductId"))) or {}
                department = data["departments"].get(str(line.get("DepartmentId"))) or {}
                line_rows.append(
                    _cells(
                        [
                            f"{_text(account.get('AccountNo'))} {_text(account.get('Name'))}",
                            _text(vat.get("Code")),
                            _text(product.get("Code")),
                            _text(line.get("Description")),
                            _quantity(line.get("Quantity")),
                            _text(department.get("Name")),
                            _money(line.get("CurrencyAmount")),
                        ],
                        {4, 6},
                    )
                )
            rows.append(
                '<tr><td colspan="11">'
                + _table(
                    ["Konto", "MVA", "Produkt", "Beskrivelse", "Antall", "Avdeling", "Beløp"],
                    line_rows,
                    {4, 6},
                    "lines",
                )
                + "</td></tr>"
            )
        parts.append(
            _table(
                [
                    "Bilagsnr.",
                    "Fakturanr.",
                    "Type",
                    "Kunde",
                    "Dato",
                    "Forfall",
                    "Beløp",
                    "Saldo",
                    "Status",
                    "Vedlegg",
                    "Ekstern ref.",
                ],
                rows,
                {6, 7},
            )
        )

    parts.append("<h3>Kunder</h3>")
    customers = list(data["customers"].values())
    if not customers:
        parts.append('<p class="empty">Ingen kunder.</p>')
    else:
        parts.append(
            _table(
                [
                    "Kundenr.",
                    "Navn",
                    "Org.nr.",
                    "E-post",
                    "Reskontro-ID",
                    "Ekstern ref.",
                    "Opprettet",
                ],
                [
                    _cells(
                        [
                            _text(c.get("Number")),
                            _text(c.get("Name")),
                            _text(c.get("OrganizationNumber")),
                            _text(c.get("EmailAddress")),
                            _text(c.get("SubledgerAccountId")),
                            _text(c.get("ExternalImportReference")),
                            _text(
                                (format_datetime(c.get("CustomerCreatedDateTimeOffset")) or "")[
                                    :16
                                ].replace("T", " ")
                            ),
                        ]
                    )
                    for c in customers
                ],
            )
        )

    parts.append("<h3>Produkter</h3>")
    products = list(data["products"].values())
    if not products:
        parts.append('<p class="empty">Ingen produkter.</p>')
    else:
        rows = []
        for product in products:
            account = accounts.get(str(product.get("StandardSalesAccountId"))) or {}
            rows.append(
                _cells(
                    [
                        _text(product.get("Code")),
                        _text(product.get("Name")),
                        _money(product.get("UnitPrice")),
                        _text(account.get("AccountNo")),
                        "Arkivert" if product.get("IsArchived") else "Aktiv",
                    ],
                    {2},
                )
            )
        parts.append(_table(["Kode", "Navn", "Pris", "Salgskonto", "Status"], rows, {2}))

    parts.append("<h3>Lønnslinjer (importert lønnsgrunnlag)</h3>")
    lines = list(data["salarylines"].values())
    if not lines:
        parts.append('<p class="empty">Ingen lønnslinjer.</p>')
    else:
        employees = data["employees"]
        pay_items = data["payitems"]
        rows = []
        for line in lines:
            employee = employees.get(str(line.get("EmployeeId"))) or {}
            pay_item = pay_items.get(str(line.get("PayItemId"))) or {}
            rows.append(
                _cells(
                    [
                        _text(line.get("Id")),
                        f"{_text(employee.get('Number'))} {_text(employee.get('FirstName'))} "
                        f"{_text(employee.get('LastName'))}",
                        f"{_text(pay_item.get('Code'))} {_text(pay_item.get('Name'))}",
                        _quantity(line.get("Quantity")),
                        _money(line.get("Rate")),
                        _money(line.get("Amount")),
                        _text(line.get("Comment")),
                        '<span class="badge warn">Låst</span>'
                        if line.get("IsLocked")
                        else '<span class="badge">Åpen</span>',
                    ],
                    {3, 4, 5},
                )
            )
        parts.append(
            _table(
                ["ID", "Ansatt", "Lønnsart", "Antall", "Sats", "Beløp", "Kommentar", "Status"],
                rows,
                {3, 4, 5},
            )
        )
    parts.append("</section>")
    return "".join(parts)


def render(state, *, token: str | None = None) -> str:
    """The page; ``token`` (the hook token it was opened with) is carried on its links."""
    link_query = f"?token={quote(token)}" if token else ""
    with state.lock:
        clients = list(state.clients.values())
        sections = "".join(_client_section(client, link_query) for client in clients)
        requests = len(state.log)
    if not sections:
        sections = (
            '<p class="empty">Ingen klienter ennå. Opprett en med POST /_sandbox/clients.</p>'
        )
    return (
        '<!doctype html><html lang="nb"><head><meta charset="utf-8">'
        "<title>SANDBOX · PowerOffice Go – sandkasse</title>"
        f"<style>{_CSS}</style></head><body>"
        '<header><h1><span class="sandbox-flag">SANDBOX</span>PowerOffice Go – sandkasse</h1>'
        "<p>Lokal stand-in for PowerOffice Go v2, ikke PowerOffice: bare for utvikling og demo · "
        f"{len(clients)} klient(er) · {requests} forespørsler mottatt · "
        f'<a style="color:#fff" href="/{link_query}">Oppdater</a></p></header>'
        f"<main>{sections}</main></body></html>"
    )
