"""Demo set-up of the payroll export: activate PowerOffice Go payroll for each demo subgroup
(reusing the client key Datadeling holds, stored by ``poweroffice.demo.demo_connect``) and map the
kinds of reimbursement to the pay items the sandbox seeds, so the demo's driving logs can be
exported at once. Idempotent."""

from bitnet.models import Agency
from payroll.models import ReimbursementKind
from poweroffice.datadeling.selectors import connection_get
from poweroffice.salary.activation import payroll_integration_activate
from poweroffice.salary.wagecodes import wage_codes_save

# Pay item codes of the sandbox's seeded client (poweroffice/sandbox/seed.py PAY_ITEMS).
DEMO_WAGE_CODES: dict[str, str] = {
    ReimbursementKind.MILEAGE: "7100",
    ReimbursementKind.PASSENGER: "7101",
    ReimbursementKind.TRAILER: "7102",
    ReimbursementKind.TOLL: "7140",
    ReimbursementKind.PARKING: "7141",
    ReimbursementKind.FERRY: "7142",
}


def demo_payroll(*, agency: Agency) -> str:
    """Activate payroll and configure wage codes for every subgroup with a client key."""
    done: list[str] = []
    notes: list[str] = []
    for subgroup in agency.subgroups.order_by("name"):
        connection = connection_get(subgroup)
        if connection is None or not connection.has_client_key:
            notes.append(f"{subgroup.name}: ingen klientnøkkel i Datadeling")
            continue
        activated = payroll_integration_activate(subgroup=subgroup, client_key=None)
        if not activated.ok:
            notes.append(f"{subgroup.name}: {activated.message}")
            continue
        saved = wage_codes_save(subgroup=subgroup, codes=dict(DEMO_WAGE_CODES))
        if not saved.ok:
            notes.append(f"{subgroup.name}: {' '.join(saved.errors.values()) or saved.message}")
            continue
        done.append(subgroup.name)
    parts = []
    if done:
        parts.append(f"Lønn i PowerOffice Go aktivert med lønnskoder for {', '.join(done)}.")
    if notes:
        parts.append("Ikke satt opp: " + "; ".join(notes) + ".")
    return " ".join(parts)
