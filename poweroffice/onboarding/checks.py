"""After Koble til PowerOffice: each newly connected subgroup's connection test and
prerequisites, as plain Norwegian lines for the done page (no keys, nothing to decrypt later)."""

from __future__ import annotations

from typing import Any

from bitnet.models import User
from poweroffice.chart.services import prerequisites_check
from poweroffice.datadeling.connection_check import connection_check
from poweroffice.models import Connection


def onboarding_results(*, connections: list[Connection], user: User | None) -> list[dict[str, Any]]:
    """One entry per connection: subgroup, client, the test's lines and the prerequisites."""
    results = []
    for connection in connections:
        connection.refresh_from_db()
        report = connection_check(connection=connection)
        prerequisites = prerequisites_check(connection=connection, user=user)
        lines = [{"ok": line.ok, "message": line.message} for line in report.lines]
        checks = [
            {
                "ok": check.get("status") == "ok",
                "warning": check.get("status") == "warning",
                "title": str(check.get("title") or ""),
                "message": str(check.get("message") or ""),
            }
            for check in prerequisites
        ]
        results.append(
            {
                "subgroup": connection.subgroup.name,
                "client": connection.client_name,
                "ok": report.ok and all(c["ok"] or c["warning"] for c in checks),
                "lines": lines,
                "checks": checks,
            }
        )
    return results
