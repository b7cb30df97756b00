"""python manage.py poweroffice_sandbox [--port 8765]: the local PowerOffice Go v2 stand-in.

The same options as ``python -m poweroffice.sandbox`` (poweroffice/sandbox/cli.py).
"""

from django.core.management.base import BaseCommand, CommandParser

from poweroffice.sandbox.cli import add_arguments, serve


class Command(BaseCommand):
    help = "Run the PowerOffice Go v2 sandbox (token, /v2 API, /_sandbox hooks, page at /)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser)

    def handle(self, *args, **options) -> None:
        serve(options, self.stdout.write)
