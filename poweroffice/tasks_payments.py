"""Payment check tasks (nightly, incremental; weekly full reconciliation)."""
