"""The one place where a generator's behaviour becomes an :class:`~.outcome.Answer`.

In-process callers (the Python worker, ``lossmask audit --generator``, ``lossmask smoke``) use :func:`call`;
the runner turns protocol responses from any worker (Python or ``jsonl:``) into answers with
:func:`from_response`, and a process that hung or died with :func:`from_failure`. The worker writes answers
back with :func:`to_response`. Nothing else catches a generator's exceptions.
"""

from __future__ import annotations

import os
import traceback
from typing import Any

from ..generators import InvalidOutput, LengthMismatch, Unsupported, normalise
from .outcome import Answer, Answered


def describe(exc: BaseException) -> str:
    """``Type: message at file.py:line`` (the innermost frame: where the generator raised)."""
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {os.path.basename(tb[-1].filename)}:{tb[-1].lineno}" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


def call(generator: Any, tokenizer: Any, messages: list[dict], tools: list[dict] | None,
         template_kwargs: dict[str, Any] | None) -> Answer:
    """Run a resolved :class:`~lossmask.generators.Generator` on one case; never raises for the generator."""
    try:
        ids, mask = generator(tokenizer, messages, tools, template_kwargs or {})
    except (Unsupported, NotImplementedError) as exc:
        return Answer(Answered.DECLINED, str(exc) or "declined by the generator")
    except LengthMismatch as exc:
        return Answer(Answered.WRONG_LENGTH, str(exc))
    except InvalidOutput as exc:
        return Answer(Answered.INVALID, str(exc))
    except Exception as exc:  # noqa: BLE001 - any generator failure is that case's answer
        return Answer(Answered.RAISED, describe(exc))
    return Answer.returned(ids, mask)


def to_response(answer: Answer, request_id: str) -> dict[str, Any]:
    """The protocol response (fixtures/schema/protocol.schema.json) carrying ``answer``."""
    out: dict[str, Any] = {"id": request_id}
    if answer.kind is Answered.RETURNED:
        out.update(input_ids=answer.input_ids, loss_mask=answer.mask)
    elif answer.kind is Answered.DECLINED:
        out["unsupported"] = answer.message
    elif answer.kind is Answered.RAISED:
        out["error"] = answer.message
    else:
        out["invalid"] = answer.message
        out["kind"] = "length_mismatch" if answer.kind is Answered.WRONG_LENGTH else "invalid_output"
    return out


def from_response(response: dict[str, Any], encoding: str) -> Answer:
    """A protocol response as an answer; the mask is normalised from the generator's declared ``encoding``."""
    if "unsupported" in response:
        return Answer(Answered.DECLINED, str(response["unsupported"]) or "declined by the generator")
    if "error" in response:
        return Answer(Answered.RAISED, str(response["error"]))
    if "invalid" in response:
        kind = Answered.WRONG_LENGTH if response.get("kind") == "length_mismatch" else Answered.INVALID
        return Answer(kind, str(response["invalid"]))
    try:
        ids, mask = normalise(response, encoding)
    except LengthMismatch as exc:
        return Answer(Answered.WRONG_LENGTH, str(exc))
    except InvalidOutput as exc:
        return Answer(Answered.INVALID, str(exc))
    return Answer.returned(ids, mask)


#: How a process-level failure (runner/process.py ``Failure.verdict``) reads as an answer.
_FAILURES = {"timeout": Answered.TIMED_OUT, "error": Answered.CRASHED, "invalid_output": Answered.INVALID}


def from_failure(kind: str, message: str) -> Answer:
    return Answer(_FAILURES.get(kind, Answered.CRASHED), message)
