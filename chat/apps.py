from django.apps import AppConfig


class ChatConfig(AppConfig):
    """The chat app: WebSocket protocol, fan-out and presence (see docs/protocol.md)."""

    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from . import daphne_patches

        daphne_patches.install()
