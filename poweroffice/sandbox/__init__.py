"""A local stand-in for PowerOffice Go v2, written from the public contract on its own.

It owns everything PowerOffice's side of the integration does for our client, our tests, the
demo and the benchmarks: the token endpoint and the /v2 API (``api/``, one module per resource,
``api/router.py`` maps paths to them), the DTO tables of the contract (``contract.py``,
``enums.py``) and strict reading of requests (``values.py``, ``query.py``), each client's data
(``state.py``, seeded by ``seed.py``), the test hooks under /_sandbox/ (``hooks.py``), the HTTP
server (``server.py``) and the page at / (``page.py``).

It imports nothing of our apps nor of our client, so that a misreading of the contract cannot
hide by being shared between the side that sends and the side that checks. Start it with
``python manage.py poweroffice_sandbox`` or ``poweroffice.sandbox.server.start_sandbox()``.
"""
