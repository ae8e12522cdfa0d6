"""Django settings of the django-oauth-toolkit test provider.

Everything that varies per test comes from the environment that server.py prepares: the state
directory (SQLite database, signing key), the issuer (known only once the port is bound) and the
token policy a test asks for. Nothing here is fit for production: the password hasher is chosen
for speed, because every login and every confidential-client request hashes a secret.
"""

import os
import secrets
from pathlib import Path

STATE_DIR = Path(os.environ["DOT_STATE_DIR"])
ISSUER = os.environ["DOT_ISSUER"]


def _int(name, default):
    return int(os.environ.get(name, default))


def _flag(name, default):
    return os.environ.get(name, default) not in ("", "0", "false", "no")


SECRET_KEY = secrets.token_urlsafe(32)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "dotop.urls"
WSGI_APPLICATION = "dotop.wsgi.application"
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oauth2_provider",
    "dotop",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": STATE_DIR / "db.sqlite3",
        "OPTIONS": {
            # The approving "browser" and tok's token polls write at the same moment: wait for
            # the lock instead of failing, and take it up front so that two writers never
            # deadlock upgrading a read lock.
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            # A throw-away database: durability only costs start-up time (fsync per table).
            "init_command": "PRAGMA synchronous=OFF; PRAGMA journal_mode=WAL;",
        },
    }
}
# Tables straight from the models (`migrate --run-syncdb`) instead of replaying ~60 migrations:
# 0.05 s instead of 1.7 s per start, and the same schema for an empty database.
MIGRATION_MODULES = {app: None for app in ("auth", "contenttypes", "sessions", "oauth2_provider")}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

# PBKDF2 with Django's default work factor costs ~0.5 s per hash on a small machine, paid on every
# login and every confidential-client authentication (DOT hashes client secrets with it too).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "/accounts/login/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django": {"handlers": ["stderr"], "level": "WARNING"},
        "oauth2_provider": {"handlers": ["stderr"], "level": "INFO"},
        "oauthlib": {"handlers": ["stderr"], "level": "INFO"},
    },
}

SCOPES = {
    "openid": "OpenID Connect",
    "offline_access": "Refresh tokens",
    "storage.read:/": "Read all storage",
    "storage.read:/data": "Read /data",
    "storage.modify:/data": "Modify /data",
    "compute.create": "Submit jobs",
}

OAUTH2_PROVIDER = {
    # The issuer has a path (/o), like INDIGO IAM deployments behind a prefix: fixing it here
    # makes every document and the ID token's `iss` agree instead of deriving it per request.
    "OIDC_ISS_ENDPOINT": ISSUER,
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": (STATE_DIR / "oidc.key").read_text(),
    "SCOPES": SCOPES,
    # A login without a scope gets an OpenID grant only, not every scope the server knows.
    "DEFAULT_SCOPES": ["openid"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": _int("AT_TTL", 3600),
    "ID_TOKEN_EXPIRE_SECONDS": _int("AT_TTL", 3600),
    "REFRESH_TOKEN_EXPIRE_SECONDS": _int("RT_TTL", 30 * 86400),
    "ROTATE_REFRESH_TOKEN": _flag("ROTATE", "1"),
    "REFRESH_TOKEN_REUSE_PROTECTION": _flag("REUSE_PROTECTION", "0"),
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": _int("RT_GRACE", 0),
    "DEVICE_FLOW_INTERVAL": _int("DEVICE_INTERVAL", 1),
    "OAUTH_DEVICE_VERIFICATION_URI": f"{ISSUER}/device/",
    "OAUTH_DEVICE_VERIFICATION_URI_COMPLETE": f"{ISSUER}/device/?user_code={{user_code}}",
}
