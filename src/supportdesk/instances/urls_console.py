from django.urls import path

from supportdesk.instances import views

app_name = "instances_console"

urlpatterns = [
    path("instances/", views.console_instances, name="list"),
    path("instances/<slug:name>/", views.console_instance, name="instance"),
    path("instances/<slug:name>/monitor/", views.console_monitor, name="monitor"),
    path("instances/<slug:name>/maintenance/", views.console_propose, name="propose"),
    path("maintenance/<int:window_id>/", views.console_window, name="maintenance"),
    path(
        "maintenance/<int:window_id>/<slug:action>/",
        views.console_window_action,
        name="maintenance_action",
    ),
    path("incidents/<int:incident_id>/", views.console_incident, name="incident"),
    path("organizations/<slug:slug>/availability/", views.console_report, name="report"),
]
