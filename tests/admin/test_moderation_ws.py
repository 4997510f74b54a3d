"""A deletion in the admin reaches a client connected to the room over a WebSocket."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse

from chat.consumers import ChatConsumer
from ignite_store import Room, get_store


async def receive_until(communicator: WebsocketCommunicator, frame_type: str) -> dict:
    """Skip other frames (presence, typing...) until one of `frame_type` arrives (10 s at most)."""
    async with asyncio.timeout(10):
        while True:
            frame = await communicator.receive_json_from(timeout=10)
            if frame["type"] == frame_type:
                return frame


@pytest.mark.django_db(transaction=True)
async def test_admin_deletion_reaches_a_connected_client(live_settings, room, django_user_model):
    # The ORM and the admin request run in a thread of our own, not asgiref's shared sync thread:
    # an in-memory SQLite connection left there is never closed and would trip later tests that
    # have no database access (channels calls close_old_connections in that thread).
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=1) as django_thread:
        reader = await loop.run_in_executor(
            django_thread, lambda: django_user_model.objects.create_user("reader", password="x")
        )
        moderator = await loop.run_in_executor(
            django_thread, lambda: django_user_model.objects.create_user("mod", password="x", is_staff=True)
        )
        await get_store().acreate_room(Room(room, room, "public", "", "reader", 1), {"reader": "member"})
        stored = (await get_store().aappend(room, "reader", "please delete me", "k1")).message

        communicator = WebsocketCommunicator(ChatConsumer.as_asgi(), "/ws/chat/")
        communicator.scope["user"] = reader
        connected, _ = await communicator.connect()
        assert connected
        try:
            await receive_until(communicator, "hello")
            await communicator.send_json_to({"type": "join", "room": room})
            joined = await receive_until(communicator, "joined")
            assert joined["last_seq"] == stored.seq

            def moderate():
                client = Client()
                client.force_login(moderator)
                return client.post(reverse("admin:ignite_store_messages"),
                                   {"selected": [f"{stored.seq}:{room}"], "confirm": "yes"})

            response = await loop.run_in_executor(django_thread, moderate)
            assert response.status_code == 302

            update = await receive_until(communicator, "update")
            assert update["change"] == {"kind": "moderate", "by": "mod"}
            assert update["message"]["seq"] == stored.seq and update["message"]["id"] == stored.id
            assert update["message"]["deleted"] is True and update["message"]["body"] == ""
            assert update["message"]["change_seq"] == 1
            assert (await get_store().aget(room, stored.seq)).deleted
        finally:
            await communicator.disconnect()
