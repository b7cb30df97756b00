"""The one translator from PowerOffice errors to Norwegian.

Every page, run and check that tells a person why talking to PowerOffice failed asks here and
names its :class:`Context`. The words live in one table, :data:`TEXTS`: per context, per error
class, the text, the kind of failure and whether retrying later can help. An error gets the row of
its most specific class that the context lists (its MRO is walked), so a ``RateLimitedError`` reads
like any ``TransientError`` where a context has no words of its own for it.

Two entry points, one per shape of answer: :func:`error_message` (the text) and
:func:`error_answer` (text, kind, retryable: what an export attempt records). Texts are built from
our own words and PowerOffice's problem details (which the client has already scrubbed of keys and
tokens), never from request headers. tests/poweroffice/test_messages.py checks every row.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from poweroffice.client.errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    InvalidClientError,
    InvalidDocumentError,
    NotFoundError,
    PowerOfficeError,
    RateLimitedError,
    SubscriptionKeyError,
    TransientError,
    ValidationError,
)
from poweroffice.crypto import SecretUnreadable
from poweroffice.datadeling.connection import NotConnected
from poweroffice.invoices.reference import ExportProblem


class Context(StrEnum):
    """Where the error happened: the same error reads differently on each page."""

    KEY_CHECK = "key_check"  # Datadeling: saving a client key (and payroll's own key checks)
    EXPORT = "export"  # an invoice export attempt, an export batch, a department sync
    CHART_CHECK = "chart_check"  # Valider kontoplan and the other prerequisite checks
    PAYMENT_CHECK = "payment_check"  # the payment check of one subgroup
    SALARY_LINE = "salary_line"  # a salary line PowerOffice did not create
    SALARY_DELETE = "salary_delete"  # a salary line the rollback could not delete


class Answer(NamedTuple):
    message: str
    kind: str
    retryable: bool


_MISSING_WORDS = ("not found", "does not exist", "unknown", "invalid")


@dataclass(frozen=True)
class Missing:
    """An export rejection that names a missing account or VAT code gets its own words.

    PowerOffice says so only in English prose ("Account 3020 does not exist"), so the problem
    text must mention ``subject`` and a word for missing, and ``number`` must find the code.
    """

    subject: str
    number: re.Pattern[str]
    template: str  # "{number}" is the code found
    kind: str

    def code_in(self, problem: str) -> str | None:
        lowered = problem.lower()
        if self.subject not in lowered or not any(w in lowered for w in _MISSING_WORDS):
            return None
        found = self.number.search(problem)
        return found.group(1) if found else None


@dataclass(frozen=True)
class Text:
    """One row of the table.

    ``template`` is filled from the error's fields (see :func:`_fields`). ``{a|b|'x'}`` takes the
    first of the fields ``a``, ``b`` (or the quoted literal) that is not empty, else the last.
    """

    template: str
    kind: str
    retryable: bool = False
    unanswered: str = ""  # used instead of template when no HTTP answer came back
    missing: tuple[Missing, ...] = ()


_MISSING = (
    Missing(
        "account",
        re.compile(r"account\w*\D{0,40}?(\d{4,6})", re.IGNORECASE),
        "Konto {number} finnes ikke i PowerOffice.",
        "account_missing",
    ),
    Missing(
        "vat",
        re.compile(r"vat\s*(?:code|id)?\D{0,20}?(\d{1,3})\b", re.IGNORECASE),
        "MVA-kode {number} mangler i PowerOffice.",
        "vat_missing",
    ),
)

TRANSIENT_MESSAGE = "PowerOffice svarer ikke akkurat nå – prøves igjen automatisk."
AUTH_MESSAGE = (
    "Klientnøkkelen er ugyldig eller trukket tilbake – legg inn en ny under "
    "Administrasjon > Datadeling."
)

# The gateway refused Bitnet's own subscription key: nothing the customer's client key can fix.
SUBSCRIPTION_KEY_MESSAGE = (
    "PowerOffice avviste Bitnets abonnementsnøkkel (Ocp-Apim-Subscription-Key). Dette er en feil "
    "i Bitnets oppsett, ikke i klientnøkkelen – kontakt Bitnet."
)
_SUBSCRIPTION_KEY = Text(SUBSCRIPTION_KEY_MESSAGE, "config")

_OWN_TEXT = "{message}"  # our own exceptions already carry their Norwegian text
_PO_DETAIL = "{detail|title|message}"
_PO_REASON = "{detail|title|http}"

TEXTS: Mapping[Context, Mapping[type[BaseException], Text]] = {
    Context.KEY_CHECK: {
        SubscriptionKeyError: _SUBSCRIPTION_KEY,
        InvalidClientError: Text(
            "PowerOffice kjenner ikke igjen klientnøkkelen. Kontroller at du limte inn hele "
            "nøkkelen fra Innstillinger > Utvidelser i PowerOffice, og at utvidelsen bruker "
            "Bitnets applikasjonsnøkkel.",
            "auth",
        ),
        AuthenticationError: Text(
            "PowerOffice avviste innloggingen. Klientnøkkelen kan være trukket tilbake.", "auth"
        ),
        ForbiddenError: Text(
            "Integrasjonen mangler tilgang i PowerOffice (rettighet eller modul).", "forbidden"
        ),
        TransientError: Text(
            "PowerOffice svarer ikke akkurat nå, så nøkkelen kunne ikke kontrolleres. "
            "Prøv igjen om litt.",
            "transient",
            retryable=True,
        ),
        PowerOfficeError: Text(
            "PowerOffice avviste nøkkelen: {detail|title|'ukjent feil'}.", "rejected"
        ),
    },
    Context.EXPORT: {
        NotConnected: Text(_OWN_TEXT, "no_key"),
        SecretUnreadable: Text(_OWN_TEXT, "auth"),
        TransientError: Text(TRANSIENT_MESSAGE, "transient", retryable=True),
        SubscriptionKeyError: _SUBSCRIPTION_KEY,
        InvalidClientError: Text(AUTH_MESSAGE, "auth"),
        AuthenticationError: Text(AUTH_MESSAGE, "auth"),
        ForbiddenError: Text(
            "PowerOffice gir ikke integrasjonen tilgang (rettighet eller modul mangler). "
            "Kontroller utvidelsen under Innstillinger > Utvidelser i PowerOffice.",
            "forbidden",
        ),
        InvalidDocumentError: Text(
            "Fakturaspesifikasjonen kunne ikke sendes til PowerOffice ({detail|title}).",
            "document",
        ),
        NotFoundError: Text(
            "PowerOffice finner ikke noe fakturaen viser til: {problem|'ukjent'}.",
            "not_found",
            missing=_MISSING,
        ),
        ConflictError: Text(
            "PowerOffice avviste fakturaen fordi noe er låst eller i bruk: {problem}.",
            "conflict",
            missing=_MISSING,
        ),
        ValidationError: Text(
            "PowerOffice avviste fakturaen: {problem|'ugyldige data'}.",
            "rejected",
            missing=_MISSING,
        ),
        PowerOfficeError: Text(
            "PowerOffice svarte med en feil: {problem|status}.", "error", missing=_MISSING
        ),
        BaseException: Text(
            "Uventet feil i Bitnet under eksporten. Prøv igjen; vedvarer feilen, kontakt Bitnet.",
            "internal",
        ),
    },
    Context.CHART_CHECK: {
        NotConnected: Text(_OWN_TEXT, "no_key"),
        SecretUnreadable: Text(_OWN_TEXT, "auth"),
        SubscriptionKeyError: _SUBSCRIPTION_KEY,
        InvalidClientError: Text(
            "PowerOffice kjenner ikke igjen klientnøkkelen (utvidelsen kan være slettet). "
            "Lag en ny klientnøkkel under Innstillinger > Utvidelser i PowerOffice og lim den inn "
            "under Administrasjon > Datadeling.",
            "auth",
        ),
        AuthenticationError: Text(
            "PowerOffice avviste innloggingen med klientnøkkelen. Lim inn en ny klientnøkkel "
            "under Administrasjon > Datadeling.",
            "auth",
        ),
        ForbiddenError: Text(
            "Integrasjonen mangler tilgang i PowerOffice (rettighet eller modul). Kontroller "
            "utvidelsen under Innstillinger > Utvidelser i PowerOffice.",
            "forbidden",
        ),
        RateLimitedError: Text(
            "PowerOffice har for mange forespørsler akkurat nå. Prøv igjen om litt.",
            "transient",
            retryable=True,
        ),
        TransientError: Text(
            "PowerOffice svarte med en feil (HTTP {status}). Prøv igjen om litt.",
            "transient",
            retryable=True,
            unanswered="PowerOffice svarer ikke akkurat nå. Prøv igjen om litt.",
        ),
        PowerOfficeError: Text(f"PowerOffice avviste forespørselen: {_PO_REASON}", "rejected"),
        BaseException: Text(
            "Kontrollen feilet uventet. Prøv igjen, og kontakt brukerstøtte om det gjentar seg.",
            "internal",
        ),
    },
    Context.PAYMENT_CHECK: {
        NotConnected: Text(
            "Undergruppen har ingen klientnøkkel – legg den inn under Datadeling.", "no_key"
        ),
        SecretUnreadable: Text(
            "Den lagrede klientnøkkelen kan ikke leses (krypteringsnøkkelen er byttet) – legg "
            "inn klientnøkkelen på nytt under Datadeling.",
            "auth",
        ),
        SubscriptionKeyError: _SUBSCRIPTION_KEY,
        InvalidClientError: Text(
            "Klientnøkkelen er ugyldig – legg inn en ny under Datadeling.", "auth"
        ),
        AuthenticationError: Text(
            "PowerOffice avviste innloggingen – klientnøkkelen kan være trukket tilbake. "
            "Legg inn en ny under Datadeling.",
            "auth",
        ),
        ForbiddenError: Text(
            "Integrasjonen mangler tilgang til utgående fakturaer i PowerOffice. Gi utvidelsen "
            "rettigheten OutgoingInvoice under Innstillinger > Utvidelser i PowerOffice.",
            "forbidden",
        ),
        RateLimitedError: Text(
            "PowerOffice tok imot for mange forespørsler og ba oss vente. Betalingene hentes "
            "ved neste kjøring.",
            "transient",
            retryable=True,
        ),
        TransientError: Text(
            "PowerOffice svarte ikke ({http}). Ingen endringer går tapt: de hentes ved neste "
            "kjøring.",
            "transient",
            retryable=True,
            unanswered="PowerOffice svarte ikke ({title|'ingen kontakt'}). Ingen endringer går "
            "tapt: de hentes ved neste kjøring.",
        ),
        PowerOfficeError: Text(f"PowerOffice avviste forespørselen: {_PO_REASON}", "rejected"),
        BaseException: Text("Uventet feil under betalingssjekken ({name}).", "internal"),
    },
    Context.SALARY_LINE: {
        SubscriptionKeyError: _SUBSCRIPTION_KEY,
        TransientError: Text(_PO_DETAIL, "transient", retryable=True),
        PowerOfficeError: Text(_PO_DETAIL, "rejected"),
        BaseException: Text("{name}", "internal"),
    },
    Context.SALARY_DELETE: {
        ConflictError: Text(
            f"Låst i PowerOffice Go (lønnslinjen er tatt med i en lønnskjøring): {_PO_DETAIL}",
            "conflict",
        ),
        TransientError: Text(_PO_DETAIL, "transient", retryable=True),
        PowerOfficeError: Text(_PO_DETAIL, "rejected"),
    },
}


def error_message(error: BaseException, *, context: Context) -> str:
    """Why ``error`` happened, in Norwegian, for the page or run of ``context``."""
    return error_answer(error, context=context).message


def error_answer(error: BaseException, *, context: Context) -> Answer:
    """(message, kind, retryable) for ``error`` in ``context``.

    An :class:`ExportProblem` is an answer already: our own words, kind and retryability.
    """
    if isinstance(error, ExportProblem):
        return Answer(error.message, error.kind, error.retryable)
    text = text_for(type(error), context=context)
    fields = _fields(error)
    for missing in text.missing:
        if code := missing.code_in(fields["problem"]):
            return Answer(missing.template.format(number=code), missing.kind, False)
    template = text.unanswered if text.unanswered and not fields["status"] else text.template
    return Answer(_FORMATTER.format(template, **fields), text.kind, text.retryable)


def text_for(error_class: type[BaseException], *, context: Context) -> Text:
    """The row of ``context`` for the most specific class ``error_class`` is (or inherits from)."""
    rows = TEXTS[context]
    for cls in error_class.__mro__:
        if cls in rows:
            return rows[cls]
    raise LookupError(f"No {context} text for {error_class.__name__}")


def _fields(error: BaseException) -> dict[str, Any]:
    """What a template may use.

    ``message`` (the error's own text: ours, or the client's summary), ``name`` (its class),
    ``title``, ``detail`` and ``status`` (PowerOffice's problem details, None for our errors),
    ``http`` ("HTTP 503") and ``problem`` (title and detail in one line).
    """
    title = detail = status = None
    if isinstance(error, PowerOfficeError):
        title, detail, status = error.title, error.detail, error.status
    return {
        "message": str(error),
        "name": type(error).__name__,
        "title": title,
        "detail": detail,
        "status": status,
        "http": f"HTTP {status}",
        "problem": " ".join(str(p) for p in (title, detail) if p),
    }


class _FirstPresent(string.Formatter):
    """``{a|b|'literal'}``: the first alternative that is not empty, else the last one."""

    def get_field(
        self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> tuple[Any, str]:
        value: Any = None
        for alternative in field_name.split("|"):
            literal = alternative.startswith("'")
            value = alternative.strip("'") if literal else kwargs[alternative]
            if value:
                break
        return value, field_name


_FORMATTER = _FirstPresent()
