"""Settings shared by every environment. Everything a deployment changes comes from the environment
(see docs/configuration.md); the defaults here are safe for development."""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from supportdesk.settings.env import env_bool, env_int, env_json_list, env_list, env_str

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# Where the SQLite database, uploaded attachments and raw mail live unless configured otherwise.
# From a source checkout this is <checkout>/var.
DATA_DIR = Path(env_str("SUPPORTDESK_DATA_DIR", str(PACKAGE_DIR.parent.parent / "var")))

SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Absolute URL of this installation, used in links inside emails and feeds.
SUPPORTDESK_SITE_URL = env_str("SUPPORTDESK_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SUPPORTDESK_SUPPORT_ADDRESS = env_str("SUPPORTDESK_SUPPORT_ADDRESS", "support@supportdesk.test")
SUPPORTDESK_ATTACHMENT_MAX_BYTES = env_int("SUPPORTDESK_ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024)
SUPPORTDESK_LOGIN_MAX_FAILURES = env_int("SUPPORTDESK_LOGIN_MAX_FAILURES", 5)
SUPPORTDESK_LOGIN_LOCKOUT_SECONDS = env_int("SUPPORTDESK_LOGIN_LOCKOUT_SECONDS", 15 * 60)
SUPPORTDESK_AUTOCLOSE_DAYS = env_int("SUPPORTDESK_AUTOCLOSE_DAYS", 7)
# Webhooks to private, loopback or link-local addresses are refused (SSRF) unless allowed here.
SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE_NETWORKS = env_bool(
    "SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE_NETWORKS", False
)

# Managed-instance probes (docs/managed-instances.md): the worker probes from this location unless
# SUPPORTDESK_PROBES_IN_WORKER is off; `supportdesk probes run --location NAME` adds locations.
SUPPORTDESK_PROBE_LOCATION = env_str("SUPPORTDESK_PROBE_LOCATION", "main")
SUPPORTDESK_PROBES_IN_WORKER = env_bool("SUPPORTDESK_PROBES_IN_WORKER", True)
SUPPORTDESK_PROBE_CONCURRENCY = env_int("SUPPORTDESK_PROBE_CONCURRENCY", 500)
# An incident in "monitoring" (the instance is back) is resolved after this long without trouble.
SUPPORTDESK_INCIDENT_AUTO_RESOLVE_MINUTES = env_int("SUPPORTDESK_INCIDENT_AUTO_RESOLVE_MINUTES", 30)

# E-mail channel: processing inbound mail and sending ticket mail (docs/configuration.md).
# Keys that sign reply addresses (support+TOKEN@…), newest first; empty: derived from SECRET_KEY.
SUPPORTDESK_MAIL_REPLY_TOKEN_KEYS = env_list("SUPPORTDESK_MAIL_REPLY_TOKEN_KEYS", [])
# Domain of our Message-IDs; empty: the support address's domain.
SUPPORTDESK_MAIL_DOMAIN = env_str("SUPPORTDESK_MAIL_DOMAIN", "")
# More addresses that are ours (mail from them is never answered automatically).
SUPPORTDESK_MAIL_OWN_ADDRESSES = env_list("SUPPORTDESK_MAIL_OWN_ADDRESSES", [])
SUPPORTDESK_MAIL_LOOP_HEADER = env_str("SUPPORTDESK_MAIL_LOOP_HEADER", "X-Supportdesk-Loop")
# Attachments of inbound mail: larger ones (or beyond the count) are listed but not stored as
# ticket attachments (the raw message keeps them).
SUPPORTDESK_MAIL_ATTACHMENT_MAX_BYTES = env_int(
    "SUPPORTDESK_MAIL_ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024
)
SUPPORTDESK_MAIL_MAX_ATTACHMENTS = env_int("SUPPORTDESK_MAIL_MAX_ATTACHMENTS", 50)
# Automatic acknowledgements per sender address and hour, at most.
SUPPORTDESK_MAIL_AUTO_REPLY_LIMIT = env_int("SUPPORTDESK_MAIL_AUTO_REPLY_LIMIT", 3)
# Send an acknowledgement for a new ticket opened by mail.
SUPPORTDESK_MAIL_ACKNOWLEDGE = env_bool("SUPPORTDESK_MAIL_ACKNOWLEDGE", True)

# Periodic jobs the worker's scheduler enqueues: (task, interval in seconds).
SUPPORTDESK_PERIODIC_JOBS = [
    ("supportdesk.tickets.tasks.tickets_autoclose_task", 3600),
    ("supportdesk.core.tasks.task_results_prune", 24 * 3600),
    ("supportdesk.notifications.tasks.notifications_redrive_task", 60),
    ("supportdesk.webhooks.tasks.webhook_deliveries_redrive_task", 30),
    ("supportdesk.instances.tasks.maintenance_sweep_task", 30),
    ("supportdesk.instances.tasks.monitors_sweep_task", 60),
    ("supportdesk.slas.tasks.sla_sweep_task", 30),
    ("supportdesk.slas.tasks.sla_repair_task", 600),
    ("supportdesk.api.tasks.api_housekeeping_task", 600),
    ("supportdesk.mail.tasks.mail_repair_task", 60),
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "supportdesk.core",
    "supportdesk.accounts",
    "supportdesk.organizations",
    "supportdesk.tickets",
    "supportdesk.notifications",
    "supportdesk.webhooks",
    "supportdesk.instances",
    "supportdesk.slas",
    "supportdesk.mail",
    "supportdesk.console",
    "supportdesk.portal",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "supportdesk.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "supportdesk.api.ratelimit.ApiRateLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "supportdesk.core.middleware.UserTimezoneMiddleware",
]

ROOT_URLCONF = "supportdesk.urls"
WSGI_APPLICATION = "supportdesk.wsgi.application"
ASGI_APPLICATION = "supportdesk.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "supportdesk.core.context_processors.site",
            ],
        },
    },
]


def _database(url: str) -> dict[str, object]:
    config: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=0))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the web processes read while the worker writes; IMMEDIATE transactions take the
        # write lock up front so concurrent writers queue instead of failing. On a database file,
        # writers from several processes queue fairly, the web and the mail listener first
        # (supportdesk/core/backends/sqlite3/base.py); an in-memory one (the tests') has one
        # process and keeps Django's engine, which the test tools recognise.
        if config["NAME"] not in ("", ":memory:"):
            config["ENGINE"] = "supportdesk.core.backends.sqlite3"
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    else:
        config["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
        config["CONN_HEALTH_CHECKS"] = True
    return config


DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'supportdesk.sqlite3'}"
DATABASES = {"default": _database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["supportdesk.accounts.backends.EmailBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3

# Sessions and CSRF: HTTP-only cookies, SameSite=Lax, a working day's lifetime; production adds
# Secure. The CSRF token reaches htmx through a header set from the page, not from the cookie.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 60 * 60)
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static")))
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
STORAGES = {
    # Attachments are never served from a public URL: only through permission-checked views.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Email out. SMTP in production; EMAIL_BACKEND may name any Django email backend.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
EMAIL_FILE_PATH = str(DATA_DIR / "sent-mail")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", SUPPORTDESK_SUPPORT_ADDRESS)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Email in: the LMTP/SMTP listener (`supportdesk mail lmtp`) and IMAP polling (`supportdesk mail
# imap`). Mail is accepted for the support addresses (any +tag) and, optionally, for every address
# at the support domains; other recipients are refused with 550 unless the check is turned off.
SUPPORTDESK_MAIL_ADDRESSES = [
    a.lower() for a in env_list("SUPPORTDESK_MAIL_ADDRESSES", [SUPPORTDESK_SUPPORT_ADDRESS])
]
SUPPORTDESK_MAIL_DOMAINS = [d.lower() for d in env_list("SUPPORTDESK_MAIL_DOMAINS", [])]
SUPPORTDESK_MAIL_REFUSE_UNKNOWN_RECIPIENTS = env_bool(
    "SUPPORTDESK_MAIL_REFUSE_UNKNOWN_RECIPIENTS", True
)
# Largest message accepted (bytes); bigger ones are refused for good (552).
SUPPORTDESK_MAIL_MAX_BYTES = env_int("SUPPORTDESK_MAIL_MAX_BYTES", 40 * 1024 * 1024)
SUPPORTDESK_MAIL_LISTEN = env_str("SUPPORTDESK_MAIL_LISTEN", "127.0.0.1:2525")
SUPPORTDESK_MAIL_LISTENER_THREADS = env_int("SUPPORTDESK_MAIL_LISTENER_THREADS", 8)
# IMAP mailboxes to poll: a JSON list of objects, see docs/email.md.
SUPPORTDESK_IMAP_MAILBOXES = env_json_list("SUPPORTDESK_IMAP_MAILBOXES")
SUPPORTDESK_IMAP_POLL_SECONDS = env_int("SUPPORTDESK_IMAP_POLL_SECONDS", 60)

# Background work: the Django tasks API. The ORM-backed worker by default; Redis (RQ) when
# TASKS_BACKEND=rq (see docs/deployment.md).
REDIS_URL = env_str("REDIS_URL")
TASKS_BACKEND = env_str("TASKS_BACKEND", "database")
if TASKS_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq"]
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {"default": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0"}}
elif TASKS_BACKEND == "immediate":
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # httpx logs every request at INFO: 33 lines a second from the probe worker.
        "httpx": {"level": "WARNING"},
    },
}

# The REST API (docs/api.md). Rate limits are requests per minute, counted in the database so every
# web process shares them (or in the cache with SUPPORTDESK_API_RATE_LIMIT_STORE=cache, which is
# only shared across processes when the cache is Redis).
SUPPORTDESK_API_RATE_LIMIT_PER_TOKEN = env_int("SUPPORTDESK_API_RATE_LIMIT_PER_TOKEN", 600)
SUPPORTDESK_API_RATE_LIMIT_PER_IP = env_int("SUPPORTDESK_API_RATE_LIMIT_PER_IP", 1200)
SUPPORTDESK_API_RATE_LIMIT_STORE = env_str("SUPPORTDESK_API_RATE_LIMIT_STORE", "database")
SUPPORTDESK_API_TOKEN_MAX_DAYS = env_int("SUPPORTDESK_API_TOKEN_MAX_DAYS", 366)
SUPPORTDESK_API_IDEMPOTENCY_HOURS = env_int("SUPPORTDESK_API_IDEMPOTENCY_HOURS", 24)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "supportdesk.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["supportdesk.api.permissions.HasScope"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "supportdesk.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "supportdesk.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "supportdesk API",
    "DESCRIPTION": "Tickets, messages, attachments, SLA state, managed instances, maintenance "
    "windows, incidents, availability and SLA reports, organizations and webhooks. See "
    "docs/api.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "supportdesk.tickets.models.Status",
        "DeliveryStatusEnum": "supportdesk.webhooks.models.WebhookDelivery.Status",
        "RoleEnum": "supportdesk.accounts.models.Role",
        "WindowStatusEnum": "supportdesk.instances.models.WindowStatus",
        "IncidentStatusEnum": "supportdesk.instances.models.IncidentStatus",
        "IncidentKindEnum": "supportdesk.instances.models.Incident.Kind",
        "MessageKindEnum": "supportdesk.tickets.models.Message.Kind",
        "MonitorStatusEnum": "supportdesk.instances.models.MonitorStatus",
        "SlaClockStateEnum": "supportdesk.slas.models.ClockState",
    },
}
