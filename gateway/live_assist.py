"""The agent's assistant during a live call: after each final utterance of the customer, the classifier reads what
the customer has said so far and the desk gets a `suggestion` frame (only when it says something new):

    {"type": "suggestion", "call_sid", "call_type", "call_type_label", "topic", "topic_label", "urgency",
     "reasons": [...], "reason_lines": [the reasons as Korean sentences], "entities": [{"kind", "text", "value"}],
     "fills": {form: {field: {"value", "text"}}},
     "alerts": [{"kind", "reason", "suggest"}], "at": seconds from the stream's start}

`fills` are one-click values for the desk's forms: the accident report (`where`, `when`, `vehicle`) and the change
notification (`address`, `phone`), each the latest heard, for the form of the call's type. Everything is read
from the redacted text, so a phone number is offered masked (the agent confirms it with the customer). `alerts`
name an urgent turn of the call once each (an injured person, a car on the road, fire, water, a child locked in):
they suggest a dispatch.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from aiohttp import web

from gateway.console.reasons import korean_reasons
from gateway.desk import CLOCK
from gateway.keys import EXECUTOR
from workers.understanding import understand
from workers.understanding.understand import Understanding

if TYPE_CHECKING:
    from gateway.live_call import LiveCall

# The urgency cues of `workers.understanding.rules` that call for someone on the spot.
DISPATCH_CUES = ("injury", "fire", "water", "child_locked", "vehicle on the road", "injury now")
FILLS: dict[str, dict[str, tuple[str, ...]]] = {
    "accident_report": {"where": ("place",), "when": ("datetime", "date", "time"), "vehicle": ("vehicle_plate",)},
    "change_notification": {"address": ("place",), "phone": ("phone",)},
}
# The call types whose form each fill serves (None: not classified yet, the accident report is the likely form).
FORM_TYPES: dict[str, tuple[str | None, ...]] = {
    "accident_report": ("report", "dispatch", None),
    "change_notification": ("notification",),
}


class LiveAssistant:
    """Suggestions for the calls streamed through this gateway process."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self._said: dict[str, tuple[Any, ...]] = {}
        self._alerted: dict[str, set[str]] = {}

    async def advise(self, call: LiveCall, text: str, start: float, end: float) -> list[dict[str, Any]]:
        """The frames the customer's latest final utterance calls for (none when nothing changed)."""
        transcript = " ".join(call.customer_text)
        now = self.app[CLOCK]() if CLOCK in self.app else None
        loop = asyncio.get_running_loop()
        understanding = await loop.run_in_executor(self.app[EXECUTOR], lambda: understand(transcript, now=now))
        frame = suggestion_frame(call.call_sid, understanding, at=end)
        alerted = self._alerted.setdefault(call.call_sid, set())
        frame["alerts"] = [alert for alert in frame["alerts"] if alert["kind"] not in alerted]
        alerted.update(alert["kind"] for alert in frame["alerts"])
        said = (frame["call_type"], frame["topic"], frame["urgency"], repr(frame["fills"]), bool(frame["alerts"]))
        if self._said.get(call.call_sid) == said and not frame["alerts"]:
            return []
        self._said[call.call_sid] = said
        return [frame]

    def forget(self, call_sid: str) -> None:
        """The call's stream ended."""
        self._said.pop(call_sid, None)
        self._alerted.pop(call_sid, None)


def suggestion_frame(call_sid: str, understanding: Understanding, *, at: float) -> dict[str, Any]:
    """The desk's `suggestion` frame of what the classifier made of the customer's words so far."""
    entities = [{"kind": e.kind, "text": e.text, "value": e.value} for e in understanding.entities]
    fills: dict[str, dict[str, dict[str, str]]] = {}
    types = (understanding.type, *understanding.secondary_types)
    for form, fields in FILLS.items():
        if not any(t in FORM_TYPES[form] for t in types):
            continue
        for name, kinds in fields.items():
            heard = [e for e in entities if e["kind"] in kinds]
            if heard:
                fills.setdefault(form, {})[name] = {"value": heard[-1]["value"], "text": heard[-1]["text"]}
    for change in understanding.proposed_changes:
        if "notification" in types and change.get("field") == "address" and change.get("value"):
            fills.setdefault("change_notification", {})["address"] = {
                "value": str(change["value"]),
                "text": str(change["value"]),
            }
    return {
        "type": "suggestion",
        "call_sid": call_sid,
        "call_type": understanding.type,
        "call_type_label": understanding.type_label,
        "topic": understanding.topic,
        "topic_label": understanding.topic_label,
        "urgency": understanding.urgency,
        "reasons": list(understanding.reasons),
        "reason_lines": korean_reasons(list(understanding.reasons)),
        "entities": entities,
        "fills": fills,
        "alerts": urgent_alerts(understanding),
        "at": at,
    }


def urgent_alerts(understanding: Understanding) -> list[dict[str, str]]:
    """An alert per urgency cue that calls for a dispatch."""
    alerts = []
    for reason in understanding.reasons:
        if not reason.startswith("urgency high: "):
            continue
        cue = reason.removeprefix("urgency high: ").split(" (", 1)[0]
        if cue in DISPATCH_CUES:
            alerts.append({"kind": cue.replace(" ", "_"), "reason": reason, "suggest": "dispatch"})
    return alerts
