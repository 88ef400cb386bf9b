from django.urls import include, path

from supportdesk.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("", include("supportdesk.accounts.urls")),
    path("console/", include("supportdesk.console.urls")),
    path("portal/", include("supportdesk.portal.urls")),
    path("notifications/", include("supportdesk.notifications.urls")),
    path("console/webhooks/", include("supportdesk.webhooks.urls")),
    path("console/", include("supportdesk.instances.urls_console")),
    path("portal/", include("supportdesk.instances.urls_portal")),
    path("status/", include("supportdesk.instances.urls_status")),
    path("console/sla/", include("supportdesk.slas.urls")),
    path(
        "attachments/<uuid:attachment_id>/",
        core_views.attachment_download,
        name="attachment_download",
    ),
]
