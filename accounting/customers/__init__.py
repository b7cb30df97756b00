"""Økonomi > Kunder: persons, companies and estates an agency invoices (list, new, edit)."""
