"""Lønn > Kjørebøker: driving logs, their trips and their status (services, selectors, views,
forms, urls)."""
