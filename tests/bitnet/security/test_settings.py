"""Production is the default: DEBUG off, no secret from the repository, PowerOffice's own
addresses over HTTPS, well-formed Fernet keys; each refusal names the variable, in the system
checks (``check --deploy``) and when a server starts (gunicorn's WSGI module, Celery)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bitnet.security import development

ROOT = Path(__file__).resolve().parents[3]

# Production secrets, as an .env would hold them.
SECRETS = {
    "DJANGO_SECRET_KEY": "a-long-random-production-secret-" + "x" * 30,
    "DJANGO_ALLOWED_HOSTS": "bitnet.example.no",
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "POWEROFFICE_APPLICATION_KEY": "the-application-key-from-poweroffice",
    "POWEROFFICE_SUBSCRIPTION_KEY": "the-subscription-key-from-poweroffice",
}


def _run(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """A process with only ``env`` of ours: nothing of the calling shell's Bitnet settings."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "POWEROFFICE_", "FIELD_", "CELERY_"))
        and k not in ("DATABASE_URL", "REDIS_URL")
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "bitnet.settings", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _setting(env: dict[str, str], name: str) -> str:
    result = _run(
        env,
        "-c",
        f"import django; django.setup(); from django.conf import settings; print(settings.{name})",
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return _run(env, "manage.py", "check", "--deploy")


# --- 3. DEBUG off unless set, no development secret in production ---------------------------


def test_debug_is_off_unless_set():
    assert _setting(SECRETS, "DEBUG") == "False"
    assert _setting({"DJANGO_DEBUG": "true"}, "DEBUG") == "True"


def test_no_environment_refuses_to_start_and_names_each_secret():
    # `docker run` of the image with no environment.
    result = _run({}, "manage.py", "check")
    assert result.returncode != 0
    for name in (
        "DJANGO_SECRET_KEY",
        "FIELD_ENCRYPTION_KEY",
        "POWEROFFICE_APPLICATION_KEY",
        "POWEROFFICE_SUBSCRIPTION_KEY",
    ):
        assert f"{name} must be set when DJANGO_DEBUG is off" in result.stderr


def test_development_secrets_are_refused_in_production():
    result = _check(
        {
            **SECRETS,
            "DJANGO_SECRET_KEY": development.SECRET_KEY,
            "FIELD_ENCRYPTION_KEY": development.FIELD_ENCRYPTION_KEY,
            "POWEROFFICE_APPLICATION_KEY": development.APPLICATION_KEY,
        }
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is the development key" in result.stderr
    assert "FIELD_ENCRYPTION_KEY holds the development key" in result.stderr
    assert "POWEROFFICE_APPLICATION_KEY is the development key" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = _run(SECRETS, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


# --- 2. PowerOffice's own addresses, over HTTPS --------------------------------------------


def test_production_talks_to_poweroffice_by_default():
    assert _setting(SECRETS, "POWEROFFICE_API_URL") == "https://goapi.poweroffice.net/v2"
    assert _setting(SECRETS, "POWEROFFICE_TOKEN_URL") == (
        "https://goapi.poweroffice.net/OAuth/Token"
    )


@pytest.mark.parametrize(
    ("variables", "named", "why"),
    [
        (
            {
                "POWEROFFICE_API_URL": "http://127.0.0.1:8765/v2",
                "POWEROFFICE_TOKEN_URL": "http://127.0.0.1:8765/OAuth/Token",
            },
            "POWEROFFICE_API_URL",
            "uses plain HTTP",
        ),
        (
            {
                "POWEROFFICE_API_URL": "http://127.0.0.1:8765/v2",
                "POWEROFFICE_TOKEN_URL": "http://127.0.0.1:8765/OAuth/Token",
            },
            "POWEROFFICE_TOKEN_URL",
            "not at PowerOffice Go",
        ),
        (
            {"POWEROFFICE_TOKEN_URL": "http://goapi.poweroffice.net/OAuth/Token"},
            "POWEROFFICE_TOKEN_URL",
            "uses plain HTTP",
        ),
        (
            {
                "POWEROFFICE_API_URL": "https://sandbox:8765/v2",
                "POWEROFFICE_TOKEN_URL": "https://sandbox:8765/OAuth/Token",
            },
            "POWEROFFICE_API_URL",
            "not at PowerOffice Go",
        ),
        (
            {"POWEROFFICE_API_URL": "https://goapi.poweroffice.net/Demo/v2"},
            "POWEROFFICE_TOKEN_URL",
            "tokens of one environment do not work in the other",
        ),
    ],
)
def test_plain_http_or_a_sandbox_is_refused(variables, named, why):
    result = _check({**SECRETS, **variables})
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if named in line and why in line]
    assert lines, result.stderr
    assert "ERRORS" in result.stderr


def test_poweroffices_demo_environment_is_a_warning():
    result = _run(
        {
            **SECRETS,
            "POWEROFFICE_API_URL": "https://goapi.poweroffice.net/Demo/v2",
            "POWEROFFICE_TOKEN_URL": "https://goapi.poweroffice.net/Demo/OAuth/Token",
        },
        "manage.py",
        "check",
        "--deploy",
    )
    assert result.returncode == 0, result.stderr
    assert "demo environment" in result.stderr


def test_a_demo_installation_on_the_sandbox_says_so_and_holds_no_real_key():
    sandbox = {
        "DJANGO_SECRET_KEY": SECRETS["DJANGO_SECRET_KEY"],
        "FIELD_ENCRYPTION_KEY": SECRETS["FIELD_ENCRYPTION_KEY"],
        "POWEROFFICE_API_URL": "http://sandbox:8765/v2",
        "POWEROFFICE_TOKEN_URL": "http://sandbox:8765/OAuth/Token",
        "POWEROFFICE_ALLOW_SANDBOX": "true",
    }
    result = _check(sandbox)
    assert result.returncode == 0, result.stderr
    assert "POWEROFFICE_API_URL points at sandbox" in result.stderr  # a warning
    assert _setting(sandbox, "POWEROFFICE_APPLICATION_KEY") == development.APPLICATION_KEY
    result = _check(
        {**sandbox, "POWEROFFICE_APPLICATION_KEY": SECRETS["POWEROFFICE_APPLICATION_KEY"]}
    )
    assert result.returncode != 0
    assert "POWEROFFICE_APPLICATION_KEY is set while POWEROFFICE_ALLOW_SANDBOX is on" in (
        result.stderr
    )


def test_servers_refuse_to_start_on_plain_http():
    env = {**SECRETS, "POWEROFFICE_API_URL": "http://goapi.poweroffice.net/v2"}
    # gunicorn loads bitnet.wsgi first.
    web = _run(env, "-c", "import bitnet.wsgi")
    assert web.returncode != 0
    assert "Bitnet will not start" in web.stderr
    assert "POWEROFFICE_API_URL uses plain HTTP" in web.stderr
    # The Celery worker and beat stop before they touch the broker or the database.
    for process in (
        ["worker", "--pool=solo", "--without-gossip", "--without-mingle"],
        ["beat", "--schedule", "/dev/null"],
    ):
        result = _run(
            {**env, "CELERY_BROKER_URL": "memory://"},
            "-m",
            "celery",
            "-A",
            "bitnet",
            *process,
            timeout=90,
        )
        assert result.returncode != 0, process
        assert "POWEROFFICE_API_URL uses plain HTTP" in result.stdout + result.stderr


# --- 5. A malformed Fernet key is found at start-up ----------------------------------------


@pytest.mark.parametrize("debug", ["true", "false"])
def test_malformed_encryption_key_is_named_at_startup(debug):
    env = {**SECRETS, "DJANGO_DEBUG": debug, "FIELD_ENCRYPTION_KEY": "my-own-key-123"}
    result = _run(env, "manage.py", "check")
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY: the key is not a Fernet key" in result.stderr
    assert "my-own-key-123" not in result.stderr + result.stdout
    second = f"{Fernet.generate_key().decode()},broken"
    result = _run({**env, "FIELD_ENCRYPTION_KEY": second}, "manage.py", "check")
    assert "FIELD_ENCRYPTION_KEY: key number 2 of 2 is not a Fernet key" in result.stderr


def test_several_encryption_keys_are_accepted():
    keys = f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}"
    result = _run({**SECRETS, "FIELD_ENCRYPTION_KEY": keys}, "manage.py", "check", "--deploy")
    assert result.returncode == 0, result.stderr


# --- 8. The TLS proxy's header is believed only behind a proxy -----------------------------


def test_proxy_header_is_trusted_only_with_trusted_proxies():
    assert _setting(SECRETS, "SECURE_PROXY_SSL_HEADER") == "None"
    behind = {**SECRETS, "DJANGO_TRUSTED_PROXY_COUNT": "1"}
    assert _setting(behind, "SECURE_PROXY_SSL_HEADER") == "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_session_lasts_a_working_day():
    assert _setting(SECRETS, "SESSION_COOKIE_AGE") == str(8 * 60 * 60)
    assert _setting(SECRETS, "SESSION_EXPIRE_AT_BROWSER_CLOSE") == "False"
    closing = {**SECRETS, "DJANGO_SESSION_EXPIRE_AT_BROWSER_CLOSE": "true"}
    assert _setting(closing, "SESSION_EXPIRE_AT_BROWSER_CLOSE") == "True"
