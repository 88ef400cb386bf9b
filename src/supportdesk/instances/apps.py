from django.apps import AppConfig


class InstancesConfig(AppConfig):
    name = "supportdesk.instances"
    label = "instances"
    verbose_name = "Managed instances: monitoring, incidents, maintenance"
    default_auto_field = "django.db.models.BigAutoField"
