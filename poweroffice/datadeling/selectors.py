"""Reads of Datadeling: the one way to find a subgroup's PowerOffice connection, the synced
departments, the stored keys that cannot be read, and which PowerOffice the app talks to."""

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from bitnet.models import Subgroup
from poweroffice.client.environment import Environment, environment_of
from poweroffice.crypto import secret_readable
from poweroffice.models import Connection, Department


def connection_get(
    subgroup: Subgroup | None = None, *, subgroup_id: int | None = None
) -> Connection | None:
    """The subgroup's connection (with its subgroup loaded), or None when it has none."""
    if subgroup is not None:
        subgroup_id = subgroup.pk
    if subgroup_id is None:
        return None
    return Connection.objects.filter(subgroup_id=subgroup_id).select_related("subgroup").first()


def connections_by_subgroup(*, agency_id: int) -> dict[int, Connection]:
    """Every connection of an agency, keyed by subgroup id."""
    rows = Connection.objects.filter(subgroup__agency_id=agency_id).select_related("subgroup")
    return {c.subgroup_id: c for c in rows}


def connections_of(*, subgroup_ids: Iterable[int]) -> dict[int, Connection]:
    """The connections of these subgroups, keyed by subgroup id (subgroups without one left out)."""
    rows = Connection.objects.filter(subgroup_id__in=list(subgroup_ids)).select_related("subgroup")
    return {c.subgroup_id: c for c in rows}


def departments_by_subgroup(*, subgroup_ids: list[int]) -> dict[int, list[Department]]:
    """The departments synced from PowerOffice (active or not), by code, keyed by subgroup id."""
    departments: dict[int, list[Department]] = {}
    for department in Department.objects.filter(subgroup_id__in=subgroup_ids).order_by("code"):
        departments.setdefault(department.subgroup_id, []).append(department)
    return departments


def subgroups_with_unreadable_key(*, connections: Iterable[Connection]) -> list[str]:
    """The names of the subgroups (of these connections, subgroup loaded) whose stored client
    key none of the FIELD_ENCRYPTION_KEY keys can read (an old key dropped before
    ``rotate_client_keys``), sorted."""
    return sorted(
        c.subgroup.name
        for c in connections
        if c.client_key_encrypted and not secret_readable(c.client_key_encrypted)
    )


@dataclass(frozen=True)
class PowerOfficeTarget:
    """Which PowerOffice Go the app sends to, as Datadeling shows it."""

    environment: Environment
    label: str
    host: str
    warning: str

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION


_TARGETS = {
    Environment.PRODUCTION: ("PowerOffice Go (produksjon)", ""),
    Environment.DEMO: (
        "PowerOffice Go sitt demomiljø (/Demo/v2)",
        "Bitnet sender til PowerOffice sitt demomiljø: fakturaer og lønnslinjer havner ikke i "
        "noe ekte regnskap.",
    ),
    Environment.SANDBOX: (
        "Lokal sandkasse (ikke PowerOffice)",
        "Bitnet sender til en lokal sandkasse, ikke til PowerOffice Go. Den er bare for utvikling "
        "og demo: ingenting havner i et regnskap, og klientnøkler som limes inn her er synlige "
        "for alle som når sandkassen. Lim aldri inn en ekte klientnøkkel.",
    ),
}


def poweroffice_target() -> PowerOfficeTarget:
    """The PowerOffice Go behind POWEROFFICE_API_URL: production, demo or a sandbox."""
    environment = environment_of(settings.POWEROFFICE_API_URL)
    label, warning = _TARGETS[environment]
    host = urlsplit(settings.POWEROFFICE_API_URL).netloc
    return PowerOfficeTarget(environment=environment, label=label, host=host, warning=warning)
