"""Logs of every hotline process: one record is one line whatever a caller sends (no forged lines), and a forked
work-horse's records are written too."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

from gateway.cli.logs import LINE_FORMAT, OneLineFormatter, escape_controls
from tests.processes import ROOT

HOSTILE = "+821012345678\n2026-12-02 10:00:00,000 INFO gateway.auth: admin signed in\r\x00\x1b[2J\u2028"


def _record(msg: str, *args: object, exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord("gateway.twilio_views", logging.WARNING, __file__, 1, msg, args, exc_info)  # type: ignore[arg-type]


def test_a_record_with_newlines_and_nul_in_an_argument_is_one_line_with_visible_escapes() -> None:
    line = OneLineFormatter(LINE_FORMAT).format(_record("incoming call from %s", "+8210\n1234\r5678\x00"))
    assert "\n" not in line and "\r" not in line and "\x00" not in line
    assert line.endswith(r"incoming call from +8210\n1234\r5678\x00")


def test_exception_text_stays_on_the_record_s_line() -> None:
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        exc_info = sys.exc_info()
    line = OneLineFormatter(LINE_FORMAT).format(_record("job failed for %s", "CA1", exc_info=exc_info))
    assert "\n" not in line
    assert r"job failed for CA1\nTraceback (most recent call last):\n" in line
    assert line.endswith(r"ValueError: bad\nvalue")


def test_every_control_character_is_escaped_and_nothing_else() -> None:
    assert escape_controls(HOSTILE).isprintable()
    assert escape_controls("\t\x1b\x7f\x85\u2028") == r"\t\x1b\x7f\x85\u2028"
    assert escape_controls("고객 홍길동 +8210-1234 \\n") == "고객 홍길동 +8210-1234 \\n"


def test_a_configured_process_and_its_forked_work_horse_write_one_line_per_record() -> None:
    # The real configuration of `hotline serve` / `hotline worker`: records through the writing thread, and a forked
    # child (rq's work-horse, which has no such thread) writing its own.
    program = textwrap.dedent(
        f"""
        import logging, os
        from gateway.cli.logs import configure_logging
        listener = configure_logging()
        log = logging.getLogger("gateway.twilio_views")
        log.warning("incoming call from %s", {HOSTILE!r})
        try:
            raise RuntimeError("two\\nlines")
        except RuntimeError:
            log.exception("webhook failed")
        child = os.fork()
        if child == 0:
            logging.getLogger("workers.jobs").warning("work-horse says %s", "a\\nb")
            os._exit(0)
        os.waitpid(child, 0)
        log.info("parent after the fork")
        listener.stop()
        """
    )
    done = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.split("\n")
    assert lines.pop() == "" and len(lines) == 4, lines  # the child's line may come before the parent's queued ones
    (call,) = [line for line in lines if "incoming call" in line]
    assert call.endswith(r"incoming call from +821012345678\n2026-12-02 10:00:00,000 INFO gateway.auth: admin "
                         r"signed in\r\x00\x1b[2J\u2028")  # fmt: skip
    (failure,) = [line for line in lines if " ERROR " in line]
    assert "webhook failed\\nTraceback" in failure and failure.endswith(r"RuntimeError: two\nlines")
    assert any(line.endswith(r"WARNING workers.jobs: work-horse says a\nb") for line in lines)
    assert lines[-1].endswith("INFO gateway.twilio_views: parent after the fork")
