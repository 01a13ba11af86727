"""Verdicts: compare one generator answer with one golden record.

``pass`` · ``mask_mismatch`` (same tokens, different mask) · ``token_divergence`` (different tokens than the
template's render) · ``length_mismatch`` (mask and ids of different lengths) · ``invalid_output`` (wrong types,
values outside 0/1, garbage) · ``error`` (raised, crashed) · ``timeout`` · ``unsupported`` (declined) ·
``environment`` (the generator differs from the golden exactly as this transformers does: see
:func:`attribute_environment`; not a pass, and not the generator's fault).
A case the template refuses passes when the generator refuses it too (raises or declines).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..generators import InvalidOutput, LengthMismatch, normalise
from . import explain

VERDICTS = ("pass", "mask_mismatch", "token_divergence", "length_mismatch", "invalid_output", "error", "timeout",
            "unsupported", "environment")
FAILING = frozenset(VERDICTS) - {"pass", "unsupported"}


@dataclass
class Result:
    case: str
    family: str
    variant: str
    category: str
    verdict: str
    message: str = ""
    profile: str = "canonical"
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    #: What the environment check found about this record's family here (empty when it is fine): kept on every
    #: verdict, pass included, because users of this transformers are affected whatever the generator does.
    environment: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.verdict in FAILING

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def judge(golden: dict[str, Any], response: dict[str, Any], encoding: str, profile: str,
          tokenizer_for) -> tuple[str, str, dict[str, Any]]:
    """``(verdict, one-line message, details)`` for one protocol response."""
    refused = golden["outcome"] == "refused"
    if "unsupported" in response:
        return ("pass" if refused else "unsupported"), f"declined: {response['unsupported']}", {}
    if "error" in response:
        if refused:
            return "pass", f"refused like the template ({golden['refusal']})", {}
        return "error", response["error"], {}
    if "invalid" in response:
        return response.get("kind", "invalid_output"), response["invalid"], {}
    try:
        ids, mask = normalise(response, encoding)
    except LengthMismatch as exc:
        return "length_mismatch", str(exc), {}
    except InvalidOutput as exc:
        return "invalid_output", str(exc), {}
    if refused:
        return ("token_divergence", f"the template refuses this conversation ({golden['refusal']}) "
                "but the generator returned tokens", {})
    if profile not in golden["masks"]:
        return "error", f"golden has no mask for profile {profile!r}", {}
    if ids != golden["input_ids"]:
        details = explain.token_divergence(golden, ids, mask, profile, tokenizer_for())
        return "token_divergence", details["summary"], details
    if mask != golden["masks"][profile]:
        details = explain.mask_mismatch(golden, mask, profile)
        return "mask_mismatch", details["summary"], details
    return "pass", "", {}


def attribute_environment(verdict: str, message: str, response: dict[str, Any], encoding: str, env: Any,
                          family: str, variant: str, case: str) -> tuple[str, str]:
    """``environment`` instead of a failing verdict when the environment check explains the difference exactly.

    Exactly: the generator's ids are what this transformers makes of the record (``AutoTokenizer``'s ids for the
    golden text, or the file's ids for this line's different render), or the template refuses here what the
    golden renders and the generator raised. Anything else stays the generator's verdict.
    """
    if env is None or verdict not in {"token_divergence", "error"}:
        return verdict, message
    notes = env.notes(family)
    if not notes:
        return verdict, message
    if verdict == "error":
        explained = env.refuses(family, variant, case)
    else:
        try:
            ids, _ = normalise(response, encoding)
        except (InvalidOutput, LengthMismatch):
            return verdict, message
        explained = env.explains(family, variant, case, ids)
    if not explained:
        return verdict, message
    return "environment", f"{notes[0]} (was {verdict}: {message.split(chr(10))[0][:120]}); run `lossmask doctor`"
