"""WebSocket URL routes (mounted by chatsite.asgi inside AllowedHostsOriginValidator + AuthMiddlewareStack)."""

from django.urls import path

from .consumers import ChatConsumer

websocket_urlpatterns = [
    path("ws/chat/", ChatConsumer.as_asgi()),
]
