from django.urls import path

from supportdesk.mail import views

app_name = "mail"

urlpatterns = [
    path("quarantine/", views.quarantine, name="quarantine"),
    path("inbound/<int:inbound_id>/", views.inbound_detail, name="inbound"),
    path("inbound/<int:inbound_id>/raw/", views.inbound_raw, name="inbound_raw"),
    path("inbound/<int:inbound_id>/retry/", views.inbound_retry, name="inbound_retry"),
    path("inbound/<int:inbound_id>/discard/", views.inbound_discard, name="inbound_discard"),
    path("suppressed/", views.suppressed, name="suppressed"),
    path("suppressed/lift/", views.suppression_lift, name="suppression_lift"),
]
