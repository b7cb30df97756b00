"""The chart-of-accounts check against PowerOffice (SPEC Part A items 2 and 7).

"Valider kontoplan" (accounts, articles' accounts and VAT codes compared with PowerOffice's) and
the prerequisites checklist shown per connection on Datadeling, which holds automatic export back
while it fails. Modules: comparison (the comparisons), prerequisites (the checklist lines),
vatcodes (PowerOffice's VAT codes and their validity), findings (what a finding is and how it is
worded), selectors (reads), services (the runs that write), views and urls.
"""
