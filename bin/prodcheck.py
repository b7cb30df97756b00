"""The production-path check (bin/prodcheck runs it inside .venv-prod, requirements.txt alone).

With the production settings (DJANGO_DEBUG unset, fresh secrets, POWEROFFICE_ALLOW_SANDBOX for
the sandbox) it:

1. creates a database of its own on DATABASE_URL's PostgreSQL server and migrates it;
2. starts the sandbox (``python -m poweroffice.sandbox``, with a hook token), a Celery worker
   and beat on Redis, and gunicorn;
3. connects the demo agency to the sandbox (``seed_demo``'s services), then creates invoices one
   at a time through ``accounting.invoices.services.invoice_create`` and checks that each is
   exported automatically: exported in our database, its voucher in the sandbox;
4. checks that beat wrote the schedule and that gunicorn serves the login page (HTTPS through
   the trusted proxy, CSP) and redirects plain HTTP;
5. stops everything and drops its database.

Bounded in time; exits non-zero with a message saying what failed (and the log to read).
Only the standard library and requirements.txt are imported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "var" / "prodcheck"
PYTHON = sys.executable


class CheckFailed(Exception):
    pass


def say(message: str) -> None:
    print(f"prodcheck: {message}", flush=True)


def wait_for(what: str, predicate: Callable[[], Any], *, timeout: float, step: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise CheckFailed(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(step)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the environment of every process --------------------------------------------------------


def database_urls(url: str) -> tuple[str, str, str]:
    """(this check's database URL, the server's maintenance URL, the database name)."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        raise CheckFailed("DATABASE_URL must point at PostgreSQL (postgres://...)")
    name = (parts.path.strip("/") or "bitnet") + "_prodcheck"
    own = urlunsplit(parts._replace(path=f"/{name}"))
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    return own, maintenance, name


def redis_url(url: str) -> str:
    """PRODCHECK_REDIS_URL, else REDIS_URL's server with the next database number, so that no
    task of another run (the tests') reaches this worker."""
    if os.environ.get("PRODCHECK_REDIS_URL"):
        return os.environ["PRODCHECK_REDIS_URL"]
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(number + 1) % 16}"))


def production_env(*, database: str, redis: str, sandbox: str, hook_token: str) -> dict[str, str]:
    from cryptography.fernet import Fernet

    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "POWEROFFICE_", "FIELD_", "CELERY_", "AXES_"))
        and k not in ("DATABASE_URL", "REDIS_URL", "VIRTUAL_ENV", "PYTHONPATH")
    }
    return {
        **base,
        # Production: DJANGO_DEBUG unset, its secrets set (fresh, never kept).
        "DJANGO_SETTINGS_MODULE": "bitnet.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_TRUSTED_PROXY_COUNT": "1",
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "DATABASE_URL": database,
        "REDIS_URL": redis,
        # A demo installation on the sandbox: it says so, and holds only the sandbox's keys.
        "POWEROFFICE_ALLOW_SANDBOX": "true",
        "POWEROFFICE_API_URL": f"{sandbox}/v2",
        "POWEROFFICE_TOKEN_URL": f"{sandbox}/OAuth/Token",
        "POWEROFFICE_SANDBOX_URL": sandbox,
        "POWEROFFICE_SANDBOX_TOKEN": hook_token,
        "LOG_LEVEL": "INFO",
    }


# --- processes -----------------------------------------------------------------------------


class Processes:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.running: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
        LOG_DIR.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = LOG_DIR / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [PYTHON, *args],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.running[name] = (process, log)
        return process

    def alive(self, name: str) -> None:
        process, log = self.running[name]
        if process.poll() is not None:
            raise CheckFailed(f"{name} exited with {process.returncode}: see {log}\n{tail(log)}")

    def stop_all(self) -> None:
        for process, _ in self.running.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process, _ in self.running.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def tail(log: Path, lines: int = 25) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run(env: dict[str, str], *args: str, what: str) -> None:
    result = subprocess.run(
        [PYTHON, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        raise CheckFailed(f"{what} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}")


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode(errors="replace")
    except OSError:
        return 0, {}, ""


# --- the checks ----------------------------------------------------------------------------


def check_invoices(*, count: int, sandbox: str, hook_token: str, per_invoice: float) -> list[dict]:
    import requests

    from accounting.invoices.services import LineInput, invoice_create
    from accounting.models import Article, Customer, ExportStatus, Invoice
    from bitnet.demo import demo_seed
    from bitnet.models import Office, User
    from poweroffice.demo import demo_connect
    from poweroffice.models import Connection

    agency = demo_seed(invoices=0).agency
    say(demo_connect(agency=agency).splitlines()[0] + " connected")
    connection = (
        Connection.objects.filter(subgroup__agency=agency, auto_export=True)
        .select_related("subgroup")
        .order_by("subgroup__name")
        .first()
    )
    if connection is None:
        raise CheckFailed("the demo agency has no subgroup exporting automatically")
    office = Office.objects.filter(subgroup=connection.subgroup).order_by("name").first()
    customer = Customer.objects.filter(subgroup=connection.subgroup).order_by("number").first()
    articles = list(Article.objects.filter(agency=agency).order_by("name")[:3])
    user = User.objects.get(agency=agency, username="okonomi")
    if office is None or customer is None or not articles:
        raise CheckFailed("the demo agency lacks an office, a customer or articles")
    hooks = requests.Session()
    hooks.headers["X-Sandbox-Token"] = hook_token
    key_or_id = connection.client_id

    results = []
    for n in range(count):
        started = time.monotonic()
        invoice = invoice_create(
            created_by=user,
            office=office,
            customer=customer,
            lines=[LineInput(article=a, quantity=Decimal(1 + n)) for a in articles],
            invoice_date=dt.date.today(),
            deceased_name="Ola Nordmann",
        )

        def exported(pk: int = invoice.pk) -> Invoice | None:
            row = Invoice.objects.get(pk=pk)
            if row.export_status == ExportStatus.FAILED:
                raise CheckFailed(f"invoice {row.number} failed to export: {row.export_error}")
            return row if row.export_status == ExportStatus.EXPORTED else None

        try:
            row = wait_for(
                f"invoice {invoice.number} to be exported", exported, timeout=per_invoice
            )
        except CheckFailed as exc:
            status = Invoice.objects.get(pk=invoice.pk).export_status
            raise CheckFailed(f"{exc} (status {status}; see {LOG_DIR / 'worker.log'})") from None
        vouchers = hooks.get(
            f"{sandbox}/_sandbox/clients/{key_or_id}/data/vouchers", timeout=10
        ).json()
        booked = [v for v in vouchers if str(v.get("InvoiceNo")) == str(row.number)]
        if len(booked) != 1 or str(booked[0]["Id"]) != row.external_voucher_id:
            raise CheckFailed(
                f"invoice {row.number}: {len(booked)} voucher(s) in the sandbox, expected 1 "
                f"with id {row.external_voucher_id}"
            )
        seconds = round(time.monotonic() - started, 2)
        say(f"invoice {row.number} exported automatically, voucher {booked[0]['Id']} ({seconds} s)")
        results.append({"invoice": row.number, "voucher": booked[0]["Id"], "seconds": seconds})
    return results


def check_queues(app: Any) -> None:
    """Each worker consumes its own queue, and every routed task has a worker behind it."""
    active = app.control.inspect(timeout=2).active_queues() or {}
    consumed = {
        name.split("@")[0]: {queue["name"] for queue in queues} for name, queues in active.items()
    }
    if consumed.get("prodcheck") != {"interactive"} or consumed.get("prodcheck-bulk") != {"bulk"}:
        raise CheckFailed(f"the workers consume the wrong queues: {consumed}")
    for task in ("poweroffice.tasks.export_invoice", "poweroffice.tasks.export_batch"):
        queue = app.amqp.router.route({}, task)["queue"].name
        if not any(queue in queues for queues in consumed.values()):
            raise CheckFailed(f"no worker consumes queue {queue!r} of {task}")
    say(f"queues: {consumed}")


def check_beat() -> None:
    from django_celery_beat.models import PeriodicTask

    wait_for(
        "beat to write the schedule (export-sweeper) to the database",
        lambda: PeriodicTask.objects.filter(name="export-sweeper").exists(),
        timeout=60,
    )
    say("beat: the schedule is in PostgreSQL (export-sweeper, payments-nightly)")


def check_web(port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    status, headers, body = http_get(
        f"{base}/logg-inn/", {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.10"}
    )
    if status != 200 or "Logg inn" not in body:
        raise CheckFailed(f"gunicorn: GET /logg-inn/ through the proxy answered {status}")
    if "script-src" not in headers.get("Content-Security-Policy", ""):
        raise CheckFailed("gunicorn: the login page has no Content-Security-Policy")
    status, headers, _ = http_get(f"{base}/logg-inn/")
    if status != 301 or not headers.get("Location", "").startswith("https://"):
        raise CheckFailed(f"gunicorn: plain HTTP answered {status}, not a redirect to HTTPS")
    say("gunicorn: login page over HTTPS (via the proxy) with CSP; plain HTTP redirected")


def main() -> int:
    parser = argparse.ArgumentParser(description="The production-path check.")
    parser.add_argument("--invoices", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=90, help="seconds per invoice export")
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        say("FAILED: needs DATABASE_URL (PostgreSQL) and REDIS_URL")
        return 2
    database, maintenance, name = database_urls(os.environ["DATABASE_URL"])
    broker = redis_url(os.environ["REDIS_URL"])
    sandbox_port, web_port = free_port(), free_port()
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    hook_token = secrets.token_urlsafe(24)
    env = production_env(database=database, redis=broker, sandbox=sandbox, hook_token=hook_token)

    import psycopg

    def recreate(drop_only: bool = False) -> None:
        with psycopg.connect(maintenance, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if not drop_only:
                admin.execute(f'CREATE DATABASE "{name}"')

    processes = Processes(env)
    started = time.monotonic()
    try:
        recreate()
        run(env, "manage.py", "migrate", "--noinput", what="migrate")
        run(
            env, "manage.py", "collectstatic", "--noinput", "--verbosity", "0", what="collectstatic"
        )
        say(f"migrated {name} and collected static files with the production settings")
        processes.start(
            "sandbox",
            "-m",
            "poweroffice.sandbox",
            "--port",
            str(sandbox_port),
            "--hook-token",
            hook_token,
            "--quiet",
        )
        wait_for(
            "the sandbox",
            lambda: (
                http_get(f"{sandbox}/_sandbox/health", {"X-Sandbox-Token": hook_token})[0] == 200
            ),
            timeout=30,
        )
        # The driver (this process) is one more production process: same settings.
        os.environ.clear()
        os.environ.update(env, LOG_LEVEL="WARNING")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from bitnet.celery import app

        app.control.purge()
        worker = ["-m", "celery", "-A", "bitnet", "worker", "--loglevel", "INFO"]
        processes.start(
            "worker", *worker, "-Q", "interactive", "--concurrency", "2", "-n", "prodcheck@%h"
        )
        processes.start(
            "worker-bulk", *worker, "-Q", "bulk", "--concurrency", "1", "-n", "prodcheck-bulk@%h"
        )
        processes.start("beat", "-m", "celery", "-A", "bitnet", "beat", "--loglevel", "INFO")
        processes.start(
            "web",
            "-m",
            "gunicorn",
            "bitnet.wsgi:application",
            "--bind",
            f"127.0.0.1:{web_port}",
            "--workers",
            "2",
        )

        def workers_ready() -> bool:
            processes.alive("worker")
            processes.alive("worker-bulk")
            replies = app.control.ping(timeout=0.5) or []
            names = {name.split("@")[0] for reply in replies for name in reply}
            return {"prodcheck", "prodcheck-bulk"} <= names

        wait_for("the Celery workers on Redis", workers_ready, timeout=90, step=0.5)
        check_queues(app)
        say(f"worker, beat and gunicorn started on Redis {urlsplit(broker).path}")
        results = check_invoices(
            count=args.invoices, sandbox=sandbox, hook_token=hook_token, per_invoice=args.timeout
        )
        processes.alive("beat")
        check_beat()
        wait_for("gunicorn", lambda: http_get(f"http://127.0.0.1:{web_port}/")[0], timeout=60)
        processes.alive("web")
        check_web(web_port)
        for name_ in ("worker", "worker-bulk", "beat", "web", "sandbox"):
            processes.alive(name_)
    except CheckFailed as exc:
        say(f"FAILED: {exc}")
        return 1
    except Exception as exc:  # an install or a process that does not work: say what broke
        traceback.print_exc()
        say(f"FAILED: {type(exc).__name__}: {exc}")
        return 1
    finally:
        processes.stop_all()
        try:
            from django.db import connections

            connections.close_all()
            recreate(drop_only=True)
        except Exception as exc:  # cleaning up must not hide the result
            say(f"could not drop {name}: {exc}")
    seconds = round(time.monotonic() - started, 1)
    say(f"ok: {len(results)} invoices exported automatically in production mode ({seconds} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
