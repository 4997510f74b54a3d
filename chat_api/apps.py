from django.apps import AppConfig


class ChatApiConfig(AppConfig):
    """The HTTP API (/api/v1/): tokens, bot users, incoming webhooks; thin views over the chat's services."""

    name = "chat_api"
    verbose_name = "Chat API"

    def ready(self) -> None:
        from django.core.signals import setting_changed

        setting_changed.connect(_api_settings_changed, dispatch_uid="chat_api.settings_changed")


def _api_settings_changed(setting: str, **kwargs) -> None:
    if setting in ("CHAT_API", "CHAT"):
        from .limits import current

        current.cache_clear()
