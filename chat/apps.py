from django.apps import AppConfig


class ChatConfig(AppConfig):
    """The chat app: WebSocket protocol, fan-out and presence (see docs/protocol.md).

    Loading it changes nothing in Daphne: the server side lives in chat.daphne_server, which only
    `python -m chatsite.daphne_main` imports.
    """

    name = "chat"
    verbose_name = "Chat"
