"""Small, explicit extension points the integrations plug into (see AppConfig.ready).

The domain apps do not import the integration: an integration registers a provider here.
"""

from collections.abc import Callable, Iterable

DepartmentChoices = dict[int, list[tuple[str, str]]]

# (subgroup ids) -> {subgroup id: [(code, label)]} for an office's "Ekstern avdeling".
_department_choices: Callable[[list[int]], DepartmentChoices] | None = None


def register_department_choices(provider: Callable[[list[int]], DepartmentChoices]) -> None:
    global _department_choices
    _department_choices = provider


def department_choices_by_subgroup(subgroup_ids: Iterable[int]) -> DepartmentChoices:
    """The external departments offices of these subgroups can choose, in one look-up; a
    subgroup with none synced is missing or has []."""
    ids = list(subgroup_ids)
    return _department_choices(ids) if _department_choices and ids else {}


def department_choices(subgroup_id: int) -> list[tuple[str, str]]:
    """The external departments an office of this subgroup can choose, or [] if none synced."""
    return department_choices_by_subgroup([subgroup_id]).get(subgroup_id, [])
