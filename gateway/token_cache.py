"""The bearer-token cache of the screen-pop's hot path: staff by token hash, each entry good for a few seconds.

A token checked against the database is trusted for TOKEN_TTL seconds in this process: revoking a token, or
deactivating its staff member, elsewhere (another gateway process, the CLI, the database) takes effect within
TOKEN_TTL seconds; a revocation through this process's API takes effect at once. Unknown tokens are never
cached. The application holds one (`gateway.keys.TOKEN_CACHE`), so tests can run several apps in one process.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from crm_store.org.tables import Staff

TOKEN_TTL = 5.0
TOKEN_CACHE_SIZE = 10_000


class TokenCache:
    """Staff by bearer-token hash, each entry good for `ttl` seconds."""

    def __init__(self, ttl: float = TOKEN_TTL, *, size: int = TOKEN_CACHE_SIZE) -> None:
        self.ttl = ttl
        self.size = size
        self.clock: Callable[[], float] = time.monotonic
        self._entries: dict[str, tuple[float, Staff]] = {}

    def get(self, key: str) -> Staff | None:
        """The staff member while the entry is fresh, else None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self.clock():
            del self._entries[key]
            return None
        return entry[1]

    def drop(self, key: str) -> None:
        """Forget one token at once (revoked through this process's API)."""
        self._entries.pop(key, None)

    def drop_staff(self, staff_id: int | None) -> None:
        """Forget every token of one staff member at once (deactivated through this process's API)."""
        for key in [k for k, (_until, staff) in self._entries.items() if staff.id == staff_id]:
            del self._entries[key]

    def put(self, key: str, staff: Staff) -> None:
        """Trust this token for `ttl` seconds."""
        if len(self._entries) >= self.size:
            self._entries.clear()  # crude but bounded; a full cache only means a few extra queries
        self._entries[key] = (self.clock() + self.ttl, staff)
