"""What a person does about each kind of failed export: the second half of a failure's line
on Økonomi > Integrasjonsstatus (the first half is the export's own message, from
poweroffice/messages.py)."""

from __future__ import annotations

DATADELING = "Administrasjon > Datadeling"

FIXES: dict[str, str] = {
    "auth": f"Lag en ny klientnøkkel i PowerOffice og lim den inn under {DATADELING}.",
    "no_key": f"Legg inn klientnøkkelen for undergruppen under {DATADELING}.",
    "forbidden": "Gi utvidelsen rettighetene den mangler under Innstillinger > Utvidelser i "
    "PowerOffice.",
    "config": "Feilen ligger i Bitnets oppsett – kontakt Bitnet.",
    "account_missing": "Opprett kontoen i PowerOffice eller velg en annen konto under "
    "Administrasjon > Kontoplan, og kjør Valider kontoplan.",
    "account_inactive": "Aktiver kontoen i PowerOffice eller velg en annen konto under "
    "Administrasjon > Kontoplan.",
    "vat_missing": "Opprett MVA-koden i PowerOffice eller velg en annen under "
    "Administrasjon > MVA-koder.",
    "vat_inactive": "Aktiver MVA-koden i PowerOffice eller velg en annen under "
    "Administrasjon > MVA-koder.",
    "vat_rate": "Sørg for at satsen på MVA-koden er den samme i Bitnet og PowerOffice.",
    "department_missing": "Opprett avdelingen i PowerOffice og hent avdelinger på nytt under "
    f"{DATADELING}.",
    "department_inactive": "Aktiver avdelingen i PowerOffice eller velg en annen avdeling.",
    "transient": "Ingenting å gjøre: eksporten prøves igjen automatisk.",
}
DEFAULT_FIX = (
    "Rett det meldingen sier, og eksporter fakturaen på nytt fra Ikke eksporterte fakturaer."
)


def fix_for(kind: str) -> str:
    return FIXES.get(kind, DEFAULT_FIX)
