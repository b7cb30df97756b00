"""Økonomi > Avstemming: month-end reconciliation of a subgroup's invoices and credit notes
against PowerOffice Go - the invoices one by one, the totals per VAT code and sales account, and
the payments - with the saved results (``poweroffice.models.Reconciliation``), their PDF and CSV,
the ``reconcile`` command and the monthly run of the month just ended."""
