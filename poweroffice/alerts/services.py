"""Recording what needs a person (alert_record, called where it happens) and sending the daily
digests by e-mail (alerts_send_digests, the Celery beat task's work).

Each digest goes to the agency's active users with an e-mail address who have not turned alerts
off on Min profil and whose role opens the page the alert links to (``RECIPIENT_ROLES``): the
administrators always, finance users for invoices and reconciliation, payroll users for a payroll
rollback. At most once a day per kind (AlertDelivery).
Events that came after a user's digest of the day wait for the next day's. Texts come from
poweroffice/messages.py, which never holds a key or token; links are absolute (SITE_URL).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from bitnet.models import Role, Subgroup, User
from poweroffice.models import AlertDelivery, AlertEvent, AlertKind

logger = logging.getLogger(__name__)

# Export failures that mean the connection itself is broken (key revoked, wrong client,
# missing privilege), not the one invoice.
CONNECTION_KINDS = frozenset({"auth", "forbidden"})

# Who may open the page each kind of alert links to (administrators open every page):
# Datadeling and Betalingssjekk are the administrators', Ikke eksporterte fakturaer and
# Avstemming the finance users', a payroll export the payroll users'.
RECIPIENT_ROLES: dict[AlertKind, tuple[str, ...]] = {
    AlertKind.CONNECTION: (Role.ADMINISTRATOR,),
    AlertKind.PAYMENT_CHECK: (Role.ADMINISTRATOR,),
    AlertKind.EXPORT: (Role.ADMINISTRATOR, Role.FINANCE),
    AlertKind.RECONCILIATION: (Role.ADMINISTRATOR, Role.FINANCE),
    AlertKind.PAYROLL_ROLLBACK: (Role.ADMINISTRATOR, Role.PAYROLL),
}


def alert_record(
    *, subgroup: Subgroup, kind: AlertKind, message: str, path: str = ""
) -> AlertEvent | None:
    """Note an event for the next digest. Never lets the caller fail over an alert."""
    try:
        return AlertEvent.objects.create(
            agency_id=subgroup.agency_id,
            subgroup=subgroup,
            kind=kind,
            message=f"{subgroup.name}: {message}",
            path=path,
        )
    except Exception:
        logger.exception("Alert for subgroup %s could not be recorded", subgroup.pk)
        return None


def recipients(agency_id: int, kind: AlertKind) -> list[User]:
    """Who gets the digest of ``kind``: only those whose role opens the page it links to."""
    return list(
        User.objects.filter(
            agency_id=agency_id,
            is_active=True,
            alerts_enabled=True,
            role__in=RECIPIENT_ROLES[kind],
        )
        .exclude(email="")
        .order_by("pk")
    )


def alerts_send_digests(*, now: dt.datetime | None = None) -> int:
    """Send the digests due now; returns how many mails went out."""
    now = now or timezone.now()
    pending = (
        AlertEvent.objects.filter(sent_at__isnull=True)
        .values_list("agency_id", "kind")
        .distinct()
        .order_by("agency_id", "kind")
    )
    return sum(_send_kind(agency_id, AlertKind(kind), now) for agency_id, kind in pending)


def _send_kind(agency_id: int, kind: AlertKind, now: dt.datetime) -> int:
    events = list(AlertEvent.objects.filter(agency_id=agency_id, kind=kind, sent_at__isnull=True))
    if not events:
        return 0
    day = timezone.localdate(now)
    sent = 0
    waiting = False
    subject, body = _compose(kind, events)
    for user in recipients(agency_id, kind):
        try:
            with transaction.atomic():
                AlertDelivery.objects.create(agency_id=agency_id, user=user, kind=kind, day=day)
                send_mail(subject, body, None, [user.email])
        except IntegrityError:
            waiting = True  # this user had today's digest of this kind already
        except Exception:
            logger.exception("Alert digest to user %s could not be sent", user.pk)
            waiting = True
        else:
            sent += 1
    if not waiting:
        AlertEvent.objects.filter(pk__in=[e.pk for e in events]).update(sent_at=now)
    return sent


def _compose(kind: AlertKind, events: list[AlertEvent]) -> tuple[str, str]:
    counted = Counter((e.message, e.path) for e in events)
    lines = [
        {
            "message": message,
            "count": count,
            "url": f"{settings.SITE_URL}{path}" if path else "",
        }
        for (message, path), count in counted.items()
    ]
    body = render_to_string(
        "poweroffice/alerts/digest.txt",
        {
            "kind": kind,
            "lines": lines,
            "profile_url": f"{settings.SITE_URL}/profil/",
        },
    )
    return f"Bitnet: {kind.label}", body
