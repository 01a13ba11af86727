"""Run one template through every scenario: render, segment, check invariants, compare generation masks.

Each (template, scenario) gets exactly one status: ``refused`` (the template raised on the scenario: its own
choice), ``declined`` (the template rendered it but the reference could not segment it: a reference limitation,
with its reason), ``segmented`` (then the invariants of :mod:`.invariants` were checked) or ``error`` (the
reference crashed: a bug, reported with the exception). Nothing raises out of :func:`run_template`.
"""

from __future__ import annotations

import re
import time
from typing import Any

from lossmask.reference import segment
from lossmask.reference.errors import LossmaskError, TemplateRefusal
from lossmask.reference.render import pinned_template, render
from lossmask.reference.structure import learn

from .. import assets
from ..audit.findings import PARTS_AS_REPR, PARTS_DROPPED, content_parts
from . import choose, invariants
from .corpus import ZooTemplate
from .records import GenerationComparison, ScenarioOutcome, TemplateOutcome
from .scenarios import SCENARIOS, Scenario

#: Suffix of a generation-difference class for ``other`` tokens of a template with no learned end-of-turn.
NO_END_OF_TURN = "/no_end_of_turn_learned"
GENERATION_TAG = re.compile(r"\{%-?\s*generation\s*-?%\}")  # the test transformers applies


def reason_kind(message: str) -> str:
    """A ranking key for a template's own refusal message: quoted values and numbers removed.

    Only refusals are keyed this way (their text is the template's, not ours); the reference's declines carry a
    typed ``kind``.
    """
    kind = re.sub(r"\(first difference at character .*", "", message)
    kind = re.sub(r"'[^']*'|\"[^\"]*\"", "…", kind)
    kind = re.sub(r"\$\.messages\[\d+\][\w.\[\]]*", "$.messages[…]", kind)
    kind = re.sub(r"\d+", "N", kind)
    return " ".join(kind.split())[:160]


def _ids(tokenizer: Any, template: str, s: Scenario) -> list[int]:
    """transformers' own ids, with the date the reference's renders print (their ``strftime_now``)."""
    out = tokenizer.apply_chat_template(s.messages, tools=s.tools, chat_template=pinned_template(template), tokenize=True,
                                        **s.template_kwargs)
    return list(out["input_ids"] if hasattr(out, "keys") else out)


def _generation(tokenizer: Any, template: str, s: Scenario, result: Any) -> GenerationComparison:
    try:
        out = tokenizer.apply_chat_template(s.messages, tools=s.tools, chat_template=pinned_template(template), tokenize=True,
                                            return_dict=True, return_assistant_tokens_mask=True, **s.template_kwargs)
        hf = list(out["assistant_masks"])
    except Exception as exc:  # transformers' own failure on this template: recorded, not compared
        return GenerationComparison(False, 0, error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    ours = result.loss_mask
    labels = result.segmentation.token_parts()
    # Template text outside every turn, when no end-of-turn special token was learned: the turn's closing
    # marker is not a special token of the chosen tokenizer, so the body ends at its last field.
    unlearned = "" if result.segmentation.structure.end_markers else NO_END_OF_TURN
    diffs: dict[str, int] = {}
    for t, (a, b) in enumerate(zip(hf, ours)):
        if a != b:
            key = f"{'hf_only' if a else 'reference_only'}:{labels[t]}"
            key += unlearned if labels[t] == "other" else ""
            diffs[key] = diffs.get(key, 0) + 1
    if len(hf) != len(ours):
        diffs["length"] = abs(len(hf) - len(ours))
    return GenerationComparison(not diffs, len(ours), dict(sorted(diffs.items())))


def _parts_behaviour(s: Scenario, text: str) -> str | None:
    """How a render treats content parts, with the audit's own finding (None: the scenario has none)."""
    if not any(isinstance(m.get("content"), list) for m in s.messages):
        return None
    found = content_parts(s.messages, text)
    return {PARTS_AS_REPR: "as_repr", PARTS_DROPPED: "dropped"}[found[0]] if found else "joined"


def run_scenario(tokenizer: Any, template: str, s: Scenario, generation: bool) -> ScenarioOutcome:
    try:
        text = render(tokenizer, template, s.messages, s.tools, s.template_kwargs)
    except TemplateRefusal as exc:
        return ScenarioOutcome(s.id, "refused", str(exc), reason_kind(str(exc)))
    parts = _parts_behaviour(s, text)
    try:
        seg = segment(tokenizer, template, s.messages, s.tools, s.template_kwargs)
    except LossmaskError as exc:
        return ScenarioOutcome(s.id, "declined", f"{type(exc).__name__}: {exc}", exc.kind, content_parts=parts)
    except Exception as exc:  # a crash of the reference is a bug, never a decline
        message = f"reference crashed ({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''})"
        return ScenarioOutcome(s.id, "error", message, f"reference_crash:{type(exc).__name__}")
    result = seg.mask("canonical")
    checks = invariants.Checks()
    try:
        ids = _ids(tokenizer, template, s)
    except Exception as exc:
        ids = None
        checks.violations.append(f"ids: apply_chat_template(tokenize=True) raised {type(exc).__name__}")
    if ids is not None and ids != seg.input_ids:
        at = next((k for k, (a, b) in enumerate(zip(ids, seg.input_ids)) if a != b), min(len(ids), len(seg.input_ids)))
        checks.violations.append(f"ids: differ from apply_chat_template(tokenize=True) at token {at}")
    if seg.text != text:
        checks.violations.append("ids: the segmented text is not the render")
    sup = invariants.Supervision(seg.text, seg.offsets, result.loss_mask, result.straddles)
    renderer = invariants.renderer_for(tokenizer, template, s.tools, s.template_kwargs)
    prompt = invariants.generation_prompt(tokenizer, template, s.messages, s.tools, s.template_kwargs)
    found = invariants.check(text, s.messages, sup, renderer, prompt)
    found.violations[:0] = checks.violations
    return ScenarioOutcome(
        s.id, "segmented", tokens=len(seg.input_ids), supervised_tokens=sum(result.loss_mask), marking=seg.marking,
        warnings=list(seg.warnings), checks=found,
        generation=_generation(tokenizer, template, s, result) if generation else None, content_parts=parts,
    )


def run_template(t: ZooTemplate, pool: list[choose.Candidate]) -> TemplateOutcome:
    """Every scenario of one template (the caller bounds its time and memory)."""
    started = time.perf_counter()
    out = TemplateOutcome(t.name, t.origin, t.repo, t.sha256)
    if t.problem:
        out.problem, out.problem_kind = t.problem, t.problem_kind
        return out
    text = t.text()
    pick = choose.choose(text, pool, (t.name, t.repo or ""))
    out.family, out.how = pick.family, pick.how
    out.markers, out.uncovered = list(pick.markers), list(pick.uncovered)
    out.has_generation_tags = bool(GENERATION_TAG.search(text))
    tokenizer = assets.load_bundled(pick.family).tokenizer
    try:
        out.header = learn(tokenizer, text, {}).header
    except LossmaskError:
        out.header = None
    for s in SCENARIOS:
        out.scenarios.append(run_scenario(tokenizer, text, s, out.has_generation_tags))
    out.seconds = round(time.perf_counter() - started, 3)
    return out
