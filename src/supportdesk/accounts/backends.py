from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from supportdesk.accounts.models import User, normalize_email


class EmailBackend(ModelBackend):
    """Sign in with an email address, case-insensitively."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        email = kwargs.get("email", username)
        if not email or password is None:
            return None
        try:
            user = User.objects.get(email=normalize_email(email))
        except User.DoesNotExist:
            # Run the hasher anyway so response time does not reveal which addresses exist.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
