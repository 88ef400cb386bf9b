"""/api/v1/: one module of views per resource group (tickets, people, webhooks, SLAs, managed
instances). A later subdomain adds its own module under api/views/ and its paths below."""

from django.urls import path, re_path

from supportdesk.api.errors import not_found
from supportdesk.api.views import docs, instances, people, slas, tickets, webhooks

app_name = "api"

urlpatterns = [
    path("schema/", docs.Schema.as_view(), name="schema"),
    path("docs/", docs.Docs.as_view(), name="docs"),
    path("me/", people.Me.as_view(), name="me"),
    # Tickets, messages, attachments
    path("tickets/", tickets.TicketList.as_view(), name="ticket-list"),
    path("tickets/<int:number>/", tickets.TicketDetail.as_view(), name="ticket-detail"),
    path("tickets/<int:number>/messages/", tickets.MessageList.as_view(), name="message-list"),
    path(
        "tickets/<int:number>/messages/<int:message_id>/",
        tickets.MessageDetail.as_view(),
        name="message-detail",
    ),
    path(
        "tickets/<int:number>/attachments/",
        tickets.AttachmentList.as_view(),
        name="attachment-list",
    ),
    path(
        "attachments/<uuid:attachment_id>/",
        tickets.AttachmentDetail.as_view(),
        name="attachment-detail",
    ),
    path(
        "attachments/<uuid:attachment_id>/download/",
        tickets.AttachmentDownload.as_view(),
        name="attachment-download",
    ),
    path("tickets/<int:number>/sla/", slas.TicketSla.as_view(), name="ticket-sla"),
    # Reports (leads)
    path("reports/sla/", slas.SlaReport.as_view(), name="report-sla"),
    # Managed instances, maintenance, incidents, availability
    path("instances/", instances.InstanceList.as_view(), name="instance-list"),
    path("instances/<slug:name>/", instances.InstanceDetail.as_view(), name="instance-detail"),
    path(
        "instances/<slug:name>/maintenance/",
        instances.InstanceWindows.as_view(),
        name="instance-maintenance",
    ),
    path("maintenance/", instances.WindowList.as_view(), name="maintenance-list"),
    path(
        "maintenance/<int:window_id>/", instances.WindowDetail.as_view(), name="maintenance-detail"
    ),
    path(
        "maintenance/<int:window_id>/confirm/",
        instances.WindowConfirm.as_view(),
        name="maintenance-confirm",
    ),
    path(
        "maintenance/<int:window_id>/reschedule/",
        instances.WindowReschedule.as_view(),
        name="maintenance-reschedule",
    ),
    path(
        "maintenance/<int:window_id>/cancel/",
        instances.WindowCancel.as_view(),
        name="maintenance-cancel",
    ),
    path("incidents/", instances.IncidentList.as_view(), name="incident-list"),
    path(
        "incidents/<int:incident_id>/", instances.IncidentDetail.as_view(), name="incident-detail"
    ),
    path(
        "incidents/<int:incident_id>/updates/",
        instances.IncidentUpdates.as_view(),
        name="incident-updates",
    ),
    path("availability/", instances.AvailabilityReport.as_view(), name="availability"),
    # Organizations and people (staff)
    path("organizations/", people.OrganizationList.as_view(), name="organization-list"),
    path(
        "organizations/<slug:slug>/",
        people.OrganizationDetail.as_view(),
        name="organization-detail",
    ),
    path("users/", people.UserList.as_view(), name="user-list"),
    path("users/<int:user_id>/", people.UserDetail.as_view(), name="user-detail"),
    # Webhooks (leads and org admins)
    path("webhooks/", webhooks.SubscriptionList.as_view(), name="webhook-list"),
    path("webhooks/event-types/", webhooks.EventTypes.as_view(), name="webhook-event-types"),
    path(
        "webhooks/<int:subscription_id>/",
        webhooks.SubscriptionDetail.as_view(),
        name="webhook-detail",
    ),
    path(
        "webhooks/<int:subscription_id>/deliveries/",
        webhooks.DeliveryList.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "webhooks/deliveries/<uuid:delivery_id>/replay/",
        webhooks.DeliveryReplay.as_view(),
        name="webhook-delivery-replay",
    ),
    # Anything else under /api/v1/ is a JSON 404.
    re_path(r"^.*$", not_found, name="not-found"),
]
