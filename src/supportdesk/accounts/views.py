from __future__ import annotations

from typing import Any

from django.contrib import auth
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from supportdesk.accounts.forms import SignInForm
from supportdesk.accounts.models import SecurityEvent
from supportdesk.accounts.services import security_event_record


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, {request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if request.user.is_authenticated:
        return redirect(next_url or "home")
    form = SignInForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid() and form.user is not None:
        auth.login(request, form.user)
        return HttpResponseRedirect(next_url or reverse_lazy("home"))
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/login.html", {"form": form, "next": next_url}, status=status)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        security_event_record(kind=SecurityEvent.Kind.SIGN_OUT, request=request, user=request.user)
    auth.logout(request)
    return redirect("accounts:login")


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form: Any) -> HttpResponse:
        security_event_record(
            kind=SecurityEvent.Kind.PASSWORD_RESET_REQUESTED,
            request=self.request,
            email=form.cleaned_data.get("email", ""),
        )
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        security_event_record(
            kind=SecurityEvent.Kind.PASSWORD_CHANGED, request=self.request, user=form.user
        )
        return response
