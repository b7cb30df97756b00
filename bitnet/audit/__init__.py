"""The Endringslogg: who changed which setting, when, and from what to what.

The services that write a setting record the change here, in the same transaction as the write
(``services.audit_record``): Datadeling (client key, options, "Synkroniser avdelinger"),
Integrasjoner ("Aktiver"/"Deaktiver"), Lønnskoder, users and an office's "Ekstern avdeling".
The pages those settings live on show their part of it (``selectors``, and the template
``includes/audit_log.html``), always of the reader's own agency. A client key is only ever named
by its last four characters. The rows are ``bitnet.models.AuditEntry``.
"""
