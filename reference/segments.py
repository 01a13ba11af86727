"""The vocabulary of segmentation: which part of a conversation produced each character of the render.

Every character of the rendered text belongs to exactly one :class:`Segment`. A segment says who produced it
(``source``: a message field or the template's own text), which message it belongs to (``message``, ``None``
for template text outside any assistant turn) and what part it is (``part``). Policies decide supervision from
these labels alone, so the labels are the whole contract between segmentation and masking.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

# Parts written by a message field (the data).
SYSTEM = "system"
USER = "user"
TOOL = "tool"
REASONING = "reasoning"
CONTENT = "content"
TOOL_CALL = "tool_call"
# Parts written by the template around an assistant turn.
HEADER = "header"  # role header written before an assistant turn (in the prompt at inference)
GEN_PROMPT_SUFFIX = "gen_prompt_suffix"  # what the generation prompt adds after the header (Qwen3.5 "<think>\n")
END_OF_TURN = "end_of_turn"  # the token the model emits to stop
SEPARATOR = "separator"  # template text after the end-of-turn token (ChatML "\n")
#: Template text inside an assistant turn's body that no message field holds and that frames no reasoning or
#: tool call of its own: Qwen3.5's "\n</think>\n\n" on a turn without reasoning, gpt-oss's
#: "<|channel|>final<|message|>" before an answer with no analysis. The model writes it (it is after the
#: generation prompt), so profiles supervise it like the answer; explanations name it as template text.
GLUE = "glue"
OTHER = "other"  # template text outside assistant turns (other roles' headers, preambles, tool listings)

PARTS = (
    SYSTEM, USER, TOOL, HEADER, GEN_PROMPT_SUFFIX, REASONING, CONTENT, TOOL_CALL, GLUE, END_OF_TURN, SEPARATOR,
    OTHER,
)
#: Parts that exist only inside an assistant turn's generated body.
BODY_PARTS = frozenset({REASONING, CONTENT, TOOL_CALL, GLUE})
#: One-letter codes used in human-readable snapshots.
PART_CODES = {
    SYSTEM: "S", USER: "U", TOOL: "T", HEADER: "H", GEN_PROMPT_SUFFIX: "X", REASONING: "R", CONTENT: "C",
    TOOL_CALL: "F", GLUE: "G", END_OF_TURN: "E", SEPARATOR: "N", OTHER: ".",
}

Source = Literal["field", "template"]


class Segment(NamedTuple):
    """A half-open character range ``[start, end)`` of the render with one label.

    A named tuple rather than a frozen dataclass: a long trajectory has thousands of segments and a frozen
    dataclass's ``__init__`` (``object.__setattr__`` per field) was the largest single cost of segmentation.
    """

    start: int
    end: int
    part: str
    message: int | None
    source: Source


class AssistantTurn(NamedTuple):
    """Where one assistant message landed in the render (character offsets, all half-open).

    A named tuple for the same reason as :class:`Segment`: one per assistant message of a long trajectory.
    """

    message: int
    header: tuple[int, int]
    gen_prompt_suffix: tuple[int, int]
    body: tuple[int, int]
    end_of_turn: tuple[int, int]
    separator: tuple[int, int]
    weight: float
    #: ``True`` when the message is after the last user message (the template's "current round").
    last: bool = False

    @property
    def span(self) -> tuple[int, int]:
        return self.header[0], max(self.separator[1], self.end_of_turn[1], self.body[1])
