"""Production. Everything secret or site-specific comes from the environment; this module refuses to
start without a real SECRET_KEY and passes `supportdesk check --deploy`."""

from django.core.exceptions import ImproperlyConfigured

from supportdesk.settings.base import *  # noqa: F403
from supportdesk.settings.base import SECRET_KEY
from supportdesk.settings.env import env_bool, env_int, env_str

DEBUG = False
if SECRET_KEY.startswith("dev-only") or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters in production "
        "(for example: python3 -c 'import secrets; print(secrets.token_urlsafe(64))')"
    )

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
if env_str("SECURE_PROXY_SSL_HEADER"):
    # e.g. SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto behind a TLS-terminating proxy.
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + env_str("SECURE_PROXY_SSL_HEADER").upper().replace("-", "_"),
        "https",
    )

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
