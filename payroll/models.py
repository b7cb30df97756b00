"""Driving logs (kjørebøker), trips and the state mileage rates per year (as data, not code)."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from accounting.money import MoneyDigits
from bitnet.models import Agency
from payroll.limits import (
    EXPENSE_TOO_HIGH,
    KM_TOO_LONG,
    TOO_MANY_PASSENGERS,
    TRIP_MAX_EXPENSE,
    TRIP_MAX_KM,
    TRIP_MAX_PASSENGERS,
)

MONEY: MoneyDigits = {"max_digits": 12, "decimal_places": 2}


class MileageRate(models.Model):
    """The state's mileage rate for a year (e.g. 2025: 5.00 NOK/km, 2026: 5.30 NOK/km)."""

    year = models.PositiveSmallIntegerField("år", unique=True)
    rate_per_km = models.DecimalField("sats per km", max_digits=6, decimal_places=2)
    passenger_rate_per_km = models.DecimalField(
        "passasjertillegg per km", max_digits=6, decimal_places=2
    )
    trailer_rate_per_km = models.DecimalField(
        "tillegg tilhenger/utstyr per km", max_digits=6, decimal_places=2, default=Decimal("1.00")
    )
    forest_road_rate_per_km = models.DecimalField(
        "tillegg skogs-/anleggsvei per km", max_digits=6, decimal_places=2, default=Decimal("1.00")
    )

    class Meta:
        verbose_name = "kilometersats"
        verbose_name_plural = "kilometersatser"
        ordering = ["-year"]

    def __str__(self) -> str:
        return f"{self.year}: {self.rate_per_km} kr/km"


class DrivingLogStatus(models.TextChoices):
    DRAFT = "draft", "Under arbeid"
    SUBMITTED = "submitted", "Levert"
    APPROVED = "approved", "Godkjent"
    EXPORTED = "exported", "Eksportert"


class DrivingLog(models.Model):
    """A driver's driving log (kjørebok) for one period."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="driving_logs")
    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="driving_logs",
        verbose_name="sjåfør",
    )
    period_start = models.DateField("fra dato")
    period_end = models.DateField("til dato")
    status = models.CharField(
        "status", max_length=12, choices=DrivingLogStatus.choices, default=DrivingLogStatus.DRAFT
    )
    vehicle = models.CharField("kjøretøy (reg.nr.)", max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "kjørebok"
        verbose_name_plural = "kjørebøker"
        ordering = ["-period_start", "driver"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_start__lte=F("period_end")), name="drivinglog_period_ordered"
            ),
            models.UniqueConstraint(
                fields=["driver", "period_start"], name="drivinglog_unique_driver_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.driver} {self.period_start:%d.%m.%Y}–{self.period_end:%d.%m.%Y}"


_EXPENSE_VALIDATORS = [
    MinValueValidator(0),
    MaxValueValidator(TRIP_MAX_EXPENSE, message=EXPENSE_TOO_HIGH),
]


class Trip(models.Model):
    """One trip in a driving log, within the sane limits of payroll/limits.py."""

    log = models.ForeignKey(DrivingLog, on_delete=models.CASCADE, related_name="trips")
    date = models.DateField("dato")
    from_place = models.CharField("fra", max_length=200)
    to_place = models.CharField("til", max_length=200)
    purpose = models.CharField("formål", max_length=300)
    km = models.DecimalField(
        "km",
        max_digits=8,
        decimal_places=1,
        validators=[
            MinValueValidator(Decimal("0.1")),
            MaxValueValidator(TRIP_MAX_KM, message=KM_TOO_LONG),
        ],
    )
    passengers = models.PositiveSmallIntegerField(
        "passasjerer",
        default=0,
        validators=[MaxValueValidator(TRIP_MAX_PASSENGERS, message=TOO_MANY_PASSENGERS)],
    )
    toll = models.DecimalField(
        "bompenger", default=Decimal("0"), validators=_EXPENSE_VALIDATORS, **MONEY
    )
    parking = models.DecimalField(
        "parkering", default=Decimal("0"), validators=_EXPENSE_VALIDATORS, **MONEY
    )
    ferry = models.DecimalField(
        "ferje", default=Decimal("0"), validators=_EXPENSE_VALIDATORS, **MONEY
    )
    trailer = models.BooleanField("tilhenger/utstyr", default=False)
    forest_road = models.BooleanField("skogs-/anleggsvei", default=False)

    class Meta:
        verbose_name = "tur"
        verbose_name_plural = "turer"
        ordering = ["log", "date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(km__gt=0), name="trip_km_positive"),
            models.CheckConstraint(
                condition=Q(toll__gte=0) & Q(parking__gte=0) & Q(ferry__gte=0),
                name="trip_expenses_not_negative",
            ),
            models.CheckConstraint(condition=Q(km__lte=TRIP_MAX_KM), name="trip_km_limit"),
            models.CheckConstraint(
                condition=Q(passengers__lte=TRIP_MAX_PASSENGERS), name="trip_passengers_limit"
            ),
            models.CheckConstraint(
                condition=Q(toll__lte=TRIP_MAX_EXPENSE)
                & Q(parking__lte=TRIP_MAX_EXPENSE)
                & Q(ferry__lte=TRIP_MAX_EXPENSE),
                name="trip_expenses_limit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date:%d.%m.%Y} {self.from_place}–{self.to_place}"


# --- Payroll export to PowerOffice Go (SPEC Part B) -----------------------------------------------


class ReimbursementKind(models.TextChoices):
    """The kinds of reimbursement a driving log gives, each mapped to a PowerOffice pay item."""

    MILEAGE = "mileage", "Kilometergodtgjørelse"
    PASSENGER = "passenger", "Passasjertillegg"
    TOLL = "toll", "Bompenger"
    PARKING = "parking", "Parkering"
    FERRY = "ferry", "Ferje"
    TRAILER = "trailer", "Tilhenger/utstyr"
    FOREST_ROAD = "forest_road", "Skogs-/anleggsvei"


class WageCodeMapping(models.Model):
    """Lønnskoder: a subgroup's PowerOffice pay item code for one kind of reimbursement.

    ``pay_item_id``/``pay_item_name`` are what PowerOffice answered at ``checked_at``;
    ``check_error`` says why the last check failed (missing or inactive pay item).
    """

    subgroup = models.ForeignKey(
        "bitnet.Subgroup", on_delete=models.CASCADE, related_name="wage_code_mappings"
    )
    kind = models.CharField("type godtgjørelse", max_length=20, choices=ReimbursementKind.choices)
    pay_item_code = models.CharField("lønnsart (kode i PowerOffice Go)", max_length=200)
    pay_item_id = models.CharField(max_length=36, blank=True)
    pay_item_name = models.CharField("navn i PowerOffice Go", max_length=400, blank=True)
    # The pay item's ProcessingType (e.g. QuantityAndRate, ExpenseRefund): decides whether a
    # salary line sends Amount or lets PowerOffice compute it from Quantity × Rate.
    pay_item_processing_type = models.CharField(max_length=60, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    check_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "lønnskode"
        verbose_name_plural = "lønnskoder"
        ordering = ["subgroup", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["subgroup", "kind"], name="wagecode_unique_kind"),
            models.CheckConstraint(condition=~Q(pay_item_code=""), name="wagecode_code_not_blank"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.pay_item_code}"


class PayrollExportStatus(models.TextChoices):
    DRAFT = "draft", "Klar"
    RUNNING = "running", "Pågår"
    EXPORTED = "exported", "Eksportert"
    FAILED = "failed", "Feilet"
    ROLLING_BACK = "rolling_back", "Ruller tilbake"
    ROLLED_BACK = "rolled_back", "Rullet tilbake"
    ROLLBACK_INCOMPLETE = "rollback_incomplete", "Tilbakerulling ufullstendig"


class PayrollExport(models.Model):
    """One export of driving logs to PowerOffice Go payroll (Lønn > Lønnseksport)."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="payroll_exports")
    subgroup = models.ForeignKey(
        "bitnet.Subgroup", on_delete=models.PROTECT, related_name="payroll_exports"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="opprettet av",
    )
    date_from = models.DateField("fra dato")
    date_to = models.DateField("til dato")
    status = models.CharField(
        "status",
        max_length=20,
        choices=PayrollExportStatus.choices,
        default=PayrollExportStatus.DRAFT,
    )
    error = models.TextField("feil", blank=True)
    # One wizard submission creates at most one export (a second POST finds this one).
    submission_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    lines_total = models.PositiveIntegerField(default=0)
    lines_created = models.PositiveIntegerField(default=0)
    lines_deleted = models.PositiveIntegerField(default=0)
    amount_total = models.DecimalField("beløp", default=Decimal("0"), **MONEY)
    requests = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField("opprettet", auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Refreshed while a run works; a run whose heartbeat stopped may be resumed.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The claim of the run working on it now: a run that finds another token here has been
    # taken over (its heartbeat had stopped) and stops writing.
    run_token = models.UUIDField(null=True, blank=True, editable=False)
    # What happened when a run that stopped half-way was taken over (one paragraph each time).
    recovery_note = models.TextField("gjenopptatt", blank=True)
    finished_at = models.DateTimeField("ferdig", null=True, blank=True)

    class Meta:
        verbose_name = "lønnseksport"
        verbose_name_plural = "lønnseksporter"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(date_from__lte=F("date_to")), name="payrollexport_period_ordered"
            ),
        ]
        indexes = [models.Index(fields=["agency", "-created_at"], name="payrollexport_agency")]

    def __str__(self) -> str:
        return f"Lønnseksport {self.pk} {self.date_from:%d.%m.%Y}–{self.date_to:%d.%m.%Y}"


class PayrollExportLog(models.Model):
    """A driving log taken by an export. ``active`` claims it: a log is in one active export only
    (unique constraint), and the claim is released only when the export is rolled back."""

    export = models.ForeignKey(PayrollExport, on_delete=models.CASCADE, related_name="log_claims")
    log = models.ForeignKey(DrivingLog, on_delete=models.PROTECT, related_name="export_claims")
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "kjørebok i lønnseksport"
        verbose_name_plural = "kjørebøker i lønnseksport"
        constraints = [
            models.UniqueConstraint(fields=["export", "log"], name="payrollexportlog_unique"),
            models.UniqueConstraint(
                fields=["log"], condition=Q(active=True), name="payrollexportlog_log_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.log} i lønnseksport {self.export_id}"


class PayrollExportLineState(models.TextChoices):
    PENDING = "pending", "Venter"
    CREATED = "created", "Opprettet"
    FAILED = "failed", "Feilet"
    DELETED = "deleted", "Slettet"
    DELETE_FAILED = "delete_failed", "Kunne ikke slettes"


class PayrollExportLine(models.Model):
    """One salary line: an employee's reimbursements of one pay item (and year and rate)."""

    export = models.ForeignKey(PayrollExport, on_delete=models.CASCADE, related_name="lines")
    employee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="ansatt"
    )
    employee_number = models.PositiveIntegerField("ansattnr.")
    po_employee_id = models.BigIntegerField(null=True, blank=True)
    # Comma-joined ReimbursementKind values: kinds that share a pay item share a line.
    kind = models.CharField("type", max_length=100)
    pay_item_code = models.CharField("lønnsart", max_length=200)
    pay_item_id = models.CharField(max_length=36)
    processing_type = models.CharField(max_length=60, blank=True)
    year = models.PositiveSmallIntegerField("år")
    quantity = models.DecimalField("antall", max_digits=12, decimal_places=2)
    rate = models.DecimalField("sats", **MONEY)
    amount = models.DecimalField("beløp", **MONEY)
    comment = models.CharField("kommentar", max_length=200, blank=True)
    external_import_reference = models.CharField(max_length=100, unique=True)
    po_salary_line_id = models.BigIntegerField("id i PowerOffice Go", null=True, blank=True)
    state = models.CharField(
        max_length=16,
        choices=PayrollExportLineState.choices,
        default=PayrollExportLineState.PENDING,
    )
    error = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "lønnslinje"
        verbose_name_plural = "lønnslinjer"
        ordering = ["export", "position", "id"]
        indexes = [models.Index(fields=["export", "state"], name="payrollexportline_state")]

    def __str__(self) -> str:
        return f"{self.employee_number} {self.pay_item_code} {self.amount}"

    @property
    def kind_labels(self) -> str:
        labels = dict(ReimbursementKind.choices)
        return ", ".join(labels.get(k, k) for k in self.kind.split(",") if k)
