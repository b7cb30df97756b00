"""Small, explicit extension points the integrations plug into (see AppConfig.ready).

The domain apps do not import the integration: an integration registers a provider here.
"""

from collections.abc import Callable

# (subgroup_id) -> list of (code, label) for an office's "Ekstern avdeling".
_department_choices: Callable[[int], list[tuple[str, str]]] | None = None


def register_department_choices(provider: Callable[[int], list[tuple[str, str]]]) -> None:
    global _department_choices
    _department_choices = provider


def department_choices(subgroup_id: int) -> list[tuple[str, str]]:
    """The external departments an office of this subgroup can choose, or [] if none synced."""
    return _department_choices(subgroup_id) if _department_choices else []
