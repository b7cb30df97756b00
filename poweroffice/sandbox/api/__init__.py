"""The /v2 endpoints and the token endpoint of the sandbox, one module per resource.

``router`` maps a path and method to its handler and checks the token and privilege first;
each handler runs under ``state.lock`` with a ``context.Ctx`` and answers a ``Response`` or
raises ``ApiError``. ``common`` holds what the resources share (lookups, the generic GET/POST/
PATCH steps, lists with their filter tables from ``..query``), ``patch`` JSON Patch.

Validation is deliberately as strict as PowerOffice (or stricter where the contract is
silent): unknown or misspelled properties, wrong JSON types, missing required values,
duplicates and references to objects that do not exist are all refused with a problem detail
that says what to fix.
"""
