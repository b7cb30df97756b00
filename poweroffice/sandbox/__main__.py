"""python -m poweroffice.sandbox [--port 8765]: the sandbox without Django (cli.py)."""

from .cli import main

main()
