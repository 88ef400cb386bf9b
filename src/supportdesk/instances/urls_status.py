from django.urls import path

from supportdesk.instances import views

app_name = "instances_status"

urlpatterns = [
    path("<slug:token>/", views.status_page, name="page"),
    path("<slug:token>/maintenance.ics", views.status_ical, name="ical"),
    path("<slug:token>/feed.atom", views.status_atom, name="atom"),
]
