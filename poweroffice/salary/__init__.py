"""The payroll export to PowerOffice Go (SPEC Part B; the ABAX guide's steps).

- Administrasjon > Integrasjoner: ``activation`` ("Aktiver" / "Deaktiver" per subgroup).
- Lønn > Lønnskoder: ``wagecodes`` (one pay item code per kind, checked against GET /PayItems).
- Lønn > Lønnseksport: ``checks`` (the guide's validations on "Søk", as ``problems``),
  ``create`` (claims the logbooks and stores the salary lines), ``run`` (creates them in
  PowerOffice Go, all or nothing) and ``rollback`` (deletes them again), with the export row's
  ``bookkeeping`` (claim, heartbeat) shared by them; ``recovery`` brings an export whose run
  died half-way to an end (resumed or rolled back: the sweeper, ``payroll_export`` run again,
  "Gjenoppta nå"); ``selectors`` (logbooks, salary lines, stale exports), ``tasks``.
- Pages: ``views``, ``forms``, ``urls``; ``demo`` sets the demo agency up.

What the driving logs amount to is payroll/reimbursements.py: payroll does not know this folder.
"""
