"""Settings of the tutorial peer: Channels, channels-redis's RedisChannelLayer and the Ignite store."""

import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "bench-tutorial-peer")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["daphne", "channels"]
ASGI_APPLICATION = "bench.tutorial_peer.asgi.application"
USE_TZ = True
DATABASES: dict = {}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")]},
    }
}

IGNITE_STORE = {
    "default": {
        "BACKEND": "ignite_store.backends.ignite.IgniteMessageStore",
        "NODES": [(host, int(port)) for host, port in
                  (item.rsplit(":", 1) for item in os.environ.get("IGNITE_NODES", "127.0.0.1:10800").split(","))],
        "OPTIONS": {"max_body_chars": 4000},
    }
}
