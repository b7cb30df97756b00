"""The demo agency's people and departments, as Bitnet and PowerOffice Go both hold them.

Plain data with no imports of our apps: the demo's users (bitnet/demo.py), the offices'
"Ekstern avdeling" (poweroffice/demo.py) and the sandbox's seeded client
(poweroffice/sandbox/seed.py) all read it, so an Ansettelsesnr. in the demo names the same person
in the sandbox, and each demo office finds the department of its city.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class StaffMember:
    """An employee in PowerOffice Go; with a username, also a user of the demo in Bitnet."""

    number: int  # "Ansettelsesnr. (PowerOffice)"
    first_name: str
    last_name: str
    department: str  # PowerOffice department code
    job_title: str
    username: str = ""  # "" for someone who does not log in to Bitnet
    role: str = ""  # bitnet.models.Role value
    office: str = ""  # the demo office's name


# (code, name, active): the departments of the PowerOffice client; the demo's offices are in
# Oslo and Drammen.
DEPARTMENTS = [
    ("1", "Oslo", True),
    ("2", "Bærum", True),
    ("3", "Asker", True),
    ("4", "Drammen", True),
]

STAFF = [
    StaffMember(1, "Astrid", "Lunde", "1", "Daglig leder", "admin", "administrator", "Majorstuen"),
    StaffMember(2, "Erik", "Solberg", "1", "Økonomiansvarlig", "okonomi", "okonomi", "Majorstuen"),
    StaffMember(3, "Marte", "Holm", "1", "Lønnsansvarlig", "lonn", "lonn", "Majorstuen"),
    StaffMember(4, "Jonas", "Vik", "1", "Sjåfør", "bruker", "bruker", "Grünerløkka"),
    StaffMember(5, "Nils", "Bakken", "1", "Sjåfør", "sjafor.nils", "bruker", "Grünerløkka"),
    StaffMember(6, "Tone", "Aas", "4", "Sjåfør", "sjafor.tone", "bruker", "Drammen"),
    StaffMember(7, "Rune", "Moe", "4", "Sjåfør", "sjafor.rune", "bruker", "Drammen"),
    StaffMember(8, "Knut", "Nilsen", "2", "Gravferdskonsulent"),
    StaffMember(9, "Anne", "Kristiansen", "3", "Gravferdskonsulent"),
    StaffMember(10, "Ingrid", "Johansen", "2", "Gravferdskonsulent"),
]
