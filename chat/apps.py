from django.apps import AppConfig


class ChatConfig(AppConfig):
    """The chat app: WebSocket protocol, fan-out and presence (see docs/protocol.md).

    Loading it changes nothing in Daphne: the server side lives in chat.daphne_server, which only
    `python -m chatsite.daphne_main` imports.
    """

    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from django.core.signals import setting_changed

        from . import locale, revocation

        revocation.connect_signals()
        locale.connect_signals()
        setting_changed.connect(_chat_settings_changed, dispatch_uid="chat.settings_changed")


def _chat_settings_changed(setting: str, **kwargs) -> None:
    if setting in ("CHAT", "IGNITE_STORE"):
        from .limits import current
        from .services import reset_services

        current.cache_clear()
        reset_services()
