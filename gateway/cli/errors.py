"""How a `hotline` command fails: its message on stderr and exit code 1 (usage errors are click's, exit code 2)."""

from __future__ import annotations

from typing import IO, Any

import click


class CommandFailed(click.ClickException):
    """The command could not do its work (exit code 1); the message, which names the command, is printed as it is."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.format_message(), file=file, err=file is None)
