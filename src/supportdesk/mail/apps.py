from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "supportdesk.mail"
    label = "mail"
    verbose_name = "E-mail channel"
    default_auto_field = "django.db.models.BigAutoField"
