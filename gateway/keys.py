"""Typed keys of what the root application holds (made in its factory or its cleanup contexts) and of what a
request carries once a front door has authenticated it.

The API and the console are sub-applications with their own storage: their handlers read these through
`request.config_dict[KEY]`, which looks up the root application too."""

from __future__ import annotations

import asyncio
import ipaddress
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web
from redis import Redis
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.calls.incoming import IncomingCallWriter
from crm_store.customers.rules import Rules
from crm_store.customers.screen_pop import PictureReader
from crm_store.dispatch.config import DispatchConfig
from crm_store.org.tables import Staff
from gateway.metrics import Metrics
from gateway.token_cache import TokenCache
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
TOKEN_CACHE = web.AppKey("token_cache", TokenCache)
RULES = web.AppKey("customer_rules", Rules)
PICTURES = web.AppKey("customer_pictures", PictureReader)
DISPATCH = web.AppKey("dispatch_config", DispatchConfig)

# Who is asking (set by the API's and the console's authentication), and the browser session behind it.
STAFF = web.RequestKey("staff", Staff)
SESSION_ID = web.RequestKey("session_id", int)
CSRF_TOKEN = web.RequestKey("csrf_token", str)
