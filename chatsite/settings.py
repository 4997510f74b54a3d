"""Django settings for chatsite. Every deploy-specific value comes from the environment."""

from __future__ import annotations

import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from chatsite.env import env, host_port_list

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env("CHAT_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env("DJANGO_DEBUG", False, cast=bool)


def _secret_key() -> str:
    key = env("DJANGO_SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("Environment variable DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off")
    # Local development only: a random key kept under var/ so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"], cast=list)
CSRF_TRUSTED_ORIGINS = env("DJANGO_CSRF_TRUSTED_ORIGINS", [], cast=list)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "ninja",  # its templates and static files: the API docs page's assets come from the package (no CDN)
    "ignite_store",
    "chat",
    "chat_api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "chatsite.middleware.AsyncWhiteNoiseMiddleware",  # WhiteNoise, kept off a thread for async views
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "chat.locale.UserLanguageMiddleware",  # a signed-in user's saved choice beats Accept-Language
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chatsite.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]
WSGI_APPLICATION = None
ASGI_APPLICATION = "chatsite.asgi.application"

# Django's own tables only (users, sessions). Chat history lives in Ignite.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env("DJANGO_SQLITE_PATH", str(VAR_DIR / "db.sqlite3")),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "chat:index"
LOGOUT_REDIRECT_URL = "login"

# The page, the forms, the errors and the project's admin pages in English and Korean (README "Languages").
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ko", "한국어")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env("DJANGO_SECURE_COOKIES", False, cast=bool)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# ---------------------------------------------------------------- Redis / Channels
REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL]},
    }
}

# Limits that both the chat (CHAT below) and the store (its OPTIONS) enforce, read once here.
# Lower case, so they are not settings of their own.
max_body_chars = env("CHAT_MAX_BODY_CHARS", 4000, cast=int)
history_page_max = env("CHAT_HISTORY_PAGE_MAX", 100, cast=int)
room_pattern = env("CHAT_ROOM_PATTERN", r"^[a-z0-9][a-z0-9_-]{0,63}$")

# ---------------------------------------------------------------- Ignite store
# Shaped like CACHES: one alias per store; OPTIONS map onto the backend's constructor.
IGNITE_STORE = {
    "default": {
        "BACKEND": "ignite_store.backends.ignite.IgniteMessageStore",
        "NODES": env("IGNITE_NODES", [("127.0.0.1", 10800)], cast=host_port_list),
        "OPTIONS": {
            "username": env("IGNITE_USERNAME"),
            "password": env("IGNITE_PASSWORD"),
            # TLS to the thin-client port; on by default when local nodes are given a keystore.
            "use_ssl": env("IGNITE_SSL", bool(env("IGNITE_SSL_KEYSTORE")), cast=bool),
            "ssl_ca_file": env("IGNITE_SSL_CA_FILE"),  # PEM; the server certificate is verified against it
            "ssl_verify": env("IGNITE_SSL_VERIFY", True, cast=bool),
            "ssl_cert_file": env("IGNITE_SSL_CERT_FILE"),
            "ssl_key_file": env("IGNITE_SSL_KEY_FILE"),
            "timeout": env("IGNITE_TIMEOUT", 5.0, cast=float),
            "backups": env("IGNITE_BACKUPS", 1, cast=int),
            "table_prefix": env("IGNITE_TABLE_PREFIX", "CHAT"),
            "retention_days": env("CHAT_RETENTION_DAYS", 0, cast=int),
            # What the store accepts (ignite_store.validation.StoreLimits).
            "max_body_chars": max_body_chars,
            "history_page_max": history_page_max,
            "room_pattern": room_pattern,
            # struct encoders/decoders over pyignite 0.6 internals (ignite_store/backends/pyignite_seam.py)
            "fast_codec": env("IGNITE_FAST_CODEC", True, cast=bool),
            # optimistic (serializable) or pessimistic transactions; see ignite_store/backends/ignite_session.py
            "transactions": env("IGNITE_TRANSACTIONS", "optimistic"),
            # a connection per node; requests and append transactions go to the rooms' primary node.
            # Off by default: not yet proven under a network partition (docs/performance.md, "Two nodes")
            "partition_aware": env("IGNITE_PARTITION_AWARE", False, cast=bool),
            # Under load a process starts a transaction at most every this many ms (ignite_batch.py).
            "commit_interval": env("IGNITE_COMMIT_INTERVAL_MS", 10.0, cast=float) / 1000,
            "search_index": env("IGNITE_SEARCH_INDEX", True, cast=bool),  # False: runs are not merged into the index
        },
    }
}

# Local Ignite server nodes started by `manage.py ignite_node` (development, tests, CI).
IGNITE_SERVER = {
    "HOME": env("IGNITE_SERVER_HOME", str(VAR_DIR / "ignite")),
    "LIB_DIR": env("IGNITE_LIB_DIR", str(BASE_DIR / "ignite_store" / "server" / "lib")),
    "CLIENT_PORT": env("IGNITE_CLIENT_PORT", 10800, cast=int),
    "DISCOVERY_PORT": env("IGNITE_DISCOVERY_PORT", 47500, cast=int),
    "COMMUNICATION_PORT": env("IGNITE_COMMUNICATION_PORT", 47100, cast=int),
    "MAX_NODES": env("IGNITE_MAX_NODES", 10, cast=int),
    "HEAP": env("IGNITE_HEAP", "1g"),
    "DATA_REGION_MB": env("IGNITE_DATA_REGION_MB", 512, cast=int),
    "WAL_MODE": env("IGNITE_WAL_MODE", "LOG_ONLY"),
    "REST_PORT": env("IGNITE_REST_PORT", 0, cast=int),  # 0 = REST connector off
    "AUTHENTICATION": env("IGNITE_AUTHENTICATION", False, cast=bool),
    # TLS of the nodes' thin-client port (on when SSL_KEYSTORE is set); SSL_CLUSTER also encrypts
    # discovery and communication between nodes. Without a truststore the keystore is trusted.
    "SSL_KEYSTORE": env("IGNITE_SSL_KEYSTORE"),
    "SSL_KEYSTORE_PASSWORD": env("IGNITE_SSL_KEYSTORE_PASSWORD"),
    "SSL_KEYSTORE_TYPE": env("IGNITE_SSL_KEYSTORE_TYPE", "PKCS12"),
    "SSL_TRUSTSTORE": env("IGNITE_SSL_TRUSTSTORE"),
    "SSL_TRUSTSTORE_PASSWORD": env("IGNITE_SSL_TRUSTSTORE_PASSWORD"),
    "SSL_TRUSTSTORE_TYPE": env("IGNITE_SSL_TRUSTSTORE_TYPE", "PKCS12"),
    "SSL_CLIENT_AUTH": env("IGNITE_SSL_CLIENT_AUTH", False, cast=bool),
    "SSL_CLUSTER": env("IGNITE_SSL_CLUSTER", False, cast=bool),
    "BASELINE_AUTO_ADJUST": env("IGNITE_BASELINE_AUTO_ADJUST", True, cast=bool),
    "BASELINE_AUTO_ADJUST_TIMEOUT_MS": env("IGNITE_BASELINE_AUTO_ADJUST_TIMEOUT_MS", 10000, cast=int),
    "START_TIMEOUT": env("IGNITE_START_TIMEOUT", 120.0, cast=float),
}

# ---------------------------------------------------------------- Chat limits
CHAT = {
    "MAX_BODY_CHARS": max_body_chars,
    "MAX_FRAME_BYTES": env("CHAT_MAX_FRAME_BYTES", 32768, cast=int),
    "ROOM_PATTERN": room_pattern,
    "MAX_ROOMS_PER_SOCKET": env("CHAT_MAX_ROOMS_PER_SOCKET", 50, cast=int),
    "MAX_CONNECTIONS_PER_USER": env("CHAT_MAX_CONNECTIONS_PER_USER", 20, cast=int),
    "SEND_RATE_PER_SECOND": env("CHAT_SEND_RATE_PER_SECOND", 5.0, cast=float),
    "SEND_BURST": env("CHAT_SEND_BURST", 20, cast=int),
    "HISTORY_PAGE_MAX": history_page_max,
    "CATCHUP_PAGE": env("CHAT_CATCHUP_PAGE", 200, cast=int),
    "PRESENCE_TTL_SECONDS": env("CHAT_PRESENCE_TTL_SECONDS", 30, cast=int),
    # Unread bytes (Daphne's buffer + the kernel's send queue) above which writes to a socket wait.
    "SOCKET_HIGH_WATER_BYTES": env("CHAT_SOCKET_HIGH_WATER_BYTES", 262_144, cast=int),
    # Incoming frames Daphne may queue for one socket before it stops reading from it.
    "MAX_QUEUED_FRAMES": env("CHAT_MAX_QUEUED_FRAMES", 64, cast=int),
    "SLOW_CONSUMER_CLOSE_SECONDS": env("CHAT_SLOW_CONSUMER_CLOSE_SECONDS", 30.0, cast=float),
    "TYPING_MIN_INTERVAL_SECONDS": env("CHAT_TYPING_MIN_INTERVAL_SECONDS", 2.0, cast=float),
    # Every frame of one socket (protects the store from history/join floods); see docs/protocol.md.
    "FRAME_RATE_PER_SECOND": env("CHAT_FRAME_RATE_PER_SECOND", 20.0, cast=float),
    "FRAME_BURST": env("CHAT_FRAME_BURST", 100, cast=int),
    # Frames queued for one socket before it counts as a slow consumer (closed with 4008).
    "OUTBOX_MAX_FRAMES": env("CHAT_OUTBOX_MAX_FRAMES", 1000, cast=int),
    # How long a process trusts a membership it read; revocations forget it at once (chat/access.py).
    "GRANT_TTL_SECONDS": env("CHAT_GRANT_TTL_SECONDS", 2.0, cast=float),
    "GRANT_TRUSTED_TTL_SECONDS": env("CHAT_GRANT_TRUSTED_TTL_SECONDS", 30.0, cast=float),
    # Channel-layer groups the rooms' events are spread over (1: every process hears every room's events).
    "FANOUT_SHARDS": env("CHAT_FANOUT_SHARDS", 1, cast=int),
    # Read markers are written to Ignite at most once per user and room per interval (chat/readstate.py).
    "READ_FLUSH_SECONDS": env("CHAT_READ_FLUSH_SECONDS", 1.0, cast=float),
    # Messages people can work with (issue 13, docs/protocol.md "Changing messages").
    "EDIT_WINDOW_SECONDS": env("CHAT_EDIT_WINDOW_SECONDS", 600, cast=int),  # 0: never, -1: always
    "ALLOW_DELETE_OWN": env("CHAT_ALLOW_DELETE_OWN", True, cast=bool),
    "MAX_REACTIONS_PER_MESSAGE": env("CHAT_MAX_REACTIONS_PER_MESSAGE", 20, cast=int),
    # @room: owners and admins always; anyone in a room of fewer members than this.
    "ROOM_MENTION_MAX_MEMBERS": env("CHAT_ROOM_MENTION_MAX_MEMBERS", 50, cast=int),
}

# ---------------------------------------------------------------- HTTP API (chat_api, docs/api.md)
CHAT_API = {
    # Requests per token and per user, counted in Redis across processes (token bucket).
    "RATE_PER_SECOND": env("CHAT_API_RATE_PER_SECOND", 10.0, cast=float),
    "BURST": env("CHAT_API_BURST", 50, cast=int),
    # Sends per user over the API (defaults: the socket's send rate).
    "SEND_RATE_PER_SECOND": env("CHAT_API_SEND_RATE_PER_SECOND", CHAT["SEND_RATE_PER_SECOND"], cast=float),
    "SEND_BURST": env("CHAT_API_SEND_BURST", CHAT["SEND_BURST"], cast=int),
    "WEBHOOK_RATE_PER_SECOND": env("CHAT_API_WEBHOOK_RATE_PER_SECOND", 1.0, cast=float),
    "WEBHOOK_BURST": env("CHAT_API_WEBHOOK_BURST", 10, cast=int),
    # A request body larger than this is refused (413) before it is parsed.
    "MAX_REQUEST_BYTES": env("CHAT_API_MAX_REQUEST_BYTES", CHAT["MAX_FRAME_BYTES"], cast=int),
}
DATA_UPLOAD_MAX_MEMORY_SIZE = max(CHAT_API["MAX_REQUEST_BYTES"], 2_621_440)  # Django's own bound (forms, admin)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"pyignite": {"level": "WARNING"}},
}
