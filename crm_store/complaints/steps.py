"""The seven steps of a complaint as a state machine: which step may follow which, the form each takes, and which
roles may take it. Pure rules, no database: the store (`crm_store.complaints.store`) applies them.

receipt -> verification -> registration -> transfer -> coordination -> handling -> feedback -> closed.
A transfer may be repeated (to another department) and so may coordination (each department comments); a complaint
whose customer disputes the feedback is reopened (from feedback or closed) and goes back to transfer, coordination
or handling. The acknowledgement and the one extension are taken in any open state and change no state.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from functools import reduce
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, RootModel, create_model

from crm_store.complaints.wire import (
    AcknowledgementForm,
    CloseForm,
    CoordinationForm,
    ExtensionForm,
    FeedbackForm,
    HandlingForm,
    RegistrationForm,
    ReopenForm,
    State,
    TransferForm,
    VerificationForm,
)
from crm_store.org.tables import Role
from crm_store.types import Input
from crm_store.validation import Conflict, NotAllowed

OPEN_STATES = frozenset(State) - {State.CLOSED}
# Who takes in complaints at any door: the hotline's agents, the centers' operators and managers, account managers.
RECEIVERS = frozenset({Role.AGENT, Role.OPERATOR, Role.CENTER_MANAGER, Role.ACCOUNT_MANAGER, Role.EXECUTIVE})


@dataclass(frozen=True)
class Step:
    """One action on a complaint: the states it may be taken from, the state it leads to (None: unchanged), its
    form, and the roles that may take it."""

    action: str
    sources: frozenset[State]
    target: State | None
    form: type[BaseModel]
    roles: frozenset[Role]


STEPS: Mapping[str, Step] = {
    step.action: step
    for step in (
        Step("acknowledgement", OPEN_STATES, None, AcknowledgementForm, RECEIVERS),
        Step(
            "verification",
            frozenset({State.RECEIPT}),
            State.VERIFICATION,
            VerificationForm,
            frozenset({Role.OPERATOR, Role.CENTER_MANAGER}),
        ),
        Step(
            "registration",
            frozenset({State.VERIFICATION}),
            State.REGISTRATION,
            RegistrationForm,
            frozenset({Role.OPERATOR, Role.CENTER_MANAGER}),
        ),
        Step(
            "transfer",
            frozenset({State.REGISTRATION, State.TRANSFER, State.COORDINATION, State.REOPENED}),
            State.TRANSFER,
            TransferForm,
            frozenset({Role.OPERATOR, Role.CENTER_MANAGER, Role.EXECUTIVE}),
        ),
        Step(
            "coordination",
            frozenset({State.TRANSFER, State.COORDINATION, State.REOPENED}),
            State.COORDINATION,
            CoordinationForm,
            frozenset({Role.OPERATOR, Role.CENTER_MANAGER, Role.EXECUTIVE, Role.ACCOUNT_MANAGER}),
        ),
        Step(
            "handling",
            frozenset({State.COORDINATION, State.REOPENED}),
            State.HANDLING,
            HandlingForm,
            frozenset({Role.CENTER_MANAGER, Role.EXECUTIVE}),
        ),
        Step(
            "feedback",
            frozenset({State.HANDLING}),
            State.FEEDBACK,
            FeedbackForm,
            frozenset({Role.AGENT, Role.OPERATOR, Role.CENTER_MANAGER}),
        ),
        Step(
            "close",
            frozenset({State.FEEDBACK}),
            State.CLOSED,
            CloseForm,
            frozenset({Role.OPERATOR, Role.CENTER_MANAGER, Role.EXECUTIVE}),
        ),
        Step(
            "reopen",
            frozenset({State.FEEDBACK, State.CLOSED}),
            State.REOPENED,
            ReopenForm,
            frozenset({Role.AGENT, Role.OPERATOR, Role.CENTER_MANAGER, Role.EXECUTIVE}),
        ),
        Step("extension", OPEN_STATES, None, ExtensionForm, frozenset({Role.CENTER_MANAGER, Role.EXECUTIVE})),
    )
}

# Whoever may take any step at all.
STEP_TAKERS = frozenset(role for step in STEPS.values() for role in step.roles)

# The step that comes next in each state (its limit is the complaint's `step_due_at`); None: only closing is left.
NEXT_STEP: Mapping[State, str | None] = {
    State.RECEIPT: "verification",
    State.VERIFICATION: "registration",
    State.REGISTRATION: "transfer",
    State.TRANSFER: "coordination",
    State.COORDINATION: "handling",
    State.HANDLING: "feedback",
    State.FEEDBACK: None,
    State.REOPENED: "handling",
    State.CLOSED: None,
}


class IllegalTransition(Conflict):
    """The step cannot be taken from the complaint's present state."""


class UnknownStep(NotAllowed):
    """No such step."""


def step_named(action: str) -> Step:
    """The step of this name, or UnknownStep."""
    step = STEPS.get(action)
    if step is None:
        raise UnknownStep(f"no complaint step {action!r}; the steps are {', '.join(STEPS)}")
    return step


def check_transition(state: State | str, action: str) -> State:
    """The state after taking `action` in `state`, or IllegalTransition naming what may follow instead."""
    step = step_named(action)
    current = State(state)
    if current not in step.sources:
        allowed = sorted(name for name, s in STEPS.items() if current in s.sources)
        raise IllegalTransition(
            {"state": f"{action} cannot follow {current.value}; from {current.value}: {', '.join(allowed) or 'none'}"},
            f"illegal transition: {action} in state {current.value}",
        )
    return step.target or current


def check_role(role: Role | str, action: str) -> None:
    """NotAllowed unless this role may take the step."""
    step = step_named(action)
    if Role(role) not in step.roles:
        takers = ", ".join(sorted(r.value for r in step.roles))
        raise NotAllowed(f"the role {Role(role).value} may not take the {action} step (taken by: {takers})")


def steps_open_to(state: State | str, role: Role | str) -> list[Step]:
    """The steps this role may take on a complaint in this state, in the order of the machine."""
    current, taker = State(state), Role(role)
    return [step for step in STEPS.values() if current in step.sources and taker in step.roles]


def parse_form(action: str, fields: Mapping[str, object] | BaseModel) -> BaseModel:
    """The step's form from its fields (pydantic's ValidationError names any missing or wrong field)."""
    step = step_named(action)
    if isinstance(fields, step.form):
        return fields
    if isinstance(fields, BaseModel):
        fields = fields.model_dump()
    return step.form.model_validate(fields)


# -- the body of `POST /api/v1/complaints/{id}/steps`: the step's name and its form, one schema per step ------------


def _step_body(step: Step) -> type[Input]:
    name = "".join(part.capitalize() for part in step.action.split("_")) + "Step"
    return create_model(  # type: ignore[call-overload, no-any-return]
        name,
        __base__=Input,
        __doc__=f"The {step.action} step with its form (taken by: {', '.join(sorted(r.value for r in step.roles))}).",
        action=(Literal[step.action], Field(description="the step")),  # type: ignore[arg-type]
        form=(step.form, Field(description="its form")),
    )


STEP_BODIES = tuple(_step_body(step) for step in STEPS.values())
_ANY_STEP: Any = reduce(operator.or_, STEP_BODIES)


class StepTaken(RootModel[Any]):
    """A step to take on a complaint: `action` names it, `form` holds its form's fields."""

    root: Annotated[_ANY_STEP, Field(discriminator="action")]

    @property
    def action(self) -> str:
        """The step's name."""
        return str(self.root.action)

    @property
    def form(self) -> BaseModel:
        """The step's form."""
        return self.root.form  # type: ignore[no-any-return]
