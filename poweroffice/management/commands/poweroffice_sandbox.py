"""python manage.py poweroffice_sandbox [--port 8765]: the local PowerOffice Go v2 stand-in."""

import signal

from django.core.management.base import BaseCommand, CommandParser

from poweroffice.sandbox.server import make_server, server_url


class Command(BaseCommand):
    help = "Run the PowerOffice Go v2 sandbox (token, /v2 API, /_sandbox hooks, page at /)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument(
            "--latency-ms", type=int, default=0, help="Round trip added to every API answer."
        )
        parser.add_argument(
            "--latency-jitter-ms",
            type=int,
            default=0,
            help="Up to this much more on the way there, at random (network delay variation).",
        )
        parser.add_argument(
            "--rate-limit",
            type=float,
            default=10,
            help="Requests per second per subscription key, counted on arrival over a sliding "
            "1 s window; 0 = off.",
        )
        parser.add_argument(
            "--token-lifetime", type=int, default=1200, help="Access token lifetime, seconds."
        )
        parser.add_argument(
            "--state-file", default=None, help="Keep clients and data in this JSON file."
        )
        parser.add_argument("--quiet", action="store_true", help="Do not print each request.")

    def handle(self, *args, **options) -> None:
        server = make_server(
            host=options["host"],
            port=options["port"],
            rate_limit=options["rate_limit"],
            latency_ms=options["latency_ms"],
            latency_jitter_ms=options["latency_jitter_ms"],
            token_lifetime=options["token_lifetime"],
            state_file=options["state_file"],
            verbose=not options["quiet"],
        )
        url = server_url(server)
        self.stdout.write(
            f"PowerOffice Go sandbox on {url}  (API {url}/v2, token {url}/OAuth/Token, "
            f"hooks {url}/_sandbox/, page {url}/)"
        )
        self.stdout.write(
            f"Rate limit {options['rate_limit']:g}/s, token lifetime "
            f"{options['token_lifetime']} s, latency {options['latency_ms']} ms. Ctrl-C stops."
        )
        signal.signal(signal.SIGTERM, _stop)  # docker stop: save the state file, then exit
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            server.state.flush()


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt
