from django.apps import AppConfig


class ChatConfig(AppConfig):
    """The chat app: WebSocket protocol, fan-out and presence (see docs/protocol.md)."""

    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from django.core.signals import setting_changed

        from .revocation import connect_signals
        connect_signals()
        setting_changed.connect(_chat_settings_changed, dispatch_uid="chat.settings_changed")
        from . import daphne_patches

        daphne_patches.install()


def _chat_settings_changed(setting: str, **kwargs) -> None:
    if setting in ("CHAT", "IGNITE_STORE"):
        from .services import reset_services

        reset_services()
