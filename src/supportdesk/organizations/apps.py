from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "supportdesk.organizations"
    label = "organizations"
