"""Why a payroll export cannot go ahead: ``Problem`` (what is wrong, what to fix and the page
where it is fixed, the "Rett i" link) and ``PayrollExportBlocked``, which carries them."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from bitnet.models import Subgroup, User


@dataclass
class Problem:
    """Why an export cannot go ahead, what to fix, and where ("Rett i" link)."""

    code: str
    message: str
    link: str = ""
    link_label: str = ""

    def as_text(self) -> str:
        return f"{self.message} Rett i: {self.link}" if self.link else self.message


class PayrollExportBlocked(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


def not_active_text(subgroup: Subgroup) -> str:
    return f"PowerOffice Go er ikke aktivert for {subgroup.name}."


# --- where things are fixed -----------------------------------------------------------------------


def integrations_link() -> str:
    """Administrasjon > Integrasjoner."""
    return reverse("payroll_integrations:index")


def wage_codes_link(subgroup: Subgroup) -> str:
    """Lønn > Lønnskoder, on the subgroup's codes."""
    return f"{reverse('payroll_export:wage_codes')}?undergruppe={subgroup.pk}"


def user_link(user: User) -> str:
    """Administrasjon > Brukere: the user's page (employee number)."""
    return reverse("users:user_edit", kwargs={"pk": user.pk})


def export_link(export_id: int) -> str:
    """Lønn > Lønnseksport: one export."""
    return reverse("payroll_export:detail", kwargs={"export_id": export_id})
