"""Tenancy and people: agencies (etater), subgroups (undergrupper), offices (byråer) and users."""

from django.contrib.auth.models import AbstractUser
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q


class Agency(models.Model):
    """An agency (etat): the tenant. Every row a user can see belongs to one agency."""

    name = models.CharField("navn", max_length=200)
    org_number = models.CharField("organisasjonsnummer", max_length=9, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "etat"
        verbose_name_plural = "etater"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Subgroup(models.Model):
    """A subgroup (undergruppe): its own PowerOffice client, invoice and customer number series."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="subgroups")
    name = models.CharField("navn", max_length=200)
    org_number = models.CharField("organisasjonsnummer", max_length=9, blank=True)
    invoice_series_start = models.PositiveIntegerField("fakturanummer fra", default=100001)
    invoice_series_end = models.PositiveIntegerField("fakturanummer til", default=199999)
    next_invoice_number = models.PositiveIntegerField("neste fakturanummer", default=100001)
    customer_series_start = models.PositiveIntegerField("kundenummer fra", default=10000)
    customer_series_end = models.PositiveIntegerField("kundenummer til", default=19999)
    next_customer_number = models.PositiveIntegerField("neste kundenummer", default=10000)
    payment_terms_days = models.PositiveSmallIntegerField("betalingsfrist (dager)", default=14)
    # Kept compact (bitnet/identifiers.py): 11 digits, and the organisation number + "MVA".
    bank_account = models.CharField("kontonummer", max_length=11, blank=True)
    vat_number = models.CharField("MVA-nummer", max_length=12, blank=True)

    class Meta:
        verbose_name = "undergruppe"
        verbose_name_plural = "undergrupper"
        ordering = ["agency", "name"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "name"], name="subgroup_unique_name"),
            models.CheckConstraint(
                condition=Q(invoice_series_start__lte=F("invoice_series_end")),
                name="subgroup_invoice_series_ordered",
            ),
            models.CheckConstraint(
                condition=Q(customer_series_start__lte=F("customer_series_end")),
                name="subgroup_customer_series_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Office(models.Model):
    """An office (byrå/kontor) of a subgroup; "Ekstern avdeling" is its PowerOffice department."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="offices")
    subgroup = models.ForeignKey(Subgroup, on_delete=models.PROTECT, related_name="offices")
    name = models.CharField("navn", max_length=200)
    address = models.CharField("adresse", max_length=200, blank=True)
    postal_code = models.CharField("postnummer", max_length=4, blank=True)
    city = models.CharField("poststed", max_length=100, blank=True)
    phone = models.CharField("telefon", max_length=30, blank=True)
    # PowerOffice department code chosen among the synced departments ("Ekstern avdeling").
    external_department_code = models.CharField("ekstern avdeling", max_length=50, blank=True)

    class Meta:
        verbose_name = "byrå"
        verbose_name_plural = "byråer"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", "Administrator"
    FINANCE = "okonomi", "Økonomi"
    PAYROLL = "lonn", "Lønn"
    USER = "bruker", "Bruker"


class User(AbstractUser):
    """A person who logs in. Belongs to one agency (superusers may have none)."""

    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="users", null=True, blank=True
    )
    office = models.ForeignKey(
        Office,
        on_delete=models.SET_NULL,
        related_name="users",
        null=True,
        blank=True,
        verbose_name="byrå",
    )
    role = models.CharField("rolle", max_length=20, choices=Role.choices, default=Role.USER)
    # Varsler på e-post (Min profil): administrators and finance users get a daily digest.
    alerts_enabled = models.BooleanField("send meg varsler på e-post", default=True)
    # "Ansettelsesnr. (PowerOffice)": the PowerOffice employee number, a positive whole number.
    employee_number = models.PositiveIntegerField(
        "Ansettelsesnr. (PowerOffice)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
    )

    class Meta:
        verbose_name = "bruker"
        verbose_name_plural = "brukere"
        ordering = ["first_name", "last_name", "username"]
        constraints = [
            models.CheckConstraint(
                condition=Q(employee_number__isnull=True) | Q(employee_number__gte=1),
                name="user_employee_number_positive",
            ),
            # One PowerOffice employee per number: two users with one number would have their
            # invoices and mileage booked on the same person.
            models.UniqueConstraint(
                fields=["agency", "employee_number"], name="user_unique_employee_number"
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_administrator(self) -> bool:
        return self.role == Role.ADMINISTRATOR

    def has_role(self, *roles: str) -> bool:
        """Administrators may do everything inside their agency."""
        return self.role == Role.ADMINISTRATOR or self.role in roles


class AuditArea(models.TextChoices):
    """Where a change was made: the page its Endringslogg is shown on."""

    DATADELING = "datadeling", "Datadeling"
    INTEGRATIONS = "integrasjoner", "Integrasjoner"
    WAGE_CODES = "lonnskoder", "Lønnskoder"
    USERS = "brukere", "Brukere"
    OFFICES = "byraer", "Byrå"


class AuditEntry(models.Model):
    """One change of a setting, recorded by the service that made it (bitnet/audit/): who, when
    and what, with the old and new value of each field. Secrets are never recorded: a client key
    is only named by its last four characters."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="audit_entries")
    area = models.CharField("område", max_length=20, choices=AuditArea.choices)
    # What kind of change, for lookups ("client_key", "options", "activated", "updated", ...).
    action = models.CharField(max_length=40)
    # The subgroup the change concerns (Datadeling, Integrasjoner, Lønnskoder, an office's).
    subgroup = models.ForeignKey(
        Subgroup, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The user or office changed (area Brukere or Byrå); no foreign key, so history outlives it.
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    actor = models.ForeignKey(
        "bitnet.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The actor's name at the time ("System" for the demo, commands and scheduled jobs).
    actor_name = models.CharField("endret av", max_length=300)
    summary = models.CharField("endring", max_length=300)
    # [{"field": label, "old": text, "new": text}, ...]
    changes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField("tidspunkt", auto_now_add=True)

    class Meta:
        verbose_name = "endring"
        verbose_name_plural = "endringslogg"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["agency", "area", "subgroup", "-created_at"], name="audit_subgroup"
            ),
            models.Index(
                fields=["agency", "area", "object_id", "-created_at"], name="audit_object"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%d.%m.%Y %H:%M} {self.actor_name}: {self.summary}"
