"""Settings for Bitnet, read from the environment (django-environ).

Defaults serve a developer on a fresh machine with zero variables: SQLite, kombu's filesystem
broker and the local PowerOffice sandbox. Production secrets have no defaults when DEBUG is off.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()


def _env(name: str, cast, default):
    """Read one variable; a malformed value stops start-up with a message naming it."""
    try:
        return cast(name, default=default)
    except (ValueError, TypeError, ImproperlyConfigured) as exc:
        raise ImproperlyConfigured(f"Environment variable {name} is malformed: {exc}") from None


DEBUG = _env("DJANGO_DEBUG", env.bool, True)

_DEV_SECRET = "dev-only-insecure-secret-key-change-me-0123456789abcdef"
SECRET_KEY = _env("DJANGO_SECRET_KEY", env.str, _DEV_SECRET if DEBUG else None)
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")

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

# Repeated failed logins are throttled (django-axes): 5 failures lock username+IP for 15 min.
AXES_FAILURE_LIMIT = _env("AXES_FAILURE_LIMIT", env.int, 5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True

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
)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Every periodic schedule of the application, in one place (Europe/Oslo).
CELERY_BEAT_SCHEDULE = {
    "export-sweeper": {
        "task": "poweroffice.tasks.export_sweeper",
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
    # Month-end reconciliation of the month just ended, early on the 1st.
    "reconciliation-monthly": {
        "task": "poweroffice.reconciliation.reconcile_last_month",
        "schedule": crontab(hour=4, minute=0, day_of_month=1),
    },
}

# PowerOffice Go. Defaults point at the local sandbox (python manage.py poweroffice_sandbox).
POWEROFFICE_API_URL = _env("POWEROFFICE_API_URL", env.str, "http://127.0.0.1:8765/v2")
POWEROFFICE_TOKEN_URL = _env("POWEROFFICE_TOKEN_URL", env.str, "http://127.0.0.1:8765/OAuth/Token")
POWEROFFICE_APPLICATION_KEY = _env(
    "POWEROFFICE_APPLICATION_KEY", env.str, "bitnet-dev-application-key" if DEBUG else None
)
POWEROFFICE_SUBSCRIPTION_KEY = _env(
    "POWEROFFICE_SUBSCRIPTION_KEY", env.str, "bitnet-dev-subscription-key" if DEBUG else None
)
if not POWEROFFICE_APPLICATION_KEY or not POWEROFFICE_SUBSCRIPTION_KEY:
    raise ImproperlyConfigured(
        "POWEROFFICE_APPLICATION_KEY and POWEROFFICE_SUBSCRIPTION_KEY must be set "
        "when DJANGO_DEBUG is off."
    )
POWEROFFICE_TIMEOUT = _env("POWEROFFICE_TIMEOUT", env.float, 30.0)
POWEROFFICE_RATE_LIMIT = _env("POWEROFFICE_RATE_LIMIT", env.float, 10.0)
# The client's retries (poweroffice/client/transport.py): attempts per call on transient errors,
# 429s absorbed per call, backoff base and cap (seconds), token renewal before expiry (seconds).
POWEROFFICE_MAX_ATTEMPTS = _env("POWEROFFICE_MAX_ATTEMPTS", env.int, 4)
POWEROFFICE_MAX_429_RETRIES = _env("POWEROFFICE_MAX_429_RETRIES", env.int, 8)
POWEROFFICE_BACKOFF_BASE = _env("POWEROFFICE_BACKOFF_BASE", env.float, 0.5)
POWEROFFICE_BACKOFF_MAX = _env("POWEROFFICE_BACKOFF_MAX", env.float, 8.0)
POWEROFFICE_TOKEN_RENEW_MARGIN = _env("POWEROFFICE_TOKEN_RENEW_MARGIN", env.float, 60.0)
# Invoice export: when the sweeper takes over (seconds), how often it retries a transient error.
POWEROFFICE_EXPORT_PENDING_GRACE = _env("POWEROFFICE_EXPORT_PENDING_GRACE", env.int, 60)
POWEROFFICE_EXPORT_CLAIM_TIMEOUT = _env("POWEROFFICE_EXPORT_CLAIM_TIMEOUT", env.int, 600)
POWEROFFICE_EXPORT_BATCH_STALE = _env("POWEROFFICE_EXPORT_BATCH_STALE", env.int, 300)
POWEROFFICE_EXPORT_MAX_ATTEMPTS = _env("POWEROFFICE_EXPORT_MAX_ATTEMPTS", env.int, 5)
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
# The sandbox's address for the demo's hooks (/_sandbox/...), derived from the API URL.
POWEROFFICE_SANDBOX_URL = _env(
    "POWEROFFICE_SANDBOX_URL", env.str, POWEROFFICE_API_URL.rsplit("/v2", 1)[0]
)

# Client keys are encrypted at rest with this Fernet key (cryptography). Generate one with
# python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"
_DEV_FIELD_KEY = "NNQGy20jr352lHpW2d8zusZMbqQ3CQnsK8z7J6ib7aA="
FIELD_ENCRYPTION_KEY = _env("FIELD_ENCRYPTION_KEY", env.str, _DEV_FIELD_KEY if DEBUG else None)
if not FIELD_ENCRYPTION_KEY:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be set when DJANGO_DEBUG is off.")

# Production hardening (DEBUG off).
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
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
