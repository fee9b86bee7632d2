"""The `hotline` command line (click): the service's processes, speech and classification tools, administration.

`commands` declares every command with its help; `service`, `speech` and `admin` do the work; `logs` configures
logging for every process the command line starts.
"""

from __future__ import annotations

from gateway.cli.commands import hotline, main

__all__ = ["hotline", "main"]
