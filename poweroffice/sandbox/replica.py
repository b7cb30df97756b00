"""Reads that lag writes, as in PowerOffice Go: GETs are answered from a replica.

PowerOffice's documentation of its older API says reads hit a replica that is typically less
than a second behind the primary. With ``read_lag_ms`` set (``--read-lag-ms``, or
``POST /_sandbox/config``), an object a call creates is seen by GETs only that long after; the
checks of a write (``ExternalImportReference is already in use``, an invoice number taken) see it
at once, as PowerOffice's primary does. Changes to existing objects and deletions are not delayed.
"""

import time

VISIBLE_AT = "_visible_at"  # wall-clock time from which GETs see a record


def keys_before(client: dict) -> dict[str, set[str]]:
    """What each collection holds before a write, to tell afterwards what the write created."""
    return {name: set(items) for name, items in client["data"].items()}


def stamp_created(client: dict, before: dict[str, set[str]], lag_ms: float) -> None:
    """Hide from GETs, for ``lag_ms``, the records created since ``before``."""
    visible_at = time.time() + lag_ms / 1000
    for name, items in client["data"].items():
        for key in items.keys() - before.get(name, set()):
            items[key][VISIBLE_AT] = visible_at


def replica_view(client: dict) -> dict:
    """The client as a GET sees it: without the records the replica has not received yet."""
    now = time.time()
    data = {
        name: {key: record for key, record in items.items() if record.get(VISIBLE_AT, 0) <= now}
        for name, items in client["data"].items()
    }
    return {**client, "data": data}
