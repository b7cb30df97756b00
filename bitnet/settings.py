"""Settings for Bitnet, read from the environment (django-environ).

Production is the default: DEBUG is off unless DJANGO_DEBUG says otherwise, production secrets
have no defaults, and the PowerOffice addresses are PowerOffice Go's own. Development (bin/run,
bin/test, bin/lint set DJANGO_DEBUG=true) gets SQLite, kombu's filesystem broker, the local
PowerOffice sandbox and the development keys of bitnet/security/development.py. What production
refuses beyond a missing secret (plain HTTP, a sandbox, a malformed or development key) is said
by the system checks of bitnet/security/checks.py and poweroffice/checks.py.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from bitnet.security import development

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()


def _env(name: str, cast, default):
    """Read one variable; a malformed value stops start-up with a message naming it."""
    try:
        return cast(name, default=default)
    except (ValueError, TypeError, ImproperlyConfigured) as exc:
        raise ImproperlyConfigured(f"Environment variable {name} is malformed: {exc}") from None


DEBUG = _env("DJANGO_DEBUG", env.bool, False)

# Production secrets: no defaults when DEBUG is off; every one missing is named at the end.
_missing: list[str] = []


def _secret(name: str, development_value: str, *, development: bool = DEBUG) -> str:
    value = _env(name, env.str, development_value if development else "")
    if not value:
        _missing.append(name)
    return str(value)


SECRET_KEY = _secret("DJANGO_SECRET_KEY", development.SECRET_KEY)

ALLOWED_HOSTS = _env("DJANGO_ALLOWED_HOSTS", env.list, ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = _env("DJANGO_CSRF_TRUSTED_ORIGINS", env.list, [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_celery_beat",
    "axes",
    "bitnet",
    "accounting",
    "poweroffice",
    "payroll",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "bitnet.security.middleware.NoStoreMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "bitnet.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "bitnet.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "bitnet.wsgi.application"

DATABASES = {
    "default": _env("DATABASE_URL", env.db_url, f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file in the demo: wait for locks.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "bitnet.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# How many reverse proxies (the TLS proxy) stand in front of gunicorn. 0: gunicorn is reached
# directly, and no X-Forwarded-* header is believed. n: the client's address is the one the
# outermost of our n proxies saw (n-th entry from the right of X-Forwarded-For, which a client
# cannot forge), and X-Forwarded-Proto from the proxy says whether the request came over HTTPS.
TRUSTED_PROXY_COUNT = _env("DJANGO_TRUSTED_PROXY_COUNT", env.int, 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("Environment variable DJANGO_TRUSTED_PROXY_COUNT is malformed: < 0")

# Repeated failed logins are throttled (django-axes): 5 failures lock that username from that
# client address for 15 min, so failures from elsewhere never lock a user out where they are.
AXES_FAILURE_LIMIT = _env("AXES_FAILURE_LIMIT", env.int, 5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "bitnet.security.proxy.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True

# A working day; with DJANGO_SESSION_EXPIRE_AT_BROWSER_CLOSE also ended when the browser closes.
SESSION_COOKIE_AGE = _env("DJANGO_SESSION_COOKIE_AGE", env.int, 8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = _env("DJANGO_SESSION_EXPIRE_AT_BROWSER_CLOSE", env.bool, False)

# Content-Security-Policy (django-csp): our own static files, and inline scripts only with the
# request's nonce. Inline style attributes stay allowed (progress bars, column widths).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Error pages (DEBUG's included) never show a variable or POST field marked sensitive.
DEFAULT_EXCEPTION_REPORTER_FILTER = "bitnet.security.errors.SecretsHiddenFilter"

LANGUAGE_CODE = "nb"
# The UI is Norwegian bokmål whatever the browser asks for (number formats, Django messages).
LANGUAGES = [("nb", "Norsk bokmål")]
TIME_ZONE = "Europe/Oslo"
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Redis when REDIS_URL is set (shared cache for PowerOffice tokens and the rate limiter, Celery
# broker); otherwise a file cache and kombu's filesystem transport, so nothing needs a server.
REDIS_URL = _env("REDIS_URL", env.str, "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

CELERY_BROKER_URL = _env("CELERY_BROKER_URL", env.str, REDIS_URL or "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _queue_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "broker-processed"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = _env("CELERY_TASK_ALWAYS_EAGER", env.bool, False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_IMPORTS = (
    "poweroffice.invoices.tasks",
    "poweroffice.payments.tasks",
    "poweroffice.reconciliation.tasks",
    "poweroffice.salary.tasks",
    "poweroffice.alerts.tasks",
)
# Two queues, so that bulk work never takes the worker slots of interactive work: a single
# invoice's export and the automatic export on commit go to "interactive"; "Eksporter alle",
# the sweepers, payment checks, reconciliation and payroll go to "bulk". A worker started
# without -Q consumes both (a small installation); docker-compose.yml and bin/run start one
# worker per queue. PowerOffice's shared rate limit orders the two as well (client/ratelimit/).
CELERY_TASK_DEFAULT_QUEUE = "interactive"
CELERY_TASK_QUEUES = (Queue("interactive"), Queue("bulk"))
CELERY_TASK_ROUTES = {
    name: {"queue": "bulk"}
    for name in (
        "poweroffice.tasks.export_batch",
        "poweroffice.tasks.export_sweeper",
        "poweroffice.tasks.payroll_export_sweeper",
        "payroll.tasks.payroll_export_task",
        "poweroffice.tasks_payments.*",
        "poweroffice.reconciliation.*",
    )
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Every periodic schedule of the application, in one place (Europe/Oslo).
CELERY_BEAT_SCHEDULE = {
    "export-sweeper": {
        "task": "poweroffice.tasks.export_sweeper",
        "schedule": crontab(minute="*/5"),
    },
    "payroll-export-sweeper": {
        "task": "poweroffice.tasks.payroll_export_sweeper",
        "schedule": crontab(minute="*/5"),
    },
    "payments-nightly": {
        "task": "poweroffice.tasks_payments.payments_sync_all",
        "schedule": crontab(hour=2, minute=0),
    },
    "payments-weekly-full": {
        "task": "poweroffice.tasks_payments.payments_sync_all",
        "schedule": crontab(hour=3, minute=0, day_of_week="sunday"),
        "kwargs": {"full": True},
    },
    # E-mail alerts: a digest of what needs a person, at most one a day per kind and user.
    "alerts-digest": {
        "task": "poweroffice.alerts.send_digests",
        "schedule": crontab(minute=15),
    },
    # Month-end reconciliation of the month just ended, early on the 1st.
    "reconciliation-monthly": {
        "task": "poweroffice.reconciliation.reconcile_last_month",
        "schedule": crontab(hour=4, minute=0, day_of_month=1),
    },
}

# E-mail (alerts): the console in development, SMTP from EMAIL_* in production. SITE_URL makes
# the links in the mails absolute.
EMAIL_BACKEND = _env(
    "EMAIL_BACKEND",
    env.str,
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = _env("EMAIL_HOST", env.str, "localhost")
EMAIL_PORT = _env("EMAIL_PORT", env.int, 25)
EMAIL_HOST_USER = _env("EMAIL_HOST_USER", env.str, "")
EMAIL_HOST_PASSWORD = _env("EMAIL_HOST_PASSWORD", env.str, "")
EMAIL_USE_TLS = _env("EMAIL_USE_TLS", env.bool, False)
DEFAULT_FROM_EMAIL = _env("DEFAULT_FROM_EMAIL", env.str, "Bitnet <varsel@bitnet.no>")
SITE_URL = _env("SITE_URL", env.str, "http://127.0.0.1:8000").rstrip("/")

# PowerOffice Go: in production PowerOffice's own addresses; in development the local sandbox
# (python manage.py poweroffice_sandbox). Production refuses plain HTTP and anything that is not
# PowerOffice (poweroffice/checks.py), unless POWEROFFICE_ALLOW_SANDBOX declares a demo
# installation that talks to the sandbox on purpose.
POWEROFFICE_API_URL = _env(
    "POWEROFFICE_API_URL",
    env.str,
    "http://127.0.0.1:8765/v2" if DEBUG else "https://goapi.poweroffice.net/v2",
)
POWEROFFICE_TOKEN_URL = _env(
    "POWEROFFICE_TOKEN_URL",
    env.str,
    "http://127.0.0.1:8765/OAuth/Token" if DEBUG else "https://goapi.poweroffice.net/OAuth/Token",
)
POWEROFFICE_ALLOW_SANDBOX = _env("POWEROFFICE_ALLOW_SANDBOX", env.bool, False)
# A demo installation on the sandbox holds the sandbox's development keys, never real ones.
POWEROFFICE_APPLICATION_KEY = _secret(
    "POWEROFFICE_APPLICATION_KEY",
    development.APPLICATION_KEY,
    development=DEBUG or POWEROFFICE_ALLOW_SANDBOX,
)
# Koble til PowerOffice: where PowerOffice sends the user back (whitelisted by PowerOffice);
# empty derives it from the request (/poweroffice/onboarding/retur/).
POWEROFFICE_ONBOARDING_REDIRECT_URI = _env("POWEROFFICE_ONBOARDING_REDIRECT_URI", env.str, "")
POWEROFFICE_SUBSCRIPTION_KEY = _secret(
    "POWEROFFICE_SUBSCRIPTION_KEY",
    development.SUBSCRIPTION_KEY,
    development=DEBUG or POWEROFFICE_ALLOW_SANDBOX,
)
POWEROFFICE_TIMEOUT = _env("POWEROFFICE_TIMEOUT", env.float, 30.0)
POWEROFFICE_RATE_LIMIT = _env("POWEROFFICE_RATE_LIMIT", env.float, 10.0)
# PowerOffice counts arrivals, we count sends: at most POWEROFFICE_RATE_LIMIT sends in any
# window of one second plus this margin (seconds), the variation in network delay it tolerates
# (poweroffice/client/ratelimit/__init__.py says why). Without REDIS_URL the limiter is a file in
# this folder, shared by every process of the machine.
POWEROFFICE_RATE_LIMIT_MARGIN = _env("POWEROFFICE_RATE_LIMIT_MARGIN", env.float, 0.03)
if POWEROFFICE_RATE_LIMIT <= 0 or POWEROFFICE_RATE_LIMIT_MARGIN < 0:
    raise ImproperlyConfigured(
        "POWEROFFICE_RATE_LIMIT must be positive and POWEROFFICE_RATE_LIMIT_MARGIN not negative."
    )
POWEROFFICE_RATE_LIMIT_DIR = _env("POWEROFFICE_RATE_LIMIT_DIR", env.str, str(VAR_DIR / "ratelimit"))
# The client's retries (poweroffice/client/transport.py): attempts per call on transient errors,
# 429s absorbed per call, backoff base and cap (seconds), token renewal before expiry (seconds).
POWEROFFICE_MAX_ATTEMPTS = _env("POWEROFFICE_MAX_ATTEMPTS", env.int, 4)
POWEROFFICE_MAX_429_RETRIES = _env("POWEROFFICE_MAX_429_RETRIES", env.int, 8)
POWEROFFICE_BACKOFF_BASE = _env("POWEROFFICE_BACKOFF_BASE", env.float, 0.5)
POWEROFFICE_BACKOFF_MAX = _env("POWEROFFICE_BACKOFF_MAX", env.float, 8.0)
POWEROFFICE_TOKEN_RENEW_MARGIN = _env("POWEROFFICE_TOKEN_RENEW_MARGIN", env.float, 60.0)
# How long (seconds) a look-up after an ambiguous create keeps asking before it gives up: reads
# lag writes in PowerOffice (GETs hit a replica, typically less than a second behind).
POWEROFFICE_LOOKUP_PATIENCE = _env("POWEROFFICE_LOOKUP_PATIENCE", env.float, 2.0)
# Invoice export: when the sweeper takes over (seconds), how often it retries a transient error.
POWEROFFICE_EXPORT_PENDING_GRACE = _env("POWEROFFICE_EXPORT_PENDING_GRACE", env.int, 60)
POWEROFFICE_EXPORT_CLAIM_TIMEOUT = _env("POWEROFFICE_EXPORT_CLAIM_TIMEOUT", env.int, 600)
POWEROFFICE_EXPORT_BATCH_STALE = _env("POWEROFFICE_EXPORT_BATCH_STALE", env.int, 300)
POWEROFFICE_EXPORT_MAX_ATTEMPTS = _env("POWEROFFICE_EXPORT_MAX_ATTEMPTS", env.int, 5)
# Automatic export: seconds a committed invoice waits so that a burst is exported by one run.
POWEROFFICE_AUTO_EXPORT_DELAY = _env("POWEROFFICE_AUTO_EXPORT_DELAY", env.float, 0.3)
# Invoices of one run exported at once (enough to keep the rate limit busy at PowerOffice's
# latency), and WeasyPrint processes per worker process rendering their PDFs ahead.
POWEROFFICE_EXPORT_THREADS = _env("POWEROFFICE_EXPORT_THREADS", env.int, 4)
POWEROFFICE_PDF_RENDERERS = _env("POWEROFFICE_PDF_RENDERERS", env.int, 2)
# PowerOffice's reference data kept between exports (poweroffice/invoices/refcache.py), seconds:
# accounts, VAT codes, departments, employees; products and customers (which we create).
POWEROFFICE_REFERENCE_TTL = _env("POWEROFFICE_REFERENCE_TTL", env.int, 3600)
POWEROFFICE_REFERENCE_TTL_OWN = _env("POWEROFFICE_REFERENCE_TTL_OWN", env.int, 86400)
# Payment check: rows per page of GET /OutgoingInvoices (PowerOffice's own default), and how many
# seconds behind the run's start the watermark stays (poweroffice/payments/services.py says why).
POWEROFFICE_PAYMENTS_PAGE_SIZE = _env("POWEROFFICE_PAYMENTS_PAGE_SIZE", env.int, 5000)
POWEROFFICE_PAYMENTS_SAFETY_MARGIN = _env("POWEROFFICE_PAYMENTS_SAFETY_MARGIN", env.float, 600.0)
# Reconciliation (Økonomi > Avstemming): page size of its list calls, and how many invoices a
# period may hold for the page to reconcile at once rather than in the background.
POWEROFFICE_RECONCILIATION_PAGE_SIZE = _env("POWEROFFICE_RECONCILIATION_PAGE_SIZE", env.int, 5000)
RECONCILIATION_INLINE_MAX = _env("RECONCILIATION_INLINE_MAX", env.int, 300)
# Payroll export: exports of at most this many salary lines run in the request, larger ones in a
# Celery task.
PAYROLL_EXPORT_INLINE_MAX_LINES = _env("PAYROLL_EXPORT_INLINE_MAX_LINES", env.int, 25)
# A payroll export whose heartbeat is older than this many seconds is taken to have died: the
# sweeper or payroll_export run again resumes it (or finishes its rollback). Longer than one
# salary line can take with the client's timeouts and retries.
PAYROLL_EXPORT_STALE_AFTER = _env("PAYROLL_EXPORT_STALE_AFTER", env.int, 600)
# The sandbox's address for the demo's hooks (/_sandbox/...), derived from the API URL, and the
# token its hooks ask for (empty when it runs with --demo-open, as bin/run starts it).
POWEROFFICE_SANDBOX_URL = _env(
    "POWEROFFICE_SANDBOX_URL", env.str, POWEROFFICE_API_URL.rsplit("/v2", 1)[0]
)
POWEROFFICE_SANDBOX_TOKEN = _env("POWEROFFICE_SANDBOX_TOKEN", env.str, "")

# Client keys are encrypted at rest with Fernet (cryptography). One key, or several separated by
# commas with the new one first: data is written with the first and read with any, so a key is
# replaced by putting the new one in front, running `python manage.py rotate_client_keys`, and
# then dropping the old one. Generate a key with
# python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"
FIELD_ENCRYPTION_KEY = _secret("FIELD_ENCRYPTION_KEY", development.FIELD_ENCRYPTION_KEY)

if _missing:
    raise ImproperlyConfigured(
        "".join(f"{name} must be set when DJANGO_DEBUG is off.\n" for name in _missing)
        + "Production is the default: put the secrets in the environment (.env), or set "
        "DJANGO_DEBUG=true for development (bin/run and bin/test do)."
    )

# Behind our own TLS proxy only: believe its X-Forwarded-Proto.
if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Production hardening (DEBUG off).
if not DEBUG:
    SECURE_SSL_REDIRECT = _env("DJANGO_SECURE_SSL_REDIRECT", env.bool, True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = _env("DJANGO_SECURE_HSTS_SECONDS", env.int, 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": _env("LOG_LEVEL", env.str, "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
