"""Økonomi > Fakturaer: invoices and credit notes (list, detail, new, credit), their lines and
totals per VAT code."""
