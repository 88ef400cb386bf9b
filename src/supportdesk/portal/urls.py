from django.urls import path

from supportdesk.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.tickets, name="tickets"),
    path("search/", views.search, name="search"),
    path("tickets/new/", views.ticket_new, name="ticket_new"),
    path("tickets/<int:number>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:number>/reply/", views.ticket_reply, name="ticket_reply"),
]
