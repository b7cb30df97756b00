"""Driving logs (kjørebøker), trips and the state mileage rates per year (as data, not code)."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q

from bitnet.models import Agency

MONEY = {"max_digits": 12, "decimal_places": 2}


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


class Trip(models.Model):
    """One trip in a driving log."""

    log = models.ForeignKey(DrivingLog, on_delete=models.CASCADE, related_name="trips")
    date = models.DateField("dato")
    from_place = models.CharField("fra", max_length=200)
    to_place = models.CharField("til", max_length=200)
    purpose = models.CharField("formål", max_length=300)
    km = models.DecimalField(
        "km", max_digits=8, decimal_places=1, validators=[MinValueValidator(Decimal("0.1"))]
    )
    passengers = models.PositiveSmallIntegerField("passasjerer", default=0)
    toll = models.DecimalField(
        "bompenger", default=Decimal("0"), validators=[MinValueValidator(0)], **MONEY
    )
    parking = models.DecimalField(
        "parkering", default=Decimal("0"), validators=[MinValueValidator(0)], **MONEY
    )
    ferry = models.DecimalField(
        "ferje", default=Decimal("0"), validators=[MinValueValidator(0)], **MONEY
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
        ]

    def __str__(self) -> str:
        return f"{self.date:%d.%m.%Y} {self.from_place}–{self.to_place}"
