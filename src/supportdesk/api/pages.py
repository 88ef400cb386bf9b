"""Pages: your own API tokens (everyone), and integration accounts (leads)."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from supportdesk.accounts.models import User
from supportdesk.api.forms import IntegrationForm, TokenForm
from supportdesk.api.models import ApiToken, IntegrationAccount
from supportdesk.api.tokens import (
    api_token_create,
    api_token_revoke,
    integration_account_create,
    tokens_manageable_by,
)
from supportdesk.core.forms import apply_service_errors
from supportdesk.core.views import lead_required, login_required

NEW_TOKEN_SESSION_KEY = "api_new_token"  # noqa: S105 - a session key name


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _layout(request: HttpRequest) -> dict[str, Any]:
    """Staff see the page in the console, customers in the portal."""
    if _user(request).is_staff:
        from supportdesk.console.views import base_context

        return {**base_context(request), "base_template": "console/base.html"}
    return {"base_template": "portal/base.html"}


def _remember_new_token(request: HttpRequest, token: ApiToken, secret: str) -> None:
    # Shown once, on the next page only (then popped from the session).
    request.session[NEW_TOKEN_SESSION_KEY] = [token.pk, secret]


def _pop_new_token(request: HttpRequest) -> tuple[int, str] | None:
    shown = request.session.pop(NEW_TOKEN_SESSION_KEY, None)
    return (int(shown[0]), str(shown[1])) if shown else None


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = TokenForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            new = api_token_create(
                actor=user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=form.expires_at(),
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            _remember_new_token(request, new.token, new.secret)
            return redirect("api_pages:tokens")
    return render(
        request,
        "api/tokens.html",
        {
            **_layout(request),
            "nav": "tokens",
            "form": form,
            "tokens": ApiToken.objects.filter(user=user).select_related("revoked_by"),
            "new_token": _pop_new_token(request),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    user = _user(request)
    token = ApiToken.objects.filter(tokens_manageable_by(user), pk=token_id).first()
    if token is None:
        raise Http404("No such token")
    api_token_revoke(actor=user, token=token, request=request)
    flash.success(request, f"Token “{token.name}” revoked: it no longer works.")
    if token.user_id != user.pk:
        return redirect("api_pages:integrations")
    return redirect("api_pages:tokens")


@lead_required
@require_http_methods(["GET", "POST"])
def integrations(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = IntegrationForm(request.POST or None, prefix="account")
    token_form = TokenForm(request.POST or None, user=user, prefix="token")
    if request.method == "POST" and form.is_valid() and token_form.is_valid():
        data = form.cleaned_data
        try:
            account = integration_account_create(
                actor=user,
                name=data["name"],
                role=data["role"],
                organization=data["organization"],
                description=data["description"],
                request=request,
            )
            new = api_token_create(
                actor=user,
                user=account,
                name=token_form.cleaned_data["name"],
                scopes=token_form.cleaned_data["scopes"],
                expires_at=token_form.expires_at(),
                request=request,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            _remember_new_token(request, new.token, new.secret)
            flash.success(request, f"Integration account {account.name} created.")
            return redirect("api_pages:integrations")
    accounts = IntegrationAccount.objects.select_related(
        "user", "user__organization", "created_by"
    ).prefetch_related("user__api_tokens")
    return render(
        request,
        "api/integrations.html",
        {
            **_layout(request),
            "nav": "integrations",
            "form": form,
            "token_form": token_form,
            "accounts": accounts,
            "new_token": _pop_new_token(request),
        },
        status=400 if request.method == "POST" else 200,
    )


@lead_required
@require_POST
def integration_token_new(request: HttpRequest, account_id: int) -> HttpResponse:
    lead = _user(request)
    account = get_object_or_404(IntegrationAccount.objects.select_related("user"), pk=account_id)
    form = TokenForm(request.POST, user=account.user, prefix="token")
    if form.is_valid():
        try:
            new = api_token_create(
                actor=lead,
                user=account.user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=form.expires_at(),
                request=request,
            )
        except (ValidationError, PermissionDenied) as exc:
            flash.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            _remember_new_token(request, new.token, new.secret)
    else:
        flash.error(
            request,
            "The token was not made: "
            + " ".join(f"{f}: {' '.join(str(m) for m in e)}" for f, e in form.errors.items()),
        )
    return redirect("api_pages:integrations")
