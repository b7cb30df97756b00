"""Invoice export to PowerOffice Go: claiming and running one invoice (export), the voucher
(voucher) and the run's reference data (reference, customers, products), many invoices at once
(batch), the sweeper (sweep), the Celery tasks, and Økonomi > Ikke eksporterte fakturaer with the
specification PDF (views, selectors, services)."""
