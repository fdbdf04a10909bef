"""Placeholder: the chat WebSocket consumer arrives with the messaging issue."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class ChatConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        await self.close(code=4401)
