from django.apps import AppConfig


class ChatConfig(AppConfig):
    """The chat app: WebSocket protocol, fan-out and presence (see docs/protocol.md)."""

    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        close_failed_websockets_with_a_code()


def close_failed_websockets_with_a_code() -> None:
    """Make Daphne send the RFC 6455 close code (1009 too big, 1007 bad UTF-8) instead of dropping TCP.

    Autobahn, under Daphne, fails a connection by dropping it (`failByDrop=True`), so clients
    see 1006 and cannot tell an oversized frame from a network fault; Daphne has no option for
    it. Daphne imports the ASGI application (and so runs this) before it builds its factory.
    """
    try:
        from daphne.ws_protocol import WebSocketFactory
    except ImportError:  # not running under Daphne
        return
    original = WebSocketFactory.setProtocolOptions
    if getattr(original, "chat_close_codes", False):
        return

    def set_protocol_options(self, *args, **kwargs):
        kwargs.setdefault("failByDrop", False)
        return original(self, *args, **kwargs)

    set_protocol_options.chat_close_codes = True
    WebSocketFactory.setProtocolOptions = set_protocol_options
