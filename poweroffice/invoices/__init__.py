"""Invoice export to PowerOffice Go: claiming and running one invoice (export), the voucher
(voucher), the reference data of a run (reference, customers, products) and what is kept of it
between runs (refcache), many invoices at once (batch, with its threads and the PDFs rendered
ahead in pdfs), automatic export of new invoices gathered into runs (automatic), the sweeper
(sweep), the Celery tasks, and Økonomi > Ikke eksporterte fakturaer with the specification PDF
(views, selectors, services)."""
