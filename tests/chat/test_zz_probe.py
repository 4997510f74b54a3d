import pytest, orjson
from ignite_store import get_store
from tests.chat.helpers import open_socket, join, recv, send, unique
pytestmark = pytest.mark.usefixtures("live_settings")

async def test_probe():
    room = unique("p")
    store = get_store()
    for i in range(250):
        await store.aappend(room, "x", f"b{i}", f"c{i}")
    a, _ = await open_socket(unique("u"))
    await send(a, type="join", room=room, after=0)
    for _ in range(6):
        try:
            f = orjson.loads(await a.receive_from(timeout=10))
        except Exception as e:
            print("EXC", repr(e)); break
        print(f["type"], len(f.get("messages", [])), f.get("has_more"), f.get("code"), f.get("detail"))
