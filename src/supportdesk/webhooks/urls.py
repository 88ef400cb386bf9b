from django.urls import path

from supportdesk.webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.subscriptions, name="list"),
    path("<int:subscription_id>/", views.detail, name="detail"),
    path("<int:subscription_id>/update/", views.update, name="update"),
    path("deliveries/<uuid:delivery_id>/replay/", views.replay, name="replay"),
]
