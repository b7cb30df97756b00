"""Administrasjon > Kontoplan, Varer and MVA-koder: the chart of accounts, articles and VAT codes
of an agency."""
