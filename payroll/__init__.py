"""Payroll: driving logs and their trips (``drivinglogs/``), mileage rates, and what they amount
to (``reimbursements``). The export to PowerOffice Go's payroll is poweroffice/salary/; its rows
(wage codes, exports, salary lines) are in ``models`` with the rest of the app's tables, but
nothing here imports poweroffice."""
