"""Logging of every hotline process (gateway, worker, the embedded worker, forked work-horses): one record, one line.

Records go through a queue to a thread that writes them, so the event loop never blocks on stderr. The writing
handler's formatter escapes control characters of the whole line (message, arguments, exception text), so a caller's
number or a webhook field holding a newline or a NUL cannot forge a log line.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import queue
import re
import sys
from typing import TextIO

LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# C0 controls (CR, LF, NUL, ESC, ...), DEL, C1 controls (NEL among them), and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x00": "\\x00"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def escape_controls(text: str) -> str:
    """`text` with every control character written as a visible escape (`\\n`, `\\r`, `\\x00`, `\\x1b`, ...)."""
    return _CONTROL.sub(_escaped, text)


class OneLineFormatter(logging.Formatter):
    """A formatter whose every record is exactly one line: control characters are escaped after formatting."""

    def format(self, record: logging.LogRecord) -> str:
        return escape_controls(super().format(record))


def configure_logging(verbose: bool = False, *, stream: TextIO | None = None) -> logging.handlers.QueueListener:
    """Send the process's log records, one line each, to `stream` (stderr) through a writing thread; started."""
    writer = logging.StreamHandler(stream if stream is not None else sys.stderr)
    writer.setFormatter(OneLineFormatter(LINE_FORMAT))
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, writer)
    enqueue = logging.handlers.QueueHandler(records)
    enqueue.setFormatter(logging.Formatter("%(message)s"))  # message and traceback; the writer adds the rest
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[enqueue])
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # A forked child (rq's work-horse) has no writing thread: it writes its records itself, through the same formatter.
    os.register_at_fork(after_in_child=lambda: _write_directly(enqueue, writer))
    listener.start()
    return listener


def _write_directly(enqueue: logging.Handler, writer: logging.Handler) -> None:
    root = logging.getLogger()
    if enqueue in root.handlers:
        root.removeHandler(enqueue)
        root.addHandler(writer)
