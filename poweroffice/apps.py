from django.apps import AppConfig


class PowerofficeConfig(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
    name = 'poweroffice'
