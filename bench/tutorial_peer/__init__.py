"""The Channels tutorial's chat consumer with one store call per message: a benchmark peer.

What a developer following the Django Channels tutorial ships once the messages must be kept:
an AsyncWebsocketConsumer that awaits one `aappend` into the same Ignite store, then `group_send`s
the message through channels-redis's RedisChannelLayer (the tutorial's layer). No authentication,
no limits, no back-pressure, no catch-up. It speaks the subset of docs/protocol.md that
bench/loadgen.py uses (hello, join -> joined, send -> ack + message).
Run: DJANGO_SETTINGS_MODULE=bench.tutorial_peer.settings daphne bench.tutorial_peer.asgi:application
"""
