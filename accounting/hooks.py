"""The domain's one outward hook: an invoice was committed.

The integration (poweroffice) connects to this signal to enqueue the export; the domain does
not know where invoices go. The signal is sent from ``transaction.on_commit``, so receivers
only ever see committed rows.
"""

from django.dispatch import Signal

# Sent with invoice_id=<int> after the transaction that created the invoice committed.
invoice_committed = Signal()
