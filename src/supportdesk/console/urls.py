from django.urls import path

from supportdesk.console import views

app_name = "console"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("search/", views.search, name="search"),
    path("tickets/new/", views.ticket_new, name="ticket_new"),
    path("tickets/<int:number>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:number>/reply/", views.ticket_reply, name="ticket_reply"),
    path("tickets/<int:number>/note/", views.ticket_note, name="ticket_note"),
    path("tickets/<int:number>/update/", views.ticket_update, name="ticket_update"),
    path("tickets/<int:number>/ccs/", views.ticket_ccs, name="ticket_ccs"),
    path("organizations/", views.organizations, name="organizations"),
    path("organizations/<slug:slug>/", views.organization_detail, name="organization"),
]
