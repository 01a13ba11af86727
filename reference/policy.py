"""Policies: small declarative predicates that decide which segments are supervised.

Every disagreement between SFT frameworks that is not a token-stream difference is one of these knobs, so a
policy names each of them explicitly instead of hiding them in string searches. Profiles are named policies;
``canonical`` is the project's recommendation (see DESIGN.md and PROFILES in the README).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

from . import segments as S
from .errors import LossmaskError

Straddle = Literal["any", "all"]
Turns = Literal["all", "last"]


@dataclass(frozen=True)
class Policy:
    """Which characters of assistant turns are supervised, and how characters map to tokens."""

    name: str
    description: str
    supervise_header: bool = False
    supervise_gen_prompt_suffix: bool = False
    supervise_reasoning: bool = True
    supervise_content: bool = True
    supervise_tool_calls: bool = True
    #: Template text inside the body that no field holds (segment ``glue``); the model writes it.
    supervise_glue: bool = True
    supervise_end_of_turn: bool = True
    supervise_separator: bool = False
    #: ``all``: every assistant turn; ``last``: only the final assistant message of the conversation.
    turns: Turns = "all"
    #: Honour per-message weights (``step_loss_mask``, ``train``...): weight 0 turns are not supervised.
    respect_weights: bool = True
    #: A token covering supervised and unsupervised characters is supervised if ``any`` (or ``all``) of its
    #: characters are. Such tokens are always reported as straddles.
    straddle: Straddle = "any"

    def parts(self) -> frozenset[str]:
        return self._parts

    @functools.cached_property
    def _parts(self) -> frozenset[str]:  # per policy, not per mask
        chosen = {
            S.HEADER: self.supervise_header,
            S.GEN_PROMPT_SUFFIX: self.supervise_gen_prompt_suffix,
            S.REASONING: self.supervise_reasoning,
            S.CONTENT: self.supervise_content,
            S.TOOL_CALL: self.supervise_tool_calls,
            S.GLUE: self.supervise_glue,
            S.END_OF_TURN: self.supervise_end_of_turn,
            S.SEPARATOR: self.supervise_separator,
        }
        return frozenset(part for part, on in chosen.items() if on)

    def knobs(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in {"name", "description"}}

    def differing_knobs(self, other: Policy) -> dict[str, tuple[Any, Any]]:
        mine, theirs = self.knobs(), other.knobs()
        return {k: (mine[k], theirs[k]) for k in mine if mine[k] != theirs[k]}


CANONICAL = Policy(
    name="canonical",
    description="Header and generation-prompt suffix not supervised; reasoning, content, tool calls, glue and the "
    "end-of-turn token supervised; the separator after it not; straddling tokens supervised and reported.",
)

PROFILES: dict[str, Policy] = {
    p.name: p
    for p in (
        CANONICAL,
        replace(CANONICAL, name="slime-qwen3_5", supervise_separator=True,
                description="slime's merged qwen3_5 mask: canonical plus the separator after end-of-turn "
                "(the '\\n' after <|im_end|>)."),
        replace(CANONICAL, name="no-eot", supervise_end_of_turn=False,
                description="slime's open redesign (#1994): the end-of-turn token is not supervised."),
        replace(CANONICAL, name="last-turn-only", turns="last",
                description="Only the final assistant message is supervised (LLaMA-Factory mask_history, "
                "ms-swift last_round, torchtune train_on_last...)."),
        replace(CANONICAL, name="strict-straddle", straddle="all",
                description="Canonical, but a token straddling a supervised boundary is not supervised."),
        replace(CANONICAL, name="full-turn", supervise_header=True, supervise_gen_prompt_suffix=True,
                supervise_separator=True,
                description="Everything the template writes for an assistant turn, header to separator "
                "(per-message generators that train the role header)."),
    )
}


def get_profile(name: str) -> Policy:
    try:
        return PROFILES[name]
    except KeyError:
        raise LossmaskError(f"unknown profile {name!r}; profiles: {', '.join(PROFILES)}") from None


def supervised_intervals(segments: list[S.Segment], turns: list[S.AssistantTurn], policy: Policy,
                         n_messages: int) -> list[tuple[int, int]]:
    """Merged, sorted character intervals the policy supervises."""
    parts = policy.parts()
    active = {t.message for t in turns if (t.weight != 0 or not policy.respect_weights)}
    if policy.turns == "last":
        assistants = [t.message for t in turns]
        active &= {max(assistants)} if assistants else set()
    extent = {t.message: t.span for t in turns}
    out: list[tuple[int, int]] = []
    for start, end, part, message, _ in segments:  # unpacked: one pass over every segment
        if message in active and part in parts:
            lo, hi = extent[message]
            if lo <= start and end <= hi:
                if out and out[-1][1] == start:
                    out[-1] = (out[-1][0], end)
                else:
                    out.append((start, end))
    return out


__all__ = ["CANONICAL", "PROFILES", "Policy", "get_profile", "supervised_intervals", "fields"]
