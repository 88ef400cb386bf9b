from django.urls import path

from supportdesk.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("read/", views.mark_all_read, name="mark_all_read"),
    path("<int:notification_id>/open/", views.open_notification, name="open"),
]
