"""What the deployment files promise: docker-compose.yml follows the Compose specification and
runs no published sandbox, no process that requirements.txt does not install, and takes its
secrets only from .env; requirements.txt alone installs everything the processes import."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from compose_spec import PyCompose
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$")
OUR_IMAGE = "bitnet:latest"


def _validate(text: str) -> dict:
    """The file as Compose reads it (YAML with merge keys), checked against the Compose
    specification by compose-spec (offline; the Rust compose_spec crate)."""
    data = yaml.safe_load(text)
    PyCompose.from_json(json.dumps(data))
    return data


@pytest.fixture(scope="module")
def compose() -> dict:
    return _validate(COMPOSE.read_text())


def _ours(compose: dict) -> dict[str, dict]:
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("image") == OUR_IMAGE or "build" in service
    }


def test_compose_file_follows_the_specification(compose):
    assert set(compose["services"]) >= {"postgres", "redis", "migrate", "web", "worker", "beat"}


@pytest.mark.parametrize(
    ("original", "broken"),
    [
        ("restart: unless-stopped", "restart: sometimes"),
        ("condition: service_healthy", "condition: healthy"),
        ("interval: 5s", "interval: five"),
        ('"127.0.0.1:8000:8000"', '"127.0.0.1:80x0:8000"'),
        ('    command: ["redis-server"', '    commnd: ["redis-server"'),
        ('profiles: ["demo"]', 'profiles: "demo"'),
    ],
)
def test_a_broken_copy_fails(original, broken):
    text = COMPOSE.read_text()
    assert original in text
    with pytest.raises(ValueError):
        _validate(text.replace(original, broken, 1))


def test_the_sandbox_is_demo_only_unpublished_and_never_gets_the_keys(compose):
    sandbox = compose["services"]["sandbox"]
    assert sandbox["profiles"] == ["demo"]
    assert "ports" not in sandbox and "expose" not in sandbox
    assert "env_file" not in sandbox
    assert set(sandbox.get("environment", {})) <= {"POWEROFFICE_SANDBOX_TOKEN"}
    assert "--demo-open" not in sandbox["command"]
    # Outside the demo profile nothing is started with the sandbox, nor pointed at it.
    for name, service in compose["services"].items():
        if "demo" not in service.get("profiles", []):
            assert "sandbox" not in json.dumps(service.get("environment", {})), name
            assert "sandbox" not in service.get("depends_on", {}), name


def test_only_web_is_published_and_only_on_this_machine(compose):
    published = {n: s["ports"] for n, s in compose["services"].items() if s.get("ports")}
    assert published == {"web": ["127.0.0.1:8000:8000"]}


def _requirement_names() -> set[str]:
    names = set()
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(canonicalize_name(Requirement(line).name))
    return names


def _program_provider(command: list[str]) -> str:
    """The distribution that provides the program a service starts."""
    if command[0] == "python":
        if command[1] == "manage.py":
            return "django"
        assert command[1] == "-m", command
        module = command[2].split(".")[0]
        return "ours" if (ROOT / module).is_dir() else canonicalize_name(module)
    return canonicalize_name(command[0])


def test_every_process_comes_from_requirements(compose):
    names = _requirement_names() | {"ours"}
    for name, service in _ours(compose).items():
        assert _program_provider(service["command"]) in names, name


def test_secrets_only_from_env_file(compose):
    for name, service in compose["services"].items():
        environment = service.get("environment", {})
        assert isinstance(environment, dict), name
        for variable, value in environment.items():
            if SECRET_NAME.search(variable):
                # Only an interpolation of the same name from .env, never a value.
                assert re.fullmatch(rf"\$\{{{variable}(:?[-?][^}}]*)?\}}", str(value)), (
                    name,
                    variable,
                )
            assert "password" not in str(value).lower() or "${POSTGRES_PASSWORD" in str(value)
    for name, service in _ours(compose).items():
        if "demo" not in service.get("profiles", []):
            assert service["env_file"] == ".env", name


# --- requirements.txt alone is enough ----------------------------------------------------------


def _closure(names: set[str]) -> set[str]:
    """The distributions requirements.txt installs: its own and what they declare, recursively
    (markers evaluated here, extras as written: psycopg[binary])."""
    wanted: list[tuple[str, set[str]]] = []
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            wanted.append((canonicalize_name(requirement.name), set(requirement.extras)))
    seen: set[str] = set()
    while wanted:
        name, extras = wanted.pop()
        if name in seen and not extras:
            continue
        seen.add(name)
        for spec in metadata.requires(name) or []:
            requirement = Requirement(spec)
            environments = [{**default_environment(), "extra": e} for e in extras or {""}]
            if requirement.marker and not any(
                requirement.marker.evaluate(env) for env in environments
            ):
                continue
            wanted.append((canonicalize_name(requirement.name), set(requirement.extras)))
    return seen


# What the processes of README and docker-compose.yml import on top of Django's start-up:
# web (gunicorn), the Celery worker and beat on Redis, the sandbox, the PDF. Run with every
# installed distribution that requirements.txt does not bring in hidden, as in a fresh
# virtualenv: optional imports fall back, missing ones fail.
_PROCESS_IMPORTS = """
import importlib.abc, json, sys
hidden = set(json.loads(sys.argv[1]))

class Hidden(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in hidden:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Hidden())
import django
django.setup()
import bitnet.wsgi
import celery.apps.worker, celery.apps.beat, celery.concurrency.prefork
import celery.worker.consumer, celery.backends.redis
import kombu.transport.redis
import django_celery_beat.schedulers
import gunicorn.app.wsgiapp, gunicorn.workers.sync
import weasyprint
import poweroffice.sandbox.cli
from bitnet.celery import app
app.loader.import_default_modules()
print("ok")
"""


def test_requirements_install_everything_the_processes_import():
    installed = _closure(_requirement_names())
    ours = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    hidden = sorted(
        module
        for module, distributions in metadata.packages_distributions().items()
        if module not in ours
        and module not in sys.stdlib_module_names
        and not any(canonicalize_name(d) in installed for d in distributions)
    )
    env = {"PATH": "/usr/bin:/bin", "DJANGO_DEBUG": "true", "REDIS_URL": "redis://127.0.0.1:1/0"}
    result = subprocess.run(
        [sys.executable, "-c", _PROCESS_IMPORTS, json.dumps(hidden)],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "bitnet.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        "a process imports what requirements.txt does not install:\n" + result.stderr[-2000:]
    )
    assert result.stdout.strip().endswith("ok")


def _queues_of(command: list[str]) -> set[str]:
    return set(command[command.index("-Q") + 1].split(",")) if "-Q" in command else set()


def test_every_queue_has_a_worker_in_compose_and_bin_run(compose):
    """Bulk work (Eksporter alle, sweepers, payment checks, reconciliation, payroll) has a worker
    of its own, so it never takes the slots of a single invoice's export; and no routed task
    lands in a queue that nothing consumes."""
    from django.conf import settings

    from bitnet.celery import app

    declared = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    assert declared == {"interactive", "bulk"}
    routed = {
        app.amqp.router.route({}, task)["queue"].name
        for task in (
            "poweroffice.tasks.export_invoice",
            "poweroffice.tasks.export_pending",
            "poweroffice.tasks.export_batch",
            "poweroffice.tasks.export_sweeper",
            "poweroffice.tasks_payments.payments_sync_all",
            "poweroffice.reconciliation.reconcile_last_month",
            "payroll.tasks.payroll_export_task",
        )
    }
    assert routed == declared
    assert app.amqp.router.route({}, "poweroffice.tasks.export_invoice")["queue"].name == (
        "interactive"
    )
    assert app.amqp.router.route({}, "poweroffice.tasks.export_batch")["queue"].name == "bulk"

    workers = {
        name: _queues_of(service["command"])
        for name, service in compose["services"].items()
        if service.get("command", [])[:4] == ["celery", "-A", "bitnet", "worker"]
    }
    assert workers == {"worker": {"interactive"}, "worker-bulk": {"bulk"}}

    run = (ROOT / "bin" / "run").read_text()
    started = set(re.findall(r"celery -A bitnet worker -Q (\S+)", run))
    assert started == declared
