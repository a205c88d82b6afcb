"""Fan-out of committed changes to live boards: Litestar channels, in memory or over Redis pub/sub."""

from __future__ import annotations

import json

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.asyncio import Redis

from competition.config import Settings
from competition.notify import Change

CHANGES_CHANNEL = "podium:changes"
"""Every committed change, as a small JSON message; each worker's board renderer listens here."""


def channel_for(event_code: str) -> str:
    """The channel whose messages are the board fragments of one event."""
    return f"podium:board:{event_code}"


def backend_for(settings: Settings) -> ChannelsBackend:
    if settings.redis_url:
        return RedisChannelsPubSubBackend(redis=Redis.from_url(settings.redis_url), key_prefix=settings.redis_prefix)
    return MemoryChannelsBackend()


def channels_plugin(settings: Settings) -> ChannelsPlugin:
    """Bounded per-viewer backlog: a slow viewer loses the oldest messages, never grows memory."""
    return ChannelsPlugin(
        backend=backend_for(settings),
        arbitrary_channels_allowed=True,
        subscriber_max_backlog=settings.channels_backlog,
        subscriber_backlog_strategy="dropleft",
    )


def encode_change(change: Change) -> str:
    return json.dumps(
        {
            "event": change.event,
            "what": change.what,
            "skill": change.skill,
            "stage": change.stage,
            "competitor": change.competitor,
        }
    )


def decode_change(data: bytes | str) -> Change:
    raw = json.loads(data)
    return Change(
        event=raw["event"],
        what=raw["what"],
        skill=raw.get("skill"),
        stage=raw.get("stage"),
        competitor=raw.get("competitor"),
    )


class Hub:
    """Publishes each committed change to every worker (through the channels backend)."""

    def __init__(self, plugin: ChannelsPlugin) -> None:
        self.plugin = plugin

    def __call__(self, change: Change) -> None:
        self.plugin.publish(encode_change(change), CHANGES_CHANNEL)
