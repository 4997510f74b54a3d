"""The tutorial's AsyncWebsocketConsumer, joining rooms by frame instead of by URL."""

import json

from channels.generic.websocket import AsyncWebsocketConsumer

from ignite_store import get_store


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.rooms = set()
        await self.accept()
        await self.send(text_data=json.dumps({"type": "hello", "v": 1, "user": "peer"}))

    async def disconnect(self, close_code):
        for room in self.rooms:
            await self.channel_layer.group_discard(f"chat_{room}", self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        frame = json.loads(text_data)
        room = frame.get("room")
        if frame.get("type") == "join":
            await self.channel_layer.group_add(f"chat_{room}", self.channel_name)
            self.rooms.add(room)
            await self.send(text_data=json.dumps({"type": "joined", "room": room, "last_seq": 0}))
        elif frame.get("type") == "send" and room in self.rooms:
            stored = await get_store().aappend(room, "peer", frame["body"], frame["client_id"])
            message = stored.message.to_dict()
            await self.send(text_data=json.dumps({"type": "ack", "room": room, "client_id": message["client_id"],
                                                  "seq": message["seq"]}))
            await self.channel_layer.group_send(f"chat_{room}", {"type": "chat.message", "message": message})

    async def chat_message(self, event):
        await self.send(text_data=json.dumps({"type": "message", "message": event["message"]}))
