from django.urls import path

from supportdesk.instances import views

app_name = "instances_portal"

urlpatterns = [
    path("instances/", views.portal_status, name="status"),
    path("instances/status-link/", views.portal_status_link_rotate, name="rotate"),
    path("instances/<slug:name>/", views.portal_instance, name="instance"),
    path("maintenance/new/", views.portal_propose, name="propose"),
    path("maintenance/<int:window_id>/", views.portal_window, name="maintenance"),
    path(
        "maintenance/<int:window_id>/<slug:action>/",
        views.portal_window_action,
        name="maintenance_action",
    ),
    path("incidents/<int:incident_id>/", views.portal_incident, name="incident"),
    path("availability/", views.portal_report, name="report"),
]
