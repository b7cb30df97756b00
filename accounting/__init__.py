"""Invoicing: models, money (VAT, KID, org.nr.), the invoice PDF and the standard chart of
accounts; the features live in invoices/, customers/ and chart/."""
