from django.apps import AppConfig


class BitnetConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "bitnet"
    verbose_name = "Bitnet"

    def ready(self) -> None:
        from bitnet.security import checks  # noqa: F401 - registers the system checks
