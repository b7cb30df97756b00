"""Running the sandbox from a shell: ``python -m poweroffice.sandbox`` (no Django, no settings:
what docker-compose's demo profile runs) and ``python manage.py poweroffice_sandbox`` share
these options and this loop.
"""

from __future__ import annotations

import argparse
import os
import signal
from collections.abc import Callable

from .guard import TOKEN_HEADER, is_loopback_bind
from .server import make_server, server_url

TOKEN_VARIABLE = "POWEROFFICE_SANDBOX_TOKEN"


def add_arguments(parser: argparse.ArgumentParser) -> None:
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
        "--read-lag-ms",
        type=int,
        default=0,
        help="GETs see a created object only this long after (PowerOffice reads a replica).",
    )
    parser.add_argument(
        "--token-lifetime", type=int, default=1200, help="Access token lifetime, seconds."
    )
    parser.add_argument(
        "--state-file", default=None, help="Keep clients and data in this JSON file."
    )
    parser.add_argument("--quiet", action="store_true", help="Do not print each request.")
    parser.add_argument(
        "--hook-token",
        default=None,
        help=f"The token the /_sandbox hooks ask for in {TOKEN_HEADER} (default: "
        f"${TOKEN_VARIABLE}, else a new random one, printed).",
    )
    parser.add_argument(
        "--demo-open",
        action="store_true",
        help="Hooks without a token, for a local demo (bin/run). Only on a loopback address.",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="Another host name the hooks and the page answer to (e.g. the compose service).",
    )


def serve(options: dict, write: Callable[[str], None]) -> None:
    """Start the sandbox with ``options`` (as parsed by add_arguments) and serve until stopped."""
    if options["demo_open"] and not is_loopback_bind(options["host"]):
        raise SystemExit(
            f"--demo-open serves the hooks without a token: only on a loopback address, not on "
            f"{options['host']}."
        )
    token = None
    if not options["demo_open"]:
        token = options.get("hook_token") or os.environ.get(TOKEN_VARIABLE) or None
    server = make_server(
        host=options["host"],
        port=options["port"],
        rate_limit=options["rate_limit"],
        latency_ms=options["latency_ms"],
        latency_jitter_ms=options["latency_jitter_ms"],
        token_lifetime=options["token_lifetime"],
        read_lag_ms=options["read_lag_ms"],
        state_file=options["state_file"],
        verbose=not options["quiet"],
        hook_token=token,
        demo_open=options["demo_open"],
        allowed_hosts=tuple(options.get("allowed_host") or ()),
    )
    url = server_url(server)
    write(
        f"SANDBOX: PowerOffice Go stand-in on {url}  (API {url}/v2, token {url}/OAuth/Token, "
        f"hooks {url}/_sandbox/, page {url}/). Not PowerOffice: for development and demos only."
    )
    write(
        f"Rate limit {options['rate_limit']:g}/s, token lifetime "
        f"{options['token_lifetime']} s, latency {options['latency_ms']} ms, read lag "
        f"{options['read_lag_ms']} ms. Ctrl-C stops."
    )
    guard = server.guard
    if guard.open:
        write("Hooks open to this machine (--demo-open): no token needed.")
    elif token is None:
        write(f"Hooks need the header {TOKEN_HEADER}: {guard.token}")
        write(f"Page: {url}/?token={guard.token}")
    else:
        write(f"Hooks need the header {TOKEN_HEADER} (the token given).")
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m poweroffice.sandbox",
        description="The PowerOffice Go v2 sandbox (token, /v2 API, /_sandbox hooks, page at /).",
    )
    add_arguments(parser)
    serve(vars(parser.parse_args(argv)), lambda line: print(line, flush=True))
