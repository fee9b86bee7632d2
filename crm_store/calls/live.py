"""The live transcript of a call: its final utterances as the desk saw them, and who is taking the call."""

from __future__ import annotations

from sqlalchemy import Select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from crm_store.calls.tables import LiveTranscriptSegment
from crm_store.desk.agent_tables import AgentState, DeskAgent

# The agent holds the call while talking and while wrapping it up.
HOLDING = (AgentState.ON_CALL.value, AgentState.WRAP_UP.value)


def agent_of_call_query(call_sid: str) -> Select[tuple[int]]:
    """The staff id of the agent holding the call (one probe of ix_desk_agent_call)."""
    return select(DeskAgent.staff_id).where(DeskAgent.call_sid == call_sid, col(DeskAgent.state).in_(HOLDING))  # type: ignore[return-value]


async def agent_of_call(session: AsyncSession, *, call_sid: str) -> int | None:
    """The staff id of the agent holding the call, or None (not connected yet, or ended)."""
    return (await session.exec(agent_of_call_query(call_sid).limit(1))).first()  # type: ignore[call-overload, no-any-return]


async def add_live_segment(
    session: AsyncSession, *, call_sid: str, speaker: str, start: float, end: float, text: str
) -> None:
    """Append one final utterance (already redacted) to the call's live transcript."""
    session.add(LiveTranscriptSegment(call_sid=call_sid, speaker=speaker, start=start, end=end, text=text))


def live_transcript_query(call_sid: str) -> SelectOfScalar[LiveTranscriptSegment]:
    """The call's live transcript in time order (ix_live_transcript_segment_call)."""
    return (
        select(LiveTranscriptSegment)
        .where(LiveTranscriptSegment.call_sid == call_sid)
        .order_by(col(LiveTranscriptSegment.start), col(LiveTranscriptSegment.id))
    )


async def live_transcript(session: AsyncSession, *, call_sid: str) -> list[LiveTranscriptSegment]:
    """The call's live transcript in time order."""
    return list((await session.exec(live_transcript_query(call_sid))).all())
