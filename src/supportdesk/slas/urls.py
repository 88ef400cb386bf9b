from django.urls import path

from supportdesk.slas import views

app_name = "slas"

urlpatterns = [
    path("", views.index, name="index"),
    path("calendars/new/", views.calendar_new, name="calendar_new"),
    path("calendars/<int:calendar_id>/", views.calendar_detail, name="calendar"),
    path("calendars/<int:calendar_id>/export.toml", views.calendar_export, name="calendar_export"),
    path("policies/new/", views.policy_new, name="policy_new"),
    path("policies/<int:policy_id>/", views.policy_detail, name="policy"),
    path("on-call/", views.on_call, name="on_call"),
    path("on-call/<int:shift_id>/remove/", views.on_call_remove, name="on_call_remove"),
    path("reports/", views.report, name="report"),
]
