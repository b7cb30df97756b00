"""The payment check (Administrasjon > Betalingssjekk): balances and payment status of exported
invoices, read from PowerOffice Go every night and reconciled in full once a week.

``services`` claims and carries out runs (the watermark), ``apply`` records one page of
PowerOffice's answer on our invoices, ``selectors`` reads for the runs and the page; ``tasks``,
``views``, ``urls``.
"""
