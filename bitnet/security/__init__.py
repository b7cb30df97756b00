"""Production safety: the development-only values, the system checks that refuse an unsafe
production configuration (and the start-up refusal that runs them), the error-page filter that
hides secrets, the Cache-Control middleware, and the client's address behind our TLS proxy.

The PowerOffice side of the checks (addresses, keys, the Fernet keys) is poweroffice/checks.py.
"""
