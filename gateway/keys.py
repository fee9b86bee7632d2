"""Typed keys of what the application holds (made and closed in cleanup contexts)."""

from __future__ import annotations

import asyncio
import ipaddress
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web
from redis import Redis
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.incoming import IncomingCallWriter
from gateway.metrics import Metrics
from telephony.signature import TwilioSignature
from workers.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
INCOMING = web.AppKey("incoming", IncomingCallWriter)
DB_ENGINE = web.AppKey("db_engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
SYNC_ENGINE = web.AppKey("sync_engine", Engine)
REDIS = web.AppKey("redis", Redis)
SIGNATURE = web.AppKey("signature", TwilioSignature)
METRICS = web.AppKey("metrics", Metrics)
EXECUTOR = web.AppKey("executor", ThreadPoolExecutor)
RELAY_WAKE = web.AppKey("relay_wake", asyncio.Event)
TRUSTED_PROXIES = web.AppKey("trusted_proxies", tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...])
