from django.urls import include, path, re_path

from supportdesk.api.errors import not_found as api_not_found
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
    path("console/mail/", include("supportdesk.mail.urls")),
    path("api/v1/", include("supportdesk.api.urls")),
    re_path(r"^api/", api_not_found, name="api_not_found"),
    path("", include("supportdesk.api.page_urls")),
    path(
        "attachments/<uuid:attachment_id>/",
        core_views.attachment_download,
        name="attachment_download",
    ),
]
