"""PowerOffice Go integration state: connections per subgroup, synced departments, export
attempts and batches, validation results and payment-check runs."""

from django.conf import settings
from django.db import models

from accounting.models import Invoice
from bitnet.models import Agency, Subgroup


class Connection(models.Model):
    """Datadeling for one subgroup: its PowerOffice client key and options (manual, Kom i gang)."""

    subgroup = models.OneToOneField(
        Subgroup, on_delete=models.CASCADE, related_name="poweroffice_connection"
    )
    enabled = models.BooleanField("PowerOffice som regnskapssystem", default=False)
    # Fernet-encrypted client key (poweroffice/crypto.py); never shown again, only its last 4.
    client_key_encrypted = models.TextField(blank=True)
    client_key_last4 = models.CharField(max_length=4, blank=True)
    client_name = models.CharField("klient i PowerOffice", max_length=200, blank=True)
    client_id = models.CharField(max_length=64, blank=True)
    # Known when the client was connected through "Koble til PowerOffice" (PowerOffice's
    # onboarding names it); GET /ClientIntegrationInformation does not.
    client_org_number = models.CharField(
        "organisasjonsnr. i PowerOffice", max_length=20, blank=True
    )
    subscriptions = models.JSONField(default=list, blank=True)
    privileges = models.JSONField(default=list, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verify_error = models.TextField(blank=True)

    include_employee_number = models.BooleanField(
        "Ta med Ansattnr ved eksport av fakturaer", default=False
    )
    auto_export = models.BooleanField(
        "Eksporter automatisk nye fakturaer til PowerOffice", default=False
    )
    include_specification = models.BooleanField(
        "Send med fakturaspesifikasjon ved eksport til PowerOffice", default=False
    )
    include_department = models.BooleanField("Send med avdeling for fakturaer", default=False)
    departments_synced_at = models.DateTimeField(null=True, blank=True)

    # Prerequisite checks (Valider kontoplan, VAT codes, number series), last result.
    prerequisites = models.JSONField(default=dict, blank=True)
    prerequisites_checked_at = models.DateTimeField(null=True, blank=True)
    prerequisites_ok = models.BooleanField(null=True)

    # Payroll (Administrasjon > Integrasjoner > PowerOffice Go "Aktiver").
    payroll_enabled = models.BooleanField("lønnsintegrasjon aktivert", default=False)
    payroll_verified_at = models.DateTimeField(null=True, blank=True)

    # Nightly payment check: moves only when a run succeeds.
    payments_watermark = models.DateTimeField(null=True, blank=True)
    payments_full_sync_at = models.DateTimeField(null=True, blank=True)

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "PowerOffice-tilkobling"
        verbose_name_plural = "PowerOffice-tilkoblinger"

    def __str__(self) -> str:
        return f"PowerOffice for {self.subgroup}"

    @property
    def has_client_key(self) -> bool:
        return bool(self.client_key_encrypted)

    @property
    def masked_client_key(self) -> str:
        return f"••••••••{self.client_key_last4}" if self.client_key_last4 else ""


class Department(models.Model):
    """A PowerOffice department, fetched by "Synkroniser avdelinger"."""

    subgroup = models.ForeignKey(
        Subgroup, on_delete=models.CASCADE, related_name="poweroffice_departments"
    )
    external_id = models.BigIntegerField()
    code = models.CharField("kode", max_length=50)
    name = models.CharField("navn", max_length=200)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["subgroup", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["subgroup", "external_id"], name="po_department_unique_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class AttemptTrigger(models.TextChoices):
    AUTOMATIC = "automatic", "Automatisk"
    MANUAL = "manual", "Manuell"
    BATCH = "batch", "Eksporter alle"
    SWEEPER = "sweeper", "Opprydding"
    COMMAND = "command", "Kommandolinje"


class AttemptOutcome(models.TextChoices):
    RUNNING = "running", "Pågår"
    SUCCESS = "success", "Eksportert"
    FAILED = "failed", "Feilet"
    HELD = "held", "Holdt tilbake"


class ExportAttempt(models.Model):
    """One outbound attempt to export an invoice: the audit trail staff can see."""

    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="export_attempts_log"
    )
    trigger = models.CharField(max_length=12, choices=AttemptTrigger.choices)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=10, choices=AttemptOutcome.choices, default=AttemptOutcome.RUNNING
    )
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    requests = models.PositiveIntegerField(default=0)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What kind of failure (e.g. "transient", "auth", "account_missing"); transient failures are
    # retried by the task and the sweeper, the others wait for a person to fix the cause.
    error_kind = models.CharField(max_length=30, blank=True)
    retryable = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Eksport {self.pk} av faktura {self.invoice_id}: {self.get_outcome_display()}"

    @property
    def started_by(self) -> str:
        """Who or what started the attempt, as the invoice page says it."""
        if self.trigger in (AttemptTrigger.MANUAL, AttemptTrigger.BATCH):
            user = self.user
            name = (user.get_full_name() or user.get_username()) if user else "slettet bruker"
            return f"Startet av: {name}"
        return _STARTED_BY.get(self.trigger, self.get_trigger_display())


_STARTED_BY: dict[str, str] = {
    AttemptTrigger.AUTOMATIC: "Automatisk ved lagring",
    AttemptTrigger.SWEEPER: "Nattlig gjenforsøk",
    AttemptTrigger.COMMAND: "Kommando export_invoices",
}


class ExportBatch(models.Model):
    """A background "Eksporter alle" run, with progress the page polls."""

    class Status(models.TextChoices):
        QUEUED = "queued", "I kø"
        RUNNING = "running", "Pågår"
        DONE = "done", "Ferdig"
        FAILED = "failed", "Feilet"

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    invoice_ids = models.JSONField(default=list)
    total = models.PositiveIntegerField(default=0)
    exported = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # Touched as the batch task makes progress; a running batch whose heartbeat stops (worker
    # killed) is picked up again by the export sweeper.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Eksporter alle {self.pk}: {self.get_status_display()}"


class AccountValidation(models.Model):
    """The last "Valider kontoplan" result for a subgroup, kept with its time."""

    subgroup = models.ForeignKey(Subgroup, on_delete=models.CASCADE, related_name="+")
    run_at = models.DateTimeField(auto_now_add=True)
    run_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    ok = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict)

    class Meta:
        ordering = ["-run_at"]

    def __str__(self) -> str:
        return f"Valider kontoplan {self.pk} for undergruppe {self.subgroup_id}"


class PaymentSyncRun(models.Model):
    """One payment check for one subgroup: when, how many checked and changed, errors."""

    class Mode(models.TextChoices):
        INCREMENTAL = "incremental", "Inkrementell"
        FULL = "full", "Full avstemming"

    subgroup = models.ForeignKey(Subgroup, on_delete=models.CASCADE, related_name="+")
    mode = models.CharField(max_length=12, choices=Mode.choices)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    success = models.BooleanField(null=True)
    checked = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    requests = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    watermark_before = models.DateTimeField(null=True, blank=True)
    watermark_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Betalingssjekk {self.pk} for undergruppe {self.subgroup_id}"

    @property
    def duration_s(self) -> float | None:
        """How long the run took, in seconds; None while it runs."""
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None


class Reconciliation(models.Model):
    """One month-end reconciliation of a subgroup's invoices against PowerOffice Go (Økonomi >
    Avstemming): the period, who ran it and when, the summary and every difference found."""

    class State(models.TextChoices):
        RUNNING = "running", "Pågår"
        RECONCILED = "reconciled", "Avstemt"
        DIFFERENCES = "differences", "Avvik"
        FAILED = "failed", "Feilet"

    subgroup = models.ForeignKey(Subgroup, on_delete=models.CASCADE, related_name="+")
    period_from = models.DateField("fra dato")
    period_to = models.DateField("til dato")
    run_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="kjørt av",
    )
    started_at = models.DateTimeField("startet", auto_now_add=True)
    finished_at = models.DateTimeField("ferdig", null=True, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.RUNNING)
    progress = models.CharField("fremdrift", max_length=200, blank=True)
    requests = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    summary = models.JSONField("sammendrag", default=dict, blank=True)
    differences = models.JSONField("avvik", default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["subgroup", "-started_at"], name="reconciliation_subgroup")]

    def __str__(self) -> str:
        return f"Avstemming {self.period_from}–{self.period_to} for undergruppe {self.subgroup_id}"


class AlertKind(models.TextChoices):
    """What an e-mail alert is about; one digest a day at most per kind, agency and user."""

    CONNECTION = "connection", "Tilkoblingen til PowerOffice er brutt"
    EXPORT = "export", "Fakturaer som må rettes før eksport"
    PAYMENT_CHECK = "payment_check", "Betalingssjekken feilet"
    PAYROLL_ROLLBACK = "payroll_rollback", "Tilbakerulling av lønnseksport ufullstendig"
    RECONCILIATION = "reconciliation", "Avvik i månedlig avstemming"


class AlertEvent(models.Model):
    """Something a person must act on, recorded where it happened; sent in the next digest."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    subgroup = models.ForeignKey(
        Subgroup, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    message = models.TextField()
    path = models.CharField(max_length=300, blank=True)  # the page to fix it on, site-relative
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["sent_at", "agency", "kind"], name="alertevent_pending")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message[:40]}"


class AlertDelivery(models.Model):
    """A digest one user got on one day for one kind: what keeps it to one a day."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    day = models.DateField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "user", "kind", "day"], name="alertdelivery_once_a_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} til {self.user_id} {self.day}"
