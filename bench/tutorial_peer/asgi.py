import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.tutorial_peer.settings")
django_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from .consumer import ChatConsumer  # noqa: E402

application = ProtocolTypeRouter({
    "http": django_app,
    "websocket": URLRouter([path("ws/chat/", ChatConsumer.as_asgi())]),
})
