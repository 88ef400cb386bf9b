from django.apps import AppConfig


class SlasConfig(AppConfig):
    name = "supportdesk.slas"
    label = "slas"
    verbose_name = "SLA policies and clocks"
