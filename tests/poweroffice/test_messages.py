"""The one translator from PowerOffice errors to Norwegian (poweroffice/messages.py): every row of
its table, per context and error class, with the exact words, kind and retryability."""

import pytest

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
from poweroffice.messages import (
    AUTH_MESSAGE,
    SUBSCRIPTION_KEY_MESSAGE,
    TEXTS,
    TRANSIENT_MESSAGE,
    Context,
    error_answer,
    error_message,
    text_for,
)

KEY = Context.KEY_CHECK
EXPORT = Context.EXPORT
CHART = Context.CHART_CHECK
PAYMENT = Context.PAYMENT_CHECK
LINE = Context.SALARY_LINE
DELETE = Context.SALARY_DELETE

NO_KEY = NotConnected("Gravferd Øst har ingen klientnøkkel. Legg den inn under Datadeling.")
UNREADABLE = SecretUnreadable("Den lagrede klientnøkkelen kan ikke leses.")
INVALID_CLIENT = InvalidClientError(status=400, title="invalid_client")
AUTH = AuthenticationError(status=401, title="Unauthorized")
SUBSCRIPTION = SubscriptionKeyError(
    status=401, detail="Access denied due to invalid subscription key. Make sure to provide ..."
)
FORBIDDEN = ForbiddenError(status=403, title="Forbidden", detail="Missing privilege")
RATE_LIMITED = RateLimitedError(status=429, title="Too Many Requests", retry_after=3)
DOWN = TransientError(status=503, title="Service Unavailable")
NO_ANSWER = TransientError(title="ConnectTimeout")
NO_ANSWER_AT_ALL = TransientError()
DOCUMENT = InvalidDocumentError(detail="Not a PDF")
NOT_FOUND = NotFoundError(status=404, title="Not Found", detail="Customer 7 was not found")
CONFLICT = ConflictError(status=409, title="Conflict", detail="Salary line is locked")
REJECTED = ValidationError(status=400, title="Bad Request", detail="Quantity must be positive")
OTHER = PowerOfficeError(status=418, title="I'm a teapot")
BARE = PowerOfficeError("GET /Vouchers - HTTP 400", status=400)
BUG = KeyError("Id")

CHART_UNEXPECTED = (
    "Kontrollen feilet uventet. Prøv igjen, og kontakt brukerstøtte om det gjentar seg."
)

CASES = [
    # Datadeling: saving a client key.
    (
        KEY,
        INVALID_CLIENT,
        "PowerOffice kjenner ikke igjen klientnøkkelen. Kontroller at du limte inn hele nøkkelen "
        "fra Innstillinger > Utvidelser i PowerOffice, og at utvidelsen bruker Bitnets "
        "applikasjonsnøkkel.",
        "auth",
        False,
    ),
    (
        KEY,
        AUTH,
        "PowerOffice avviste innloggingen. Klientnøkkelen kan være trukket tilbake.",
        "auth",
        False,
    ),
    (
        KEY,
        FORBIDDEN,
        "Integrasjonen mangler tilgang i PowerOffice (rettighet eller modul).",
        "forbidden",
        False,
    ),
    (
        KEY,
        DOWN,
        "PowerOffice svarer ikke akkurat nå, så nøkkelen kunne ikke kontrolleres. "
        "Prøv igjen om litt.",
        "transient",
        True,
    ),
    (KEY, REJECTED, "PowerOffice avviste nøkkelen: Quantity must be positive.", "rejected", False),
    (KEY, OTHER, "PowerOffice avviste nøkkelen: I'm a teapot.", "rejected", False),
    (KEY, BARE, "PowerOffice avviste nøkkelen: ukjent feil.", "rejected", False),
    # Invoice export.
    (EXPORT, NO_KEY, str(NO_KEY), "no_key", False),
    (EXPORT, UNREADABLE, str(UNREADABLE), "auth", False),
    (EXPORT, DOWN, TRANSIENT_MESSAGE, "transient", True),
    (EXPORT, RATE_LIMITED, TRANSIENT_MESSAGE, "transient", True),
    (EXPORT, INVALID_CLIENT, AUTH_MESSAGE, "auth", False),
    (EXPORT, AUTH, AUTH_MESSAGE, "auth", False),
    (
        EXPORT,
        FORBIDDEN,
        "PowerOffice gir ikke integrasjonen tilgang (rettighet eller modul mangler). "
        "Kontroller utvidelsen under Innstillinger > Utvidelser i PowerOffice.",
        "forbidden",
        False,
    ),
    (
        EXPORT,
        DOCUMENT,
        "Fakturaspesifikasjonen kunne ikke sendes til PowerOffice (Not a PDF).",
        "document",
        False,
    ),
    (
        EXPORT,
        NOT_FOUND,
        "PowerOffice finner ikke noe fakturaen viser til: Not Found Customer 7 was not found.",
        "not_found",
        False,
    ),
    (
        EXPORT,
        NotFoundError(status=404),
        "PowerOffice finner ikke noe fakturaen viser til: ukjent.",
        "not_found",
        False,
    ),
    (
        EXPORT,
        CONFLICT,
        "PowerOffice avviste fakturaen fordi noe er låst eller i bruk: Conflict Salary line is "
        "locked.",
        "conflict",
        False,
    ),
    (
        EXPORT,
        REJECTED,
        "PowerOffice avviste fakturaen: Bad Request Quantity must be positive.",
        "rejected",
        False,
    ),
    (
        EXPORT,
        ValidationError(status=400),
        "PowerOffice avviste fakturaen: ugyldige data.",
        "rejected",
        False,
    ),
    (EXPORT, BARE, "PowerOffice svarte med en feil: 400.", "error", False),
    (EXPORT, OTHER, "PowerOffice svarte med en feil: I'm a teapot.", "error", False),
    (
        EXPORT,
        PowerOfficeError(status=418),
        "PowerOffice svarte med en feil: 418.",
        "error",
        False,
    ),
    (
        EXPORT,
        BUG,
        "Uventet feil i Bitnet under eksporten. Prøv igjen; vedvarer feilen, kontakt Bitnet.",
        "internal",
        False,
    ),
    # Account or VAT code missing in PowerOffice, read from its English prose.
    (
        EXPORT,
        ValidationError(status=400, detail="Account 3020 does not exist"),
        "Konto 3020 finnes ikke i PowerOffice.",
        "account_missing",
        False,
    ),
    (
        EXPORT,
        NotFoundError(status=404, title="Invalid AccountId", detail="for account no 1920"),
        "Konto 1920 finnes ikke i PowerOffice.",
        "account_missing",
        False,
    ),
    (
        EXPORT,
        ValidationError(status=400, detail="VAT code 33 is unknown"),
        "MVA-kode 33 mangler i PowerOffice.",
        "vat_missing",
        False,
    ),
    (
        EXPORT,
        ConflictError(status=409, detail="Account 3020 is locked to VAT code 3"),
        "PowerOffice avviste fakturaen fordi noe er låst eller i bruk: Account 3020 is locked "
        "to VAT code 3.",
        "conflict",
        False,
    ),
    # Valider kontoplan and the prerequisites checklist.
    (CHART, NO_KEY, str(NO_KEY), "no_key", False),
    (CHART, UNREADABLE, str(UNREADABLE), "auth", False),
    (
        CHART,
        INVALID_CLIENT,
        "PowerOffice kjenner ikke igjen klientnøkkelen (utvidelsen kan være slettet). Lag en ny "
        "klientnøkkel under Innstillinger > Utvidelser i PowerOffice og lim den inn under "
        "Administrasjon > Datadeling.",
        "auth",
        False,
    ),
    (
        CHART,
        AUTH,
        "PowerOffice avviste innloggingen med klientnøkkelen. Lim inn en ny klientnøkkel under "
        "Administrasjon > Datadeling.",
        "auth",
        False,
    ),
    (
        CHART,
        FORBIDDEN,
        "Integrasjonen mangler tilgang i PowerOffice (rettighet eller modul). Kontroller "
        "utvidelsen under Innstillinger > Utvidelser i PowerOffice.",
        "forbidden",
        False,
    ),
    (
        CHART,
        RATE_LIMITED,
        "PowerOffice har for mange forespørsler akkurat nå. Prøv igjen om litt.",
        "transient",
        True,
    ),
    (
        CHART,
        DOWN,
        "PowerOffice svarte med en feil (HTTP 503). Prøv igjen om litt.",
        "transient",
        True,
    ),
    (
        CHART,
        NO_ANSWER,
        "PowerOffice svarer ikke akkurat nå. Prøv igjen om litt.",
        "transient",
        True,
    ),
    (
        CHART,
        NOT_FOUND,
        "PowerOffice avviste forespørselen: Customer 7 was not found",
        "rejected",
        False,
    ),
    (CHART, OTHER, "PowerOffice avviste forespørselen: I'm a teapot", "rejected", False),
    (CHART, BARE, "PowerOffice avviste forespørselen: HTTP 400", "rejected", False),
    (CHART, RuntimeError(), CHART_UNEXPECTED, "internal", False),
    # The payment check.
    (
        PAYMENT,
        NO_KEY,
        "Undergruppen har ingen klientnøkkel – legg den inn under Datadeling.",
        "no_key",
        False,
    ),
    (
        PAYMENT,
        UNREADABLE,
        "Den lagrede klientnøkkelen kan ikke leses (krypteringsnøkkelen er byttet) – legg inn "
        "klientnøkkelen på nytt under Datadeling.",
        "auth",
        False,
    ),
    (
        PAYMENT,
        INVALID_CLIENT,
        "Klientnøkkelen er ugyldig – legg inn en ny under Datadeling.",
        "auth",
        False,
    ),
    (
        PAYMENT,
        AUTH,
        "PowerOffice avviste innloggingen – klientnøkkelen kan være trukket tilbake. Legg inn en "
        "ny under Datadeling.",
        "auth",
        False,
    ),
    (
        PAYMENT,
        FORBIDDEN,
        "Integrasjonen mangler tilgang til utgående fakturaer i PowerOffice. Gi utvidelsen "
        "rettigheten OutgoingInvoice under Innstillinger > Utvidelser i PowerOffice.",
        "forbidden",
        False,
    ),
    (
        PAYMENT,
        RATE_LIMITED,
        "PowerOffice tok imot for mange forespørsler og ba oss vente. Betalingene hentes ved "
        "neste kjøring.",
        "transient",
        True,
    ),
    (
        PAYMENT,
        DOWN,
        "PowerOffice svarte ikke (HTTP 503). Ingen endringer går tapt: de hentes ved neste "
        "kjøring.",
        "transient",
        True,
    ),
    (
        PAYMENT,
        NO_ANSWER,
        "PowerOffice svarte ikke (ConnectTimeout). Ingen endringer går tapt: de hentes ved neste "
        "kjøring.",
        "transient",
        True,
    ),
    (
        PAYMENT,
        NO_ANSWER_AT_ALL,
        "PowerOffice svarte ikke (ingen kontakt). Ingen endringer går tapt: de hentes ved neste "
        "kjøring.",
        "transient",
        True,
    ),
    (
        PAYMENT,
        REJECTED,
        "PowerOffice avviste forespørselen: Quantity must be positive",
        "rejected",
        False,
    ),
    (PAYMENT, BARE, "PowerOffice avviste forespørselen: HTTP 400", "rejected", False),
    (PAYMENT, BUG, "Uventet feil under betalingssjekken (KeyError).", "internal", False),
    # Payroll: a salary line PowerOffice did not create.
    (LINE, DOWN, "Service Unavailable", "transient", True),
    (LINE, REJECTED, "Quantity must be positive", "rejected", False),
    (LINE, BARE, "GET /Vouchers - HTTP 400", "rejected", False),
    (LINE, BUG, "KeyError", "internal", False),
    # Bitnet's own subscription key refused by the gateway: our configuration, in every context
    # that can meet it.
    *[
        (context, SUBSCRIPTION, SUBSCRIPTION_KEY_MESSAGE, "config", False)
        for context in (KEY, EXPORT, CHART, PAYMENT, LINE)
    ],
    # Payroll: a salary line the rollback could not delete.
    (
        DELETE,
        CONFLICT,
        "Låst i PowerOffice Go (lønnslinjen er tatt med i en lønnskjøring): Salary line is locked",
        "conflict",
        False,
    ),
    (DELETE, DOWN, "Service Unavailable", "transient", True),
    (DELETE, NOT_FOUND, "Customer 7 was not found", "rejected", False),
    (DELETE, OTHER, "I'm a teapot", "rejected", False),
]


@pytest.mark.parametrize(
    ("context", "error", "message", "kind", "retryable"),
    CASES,
    ids=[f"{c[0]}-{type(c[1]).__name__}-{i}" for i, c in enumerate(CASES)],
)
def test_answer_per_context_and_error_class(context, error, message, kind, retryable):
    assert error_answer(error, context=context) == (message, kind, retryable)
    assert error_message(error, context=context) == message


def test_every_row_of_the_table_is_checked_above():
    rows = {(context, cls) for context, texts in TEXTS.items() for cls in texts}
    answered = {
        (context, next(cls for cls in type(error).__mro__ if cls in TEXTS[context]))
        for context, error, *_ in CASES
    }
    assert rows - answered == set()


def test_an_export_problem_is_its_own_answer_in_any_context():
    problem = ExportProblem("Kreditnotaen venter på fakturaen.", kind="waiting", retryable=True)
    for context in Context:
        assert error_answer(problem, context=context) == (
            "Kreditnotaen venter på fakturaen.",
            "waiting",
            True,
        )


def test_the_most_specific_row_wins():
    assert text_for(RateLimitedError, context=EXPORT) is TEXTS[EXPORT][TransientError]
    assert text_for(RateLimitedError, context=CHART) is TEXTS[CHART][RateLimitedError]
    assert text_for(InvalidDocumentError, context=EXPORT) is TEXTS[EXPORT][InvalidDocumentError]
    assert text_for(InvalidDocumentError, context=KEY) is TEXTS[KEY][PowerOfficeError]


def test_a_missing_account_is_not_read_into_errors_that_have_their_own_words():
    # A document or access failure keeps its own text even if PowerOffice names an account.
    forbidden = ForbiddenError(status=403, detail="Account 3020 is unknown")
    assert error_answer(forbidden, context=EXPORT).kind == "forbidden"
    document = InvalidDocumentError(detail="Account 3020 is invalid")
    assert error_answer(document, context=EXPORT).kind == "document"
    # and only the export reads it at all
    rejected = ValidationError(status=400, detail="Account 3020 does not exist")
    assert error_message(rejected, context=CHART) == (
        "PowerOffice avviste forespørselen: Account 3020 does not exist"
    )


def test_a_context_without_words_for_an_error_says_so():
    with pytest.raises(LookupError):
        error_answer(BUG, context=KEY)
    with pytest.raises(LookupError):
        error_answer(NO_KEY, context=DELETE)
