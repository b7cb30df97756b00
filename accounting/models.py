"""Chart of accounts, VAT codes, articles, customers, invoices and credit notes.

Money is Decimal. VAT is computed per line and rounded to øre once (see accounting/money.py).
The domain knows nothing of PowerOffice; the export state fields are plain data the integration
writes (the domain only announces a committed invoice, accounting/hooks.py).
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length

from accounting.money import MoneyDigits, quantity_shown
from bitnet.models import Agency, Office, Subgroup

MONEY: MoneyDigits = {"max_digits": 14, "decimal_places": 2}
# VAT codes in numeric order (3, 5, 6, 31, 33), not as text (3, 31, 33, 5, 6): SAF-T codes are
# whole numbers without leading zeros, so the shorter one is the smaller.
VAT_CODE_ORDER = (Length("code"), "code")


class VatCode(models.Model):
    """A Norwegian SAF-T VAT code (MVA-kode), e.g. 3 = 25 %, 5 = zero-rated, 6 = outside the act."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="vat_codes")
    code = models.CharField("kode", max_length=10)
    rate = models.DecimalField(
        "sats (%)",
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    name = models.CharField("navn", max_length=200)
    is_active = models.BooleanField("aktiv", default=True)

    class Meta:
        verbose_name = "MVA-kode"
        verbose_name_plural = "MVA-koder"
        ordering = ["agency", *VAT_CODE_ORDER]
        constraints = [
            models.UniqueConstraint(fields=["agency", "code"], name="vatcode_unique_code"),
            models.CheckConstraint(
                condition=Q(rate__gte=0) & Q(rate__lte=100), name="vatcode_rate_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.rate.normalize():f} %) {self.name}"

    @property
    def fraction(self) -> Decimal:
        return self.rate / Decimal(100)


class Account(models.Model):
    """An account in the chart of accounts (kontoplan)."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="accounts")
    number = models.PositiveIntegerField("kontonummer")
    name = models.CharField("navn", max_length=200)
    vat_code = models.ForeignKey(
        VatCode,
        on_delete=models.PROTECT,
        related_name="accounts",
        null=True,
        blank=True,
        verbose_name="MVA-kode",
    )
    is_active = models.BooleanField("aktiv", default=True)

    class Meta:
        verbose_name = "konto"
        verbose_name_plural = "kontoplan"
        ordering = ["agency", "number"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "number"], name="account_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class Article(models.Model):
    """An article (vare). Exported to PowerOffice as the product "B-<id>"."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="articles")
    name = models.CharField("navn", max_length=200)
    unit = models.CharField("enhet", max_length=20, default="stk")
    price = models.DecimalField("pris eks. mva", **MONEY)
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="articles", verbose_name="salgskonto"
    )
    vat_code = models.ForeignKey(
        VatCode, on_delete=models.PROTECT, related_name="articles", verbose_name="MVA-kode"
    )
    is_active = models.BooleanField("aktiv", default=True)

    class Meta:
        verbose_name = "vare"
        verbose_name_plural = "varer"
        ordering = ["agency", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def product_code(self) -> str:
        return f"B-{self.pk}"


class CustomerKind(models.TextChoices):
    PERSON = "person", "Privatperson"
    COMPANY = "company", "Bedrift"
    ESTATE = "estate", "Dødsbo"


class Customer(models.Model):
    """A customer: a person, a company or an estate ("Dødsbo etter …").

    The customer number comes from the subgroup's customer number series.
    """

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="customers")
    subgroup = models.ForeignKey(
        Subgroup, on_delete=models.PROTECT, related_name="customers", verbose_name="undergruppe"
    )
    number = models.PositiveIntegerField("kundenummer")
    kind = models.CharField("type", max_length=10, choices=CustomerKind.choices)
    name = models.CharField("navn", max_length=200)
    # For an estate: the deceased's name; the customer's name reads "Dødsbo etter <name>".
    deceased_name = models.CharField("avdødes navn", max_length=200, blank=True)
    org_number = models.CharField("organisasjonsnummer", max_length=9, blank=True)
    email = models.EmailField("e-post", blank=True)
    phone = models.CharField("telefon", max_length=30, blank=True)
    address = models.CharField("adresse", max_length=200, blank=True)
    postal_code = models.CharField("postnummer", max_length=4, blank=True)
    city = models.CharField("poststed", max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "kunde"
        verbose_name_plural = "kunder"
        ordering = ["subgroup", "number"]
        constraints = [
            models.UniqueConstraint(fields=["subgroup", "number"], name="customer_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", "Faktura"
    CREDIT_NOTE = "credit_note", "Kreditnota"


class ExportStatus(models.TextChoices):
    """Where an invoice stands with the accounting system (written by the integration)."""

    NOT_EXPORTED = "not_exported", "Ikke eksportert"
    PENDING = "pending", "Venter på eksport"
    EXPORTING = "exporting", "Eksporteres"
    EXPORTED = "exported", "Eksportert"
    FAILED = "failed", "Feilet"
    HELD = "held", "Holdt tilbake"


class PaymentStatus(models.TextChoices):
    UNKNOWN = "", "Ukjent"
    UNPAID = "unpaid", "Ubetalt"
    PARTLY_PAID = "partly_paid", "Delvis betalt"
    PAID = "paid", "Betalt"
    REVERSED = "reversed", "Reversert"
    CREDITED = "credited", "Kreditert"
    PARTLY_CREDITED = "partly_credited", "Delvis kreditert"


class Invoice(models.Model):
    """An invoice or a credit note. Numbers come from the subgroup's invoice number series."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="invoices")
    subgroup = models.ForeignKey(
        Subgroup, on_delete=models.PROTECT, related_name="invoices", verbose_name="undergruppe"
    )
    office = models.ForeignKey(
        Office, on_delete=models.PROTECT, related_name="invoices", verbose_name="byrå"
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="invoices", verbose_name="kunde"
    )
    kind = models.CharField(
        "type", max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE
    )
    number = models.PositiveIntegerField("fakturanummer")
    credited_invoice = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        related_name="credit_notes",
        null=True,
        blank=True,
        verbose_name="krediterer faktura",
    )
    invoice_date = models.DateField("fakturadato")
    due_date = models.DateField("forfallsdato")
    kid = models.CharField("KID", max_length=25)
    our_reference = models.CharField("vår referanse", max_length=200, blank=True)
    their_reference = models.CharField("deres referanse", max_length=200, blank=True)
    deceased_name = models.CharField("avdøde", max_length=200, blank=True)
    note = models.TextField("merknad", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="invoices_created",
        verbose_name="opprettet av",
    )
    created_at = models.DateTimeField("opprettet", auto_now_add=True)

    # Totals, computed once from the lines by the service that writes them.
    net_total = models.DecimalField("sum eks. mva", default=Decimal("0.00"), **MONEY)
    vat_total = models.DecimalField("mva", default=Decimal("0.00"), **MONEY)
    gross_total = models.DecimalField("å betale", default=Decimal("0.00"), **MONEY)

    # Export state, written by the integration.
    export_status = models.CharField(
        "eksportstatus",
        max_length=20,
        choices=ExportStatus.choices,
        default=ExportStatus.NOT_EXPORTED,
        db_index=True,
    )
    export_error = models.TextField("eksportfeil", blank=True)
    export_attempts = models.PositiveIntegerField("eksportforsøk", default=0)
    export_claimed_at = models.DateTimeField(null=True, blank=True)
    exported_at = models.DateTimeField("eksportert", null=True, blank=True)
    external_voucher_id = models.CharField("bilags-id i regnskapet", max_length=64, blank=True)
    # The voucher's number and date as PowerOffice answers (Bilagsnr., Bilagsdato).
    voucher_no = models.BigIntegerField("bilagsnr.", null=True, blank=True)
    voucher_date = models.DateField("bilagsdato", null=True, blank=True)
    export_hidden = models.BooleanField("skjult fra ikke eksporterte", default=False)
    export_hidden_at = models.DateTimeField(null=True, blank=True)
    export_hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )

    # Payment state, written by the nightly payment check.
    payment_status = models.CharField(
        "betalingsstatus", max_length=16, choices=PaymentStatus.choices, blank=True, default=""
    )
    balance = models.DecimalField("utestående", null=True, blank=True, **MONEY)
    balance_changed_at = models.DateTimeField("saldo endret", null=True, blank=True)
    payment_checked_at = models.DateTimeField("betaling sjekket", null=True, blank=True)

    class Meta:
        verbose_name = "faktura"
        verbose_name_plural = "fakturaer"
        ordering = ["-invoice_date", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["subgroup", "number"], name="invoice_unique_number"),
            models.CheckConstraint(
                condition=Q(kind="invoice", credited_invoice__isnull=True)
                | Q(kind="credit_note", credited_invoice__isnull=False),
                name="invoice_credit_note_refers_to_invoice",
            ),
        ]
        indexes = [
            models.Index(fields=["agency", "export_status"], name="invoice_agency_export"),
            models.Index(fields=["subgroup", "payment_status"], name="invoice_subgroup_payment"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    @property
    def is_credit_note(self) -> bool:
        return self.kind == InvoiceKind.CREDIT_NOTE


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField("linje")
    article = models.ForeignKey(
        Article, on_delete=models.PROTECT, related_name="+", verbose_name="vare"
    )
    description = models.CharField("beskrivelse", max_length=300)
    quantity = models.DecimalField("antall", max_digits=12, decimal_places=3)
    unit = models.CharField("enhet", max_length=20)
    unit_price = models.DecimalField("pris eks. mva", **MONEY)
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", verbose_name="konto"
    )
    vat_code = models.ForeignKey(
        VatCode, on_delete=models.PROTECT, related_name="+", verbose_name="MVA-kode"
    )
    vat_rate = models.DecimalField("mva-sats (%)", max_digits=5, decimal_places=2)
    net_amount = models.DecimalField("beløp eks. mva", **MONEY)
    vat_amount = models.DecimalField("mva", **MONEY)
    gross_amount = models.DecimalField("beløp inkl. mva", **MONEY)

    class Meta:
        verbose_name = "fakturalinje"
        verbose_name_plural = "fakturalinjer"
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoiceline_unique_pos"),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def quantity_shown(self) -> Decimal:
        """The quantity for display: 2.500 -> 2.5, 150.000 -> 150."""
        return quantity_shown(self.quantity)
