"""Logging of every process the command line starts."""

from __future__ import annotations

import logging
import logging.handlers
import queue
import sys


def configure_logging(verbose: bool = False) -> logging.handlers.QueueListener:
    """Log records go through a queue to a thread that writes them: the event loop never blocks on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, handler)
    enqueue = logging.handlers.QueueHandler(records)
    enqueue.setFormatter(logging.Formatter("%(message)s"))  # the writing thread's handler adds the rest
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[enqueue])
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    listener.start()
    return listener
