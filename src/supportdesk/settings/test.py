"""The test suite. DATABASE_URL picks SQLite (default, in memory) or PostgreSQL."""

import os

from supportdesk.settings.base import *  # noqa: F403
from supportdesk.settings.base import _database

DATABASES = {"default": _database(os.environ.get("DATABASE_URL") or "sqlite://")}
SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdef"  # noqa: S105
# Argon2 is the production hasher (a test asserts it); tests hash with a fast one.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SUPPORTDESK_SITE_URL = "http://testserver"
LOGGING = {"version": 1, "disable_existing_loggers": False}
SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE_NETWORKS = True  # local receivers in development and tests
