from django.apps import AppConfig


def _on_invoice_committed(sender: object, invoice_id: int, **kwargs: object) -> None:
    from poweroffice.invoices.automatic import invoice_queue_export

    invoice_queue_export(invoice_id=invoice_id)


class PowerofficeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "poweroffice"
    verbose_name = "PowerOffice Go"

    def ready(self) -> None:
        # The domain announces committed invoices; the integration reacts (STYLE "Which way
        # dependencies point"). dispatch_uid keeps one receiver even if ready() runs twice.
        from accounting.hooks import invoice_committed
        from bitnet.hooks import register_department_choices
        from poweroffice import checks  # noqa: F401 - registers the system checks
        from poweroffice.datadeling.departments import department_choices

        invoice_committed.connect(
            _on_invoice_committed, dispatch_uid="poweroffice.export.invoice_committed"
        )
        register_department_choices(department_choices)
