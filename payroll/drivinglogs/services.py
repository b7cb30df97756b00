"""Writes for Lønn > Kjørebøker: driving logs, their trips and their status.

Each write locks the log row first (SELECT … FOR UPDATE), so a trip cannot be added to a log
that a payroll export is taking or that was just approved in another tab; an exported log is
read-only (SPEC Part B).
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from bitnet.models import User
from payroll import limits
from payroll.drivinglogs.selectors import (
    STATUS_TRANSITIONS,
    drivinglog_is_locked,
    drivinglog_overlapping,
    user_sees_all_logs,
)
from payroll.models import DrivingLog, DrivingLogStatus, Trip

LOCKED_MESSAGE = "Kjøreboken er eksportert til lønn og kan ikke endres."


def _period(log: DrivingLog) -> str:
    return f"{log.period_start:%d.%m.%Y}–{log.period_end:%d.%m.%Y}"


def drivinglog_create(
    *,
    driver: User,
    period_start: dt.date,
    period_end: dt.date,
    vehicle: str = "",
) -> DrivingLog:
    """A new log "Under arbeid" for ``driver``. Periods of one driver never overlap."""
    if period_start > period_end:
        raise ValidationError({"period_start": "Fra dato kan ikke være etter til dato."})
    if driver.agency_id is None:
        raise ValidationError({"driver": "Sjåføren hører ikke til en etat."})
    with transaction.atomic():
        # Serialise new logs per driver, so two submissions cannot both pass the overlap check.
        User.objects.select_for_update().filter(pk=driver.pk).first()
        existing = drivinglog_overlapping(
            driver_id=driver.pk, period_start=period_start, period_end=period_end
        ).first()
        if existing is not None:
            raise ValidationError(
                {
                    "period_start": f"{driver} har allerede en kjørebok for perioden "
                    f"{_period(existing)}. Perioder kan ikke overlappe."
                }
            )
        try:
            with transaction.atomic():
                return DrivingLog.objects.create(
                    agency_id=driver.agency_id,
                    driver=driver,
                    period_start=period_start,
                    period_end=period_end,
                    vehicle=vehicle.strip().upper(),
                )
        except IntegrityError:
            raise ValidationError(
                {"period_start": f"{driver} har allerede en kjørebok som starter denne dagen."}
            ) from None


def _lock_log(log_id: int) -> DrivingLog:
    log = DrivingLog.objects.select_for_update().get(pk=log_id)
    if drivinglog_is_locked(log=log):
        raise ValidationError(LOCKED_MESSAGE)
    return log


def _check_trip(log: DrivingLog, trip: Trip) -> None:
    errors: dict[str, str] = {}
    if trip.date and not log.period_start <= trip.date <= log.period_end:
        errors["date"] = f"Datoen må ligge i kjørebokens periode ({_period(log)})."
    if trip.km is not None and trip.km <= 0:
        errors["km"] = "Antall km må være større enn 0."
    elif trip.km is not None and trip.km > limits.TRIP_MAX_KM:
        errors["km"] = limits.KM_TOO_LONG
    if trip.passengers is not None and trip.passengers < 0:
        errors["passengers"] = "Antall passasjerer kan ikke være negativt."
    elif trip.passengers is not None and trip.passengers > limits.TRIP_MAX_PASSENGERS:
        errors["passengers"] = limits.TOO_MANY_PASSENGERS
    for name in ("toll", "parking", "ferry"):
        value = getattr(trip, name)
        if value is not None and value < 0:
            errors[name] = "Beløpet kan ikke være negativt."
        elif value is not None and value > limits.TRIP_MAX_EXPENSE:
            errors[name] = limits.EXPENSE_TOO_HIGH
    if errors:
        raise ValidationError(errors)
    trip.full_clean(exclude=["log"])


TRIP_FIELDS = (
    "date",
    "from_place",
    "to_place",
    "purpose",
    "km",
    "passengers",
    "toll",
    "parking",
    "ferry",
    "trailer",
    "forest_road",
)


def trip_create(
    *,
    log: DrivingLog,
    date: dt.date,
    from_place: str,
    to_place: str,
    purpose: str,
    km: Decimal,
    passengers: int = 0,
    toll: Decimal = Decimal("0"),
    parking: Decimal = Decimal("0"),
    ferry: Decimal = Decimal("0"),
    trailer: bool = False,
    forest_road: bool = False,
) -> Trip:
    with transaction.atomic():
        locked = _lock_log(log.pk)
        trip = Trip(
            log=locked,
            date=date,
            from_place=from_place.strip(),
            to_place=to_place.strip(),
            purpose=purpose.strip(),
            km=km,
            passengers=passengers,
            toll=toll,
            parking=parking,
            ferry=ferry,
            trailer=trailer,
            forest_road=forest_road,
        )
        _check_trip(locked, trip)
        trip.save()
    return trip


def trip_update(*, trip: Trip, **fields: Any) -> Trip:
    unknown = set(fields) - set(TRIP_FIELDS)
    if unknown:
        raise TypeError(f"Unknown trip fields: {sorted(unknown)}")
    with transaction.atomic():
        locked = _lock_log(trip.log_id)
        for name, value in fields.items():
            setattr(trip, name, value.strip() if isinstance(value, str) else value)
        _check_trip(locked, trip)
        trip.save(update_fields=list(fields))
    return trip


def trip_delete(*, trip: Trip) -> None:
    with transaction.atomic():
        _lock_log(trip.log_id)
        trip.delete()


def drivinglog_set_status(*, log: DrivingLog, status: str, actor: User) -> DrivingLog:
    """Move a log along Under arbeid -> Levert -> Godkjent (and back one step).

    Approving (and undoing it) is for payroll staff and administrators; the driver may deliver
    their own log and take it back until it is approved.
    """
    with transaction.atomic():
        locked = _lock_log(log.pk)
        transition = STATUS_TRANSITIONS.get((locked.status, status))
        if transition is None:
            target = dict(DrivingLogStatus.choices).get(status, status)
            raise ValidationError(
                f"Kjøreboken kan ikke gå fra «{locked.get_status_display()}» til «{target}»."
            )
        _, who = transition
        payroll = user_sees_all_logs(user=actor)
        if actor.agency_id != locked.agency_id or not (
            payroll or (who == "owner" and locked.driver_id == actor.pk)
        ):
            raise PermissionDenied
        delivering = locked.status == DrivingLogStatus.DRAFT
        if delivering and status == DrivingLogStatus.SUBMITTED and not locked.trips.exists():
            raise ValidationError("Legg inn minst én tur før kjøreboken leveres.")
        locked.status = status
        locked.save(update_fields=["status"])
    log.status = status
    return locked
