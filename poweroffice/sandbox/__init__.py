"""A local stand-in for PowerOffice Go v2, written from the public contract on its own.

It imports nothing of our apps nor of our client, so that a misreading of the contract cannot
hide by being shared between the side that sends and the side that checks. Start it with
``python manage.py poweroffice_sandbox`` or ``poweroffice.sandbox.server.start_sandbox()``.
"""
