from django.urls import path

from supportdesk.api import pages

app_name = "api_pages"

urlpatterns = [
    path("settings/tokens/", pages.tokens, name="tokens"),
    path("settings/tokens/<int:token_id>/revoke/", pages.token_revoke, name="token_revoke"),
    path("console/integrations/", pages.integrations, name="integrations"),
    path(
        "console/integrations/<int:account_id>/tokens/",
        pages.integration_token_new,
        name="integration_token_new",
    ),
]
