"""Archiving a room or removing a member in the admin drops the room from a connected client's socket."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse

from chat.consumers import ChatConsumer
from ignite_store import Room, get_store

from .test_moderation_ws import receive_until


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("action", "reason"), [("archive", "archived"), ("remove", "removed")])
async def test_admin_room_action_revokes_an_open_socket(live_settings, room, django_user_model, action, reason):
    # The ORM and the admin request in a thread of our own: see test_moderation_ws.
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=1) as django_thread:
        reader = await loop.run_in_executor(
            django_thread, lambda: django_user_model.objects.create_user("reader", password="x")
        )
        operator = await loop.run_in_executor(
            django_thread, lambda: django_user_model.objects.create_user("op", password="x", is_staff=True)
        )
        await get_store().acreate_room(Room(room, "Team", "private", "", "boss", 1), {"boss": "owner",
                                                                                      "reader": "member"})
        communicator = WebsocketCommunicator(ChatConsumer.as_asgi(), "/ws/chat/")
        communicator.scope["user"] = reader
        connected, _ = await communicator.connect()
        assert connected
        try:
            await receive_until(communicator, "hello")
            await communicator.send_json_to({"type": "join", "room": room})
            await receive_until(communicator, "joined")

            def act():
                client = Client()
                client.force_login(operator)
                return client.post(reverse("admin:ignite_store_rooms"),
                                   {"action": action, "room": room, "user": "reader"})

            response = await loop.run_in_executor(django_thread, act)
            assert response.status_code == 302

            removed = await receive_until(communicator, "removed")
            assert removed == {"type": "removed", "room": room, "reason": reason}
        finally:
            await communicator.disconnect()
