"""A large period reconciles in a real Celery worker on Redis: the page shows it running, then
the saved result."""

import pytest
from django.urls import reverse

from poweroffice.models import Reconciliation
from tests.fixtures.export import make_invoice
from tests.poweroffice.invoices.test_worker import Worker, _wait, worker_env  # noqa: F401

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_background_run_in_a_real_worker(client, export_world, worker_env, settings):  # noqa: F811
    world = export_world
    settings.RECONCILIATION_INLINE_MAX = 0
    never = make_invoice(world)  # never exported (no worker yet to export it)
    worker = Worker(worker_env, "reconcile")
    try:
        worker.wait_ready()
        client.force_login(world.user)
        response = client.post(
            reverse("reconciliation:start"),
            {"subgroup": world.subgroup.pk, "period_from": "2026-03-01", "period_to": "2026-03-31"},
        )
        assert response.status_code == 302
        run = Reconciliation.objects.get()

        def finished():
            run.refresh_from_db()
            return run.finished_at is not None

        _wait(finished, timeout=60, what="the reconciliation to finish", step=0.3)
    finally:
        worker.stop()
    missing = [d for d in run.differences if d["kind"] == "missing"]
    assert run.state == Reconciliation.State.DIFFERENCES, run.error
    assert [d["invoice_no"] for d in missing] == [never.number]
    page = client.get(response["Location"]).content.decode()
    assert "avvik." in page and "Avstemmingen pågår" not in page
