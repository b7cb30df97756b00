"""Norwegian numbers written the way people read them (bitnet/identifiers.py):
``{{ org|orgnr }}`` 914 778 271, ``{{ vat|mvanr }}`` NO 914 778 271 MVA,
``{{ account|kontonr }}`` 1234 56 78903."""

from django import template

from bitnet import identifiers

register = template.Library()

register.filter("orgnr", identifiers.org_number_format)
register.filter("mvanr", identifiers.vat_number_format)
register.filter("kontonr", identifiers.bank_account_format)
