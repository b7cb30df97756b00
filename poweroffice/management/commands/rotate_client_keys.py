"""python manage.py rotate_client_keys: encrypt every stored PowerOffice client key again with the
newest FIELD_ENCRYPTION_KEY key.

To replace the encryption key: put a new key first in FIELD_ENCRYPTION_KEY (new,old), restart,
run this command, then drop the old key. Keys none of the keys can read are named; they must be
pasted again in Datadeling.
"""

from django.core.management.base import BaseCommand, CommandError

from poweroffice.datadeling.services import client_keys_rotate


class Command(BaseCommand):
    help = (
        "Krypterer alle lagrede klientnøkler på nytt med den første FIELD_ENCRYPTION_KEY-nøkkelen."
    )

    def handle(self, *args, **options) -> None:
        result = client_keys_rotate()
        self.stdout.write(f"{result.rotated} klientnøkler kryptert på nytt med den nye nøkkelen.")
        if result.unreadable:
            raise CommandError(
                "Kan ikke lese klientnøkkelen for "
                + ", ".join(result.unreadable)
                + ". Legg den gamle nøkkelen tilbake i FIELD_ENCRYPTION_KEY og kjør på nytt, "
                "eller lim inn klientnøkkelen på nytt i Datadeling."
            )
