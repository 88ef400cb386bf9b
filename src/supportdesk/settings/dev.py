"""Development: `make run`. SQLite in ./var, mail written to files in var/sent-mail."""

from supportdesk.settings.base import *  # noqa: F403
from supportdesk.settings.base import DATA_DIR, STATIC_ROOT
from supportdesk.settings.env import env_bool, env_str

DEBUG = env_bool("DEBUG", True)
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

DATA_DIR.mkdir(parents=True, exist_ok=True)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is missing
# Local webhook receivers are common in development.
SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE_NETWORKS = env_bool(
    "SUPPORTDESK_WEBHOOK_ALLOW_PRIVATE_NETWORKS", True
)
