"""Administrasjon > Datadeling: each subgroup's PowerOffice connection (the client key, verified
and stored encrypted: connection), its options (services, forms), the departments synced from
PowerOffice (departments), and the one lookup of a connection (selectors)."""
