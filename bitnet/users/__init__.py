"""Administrasjon > Brukere: the users of an agency (list, create, edit) and the login form."""
