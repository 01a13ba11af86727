"""The zoo's outputs, all computed from the typed records: the JSON report, its summary and ZOO.md.

ZOO.md is generated from the JSON (``lossmask zoo --from-json zoo.json --markdown ZOO.md`` rebuilds it without
re-running), so every figure in it is a count over records someone can re-check.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import asdict
from typing import Any

from .choose import lineage_why
from .invariants import Checks
from .records import GenerationComparison, ScenarioOutcome, Summary, TemplateOutcome
from .scenarios import SCENARIOS

FORMAT = 1

#: What each generation-tag difference class means (``hf_only``: transformers' assistant mask has the token and
#: the reference's canonical mask does not; ``reference_only``: the other way round).
DIFFERENCE_MEANING = {
    "hf_only:separator": "the template's generation block runs past the end-of-turn token into the separator "
                         "(canonical does not supervise the separator; profile slime-qwen3_5 does)",
    "hf_only:header": "the generation block includes text that add_generation_prompt writes (the role header, "
                      "or a closing </think> the prompt supplies): in the prompt at inference, not generated; "
                      "profile full-turn supervises it",
    "hf_only:gen_prompt_suffix": "the generation block includes the generation-prompt suffix (in the prompt "
                                 "at inference)",
    "hf_only:other": "the generation block includes template text the reference attributes to no turn",
    "hf_only:other/no_end_of_turn_learned": "the generation block holds the turn's closing text after its last "
                                            "field (</assistant>, <|end_turn|>, a trailing space), which the "
                                            "reference leaves unsupervised: that marker is no special token of the "
                                            "chosen bundled tokenizer, so no end-of-turn was learned and the body "
                                            "ends at the last field (docs/limitations.md: end-of-turn must be a "
                                            "special token)",
    "reference_only:end_of_turn": "the generation block closes before the end-of-turn token, which the model "
                                  "must emit to stop (canonical supervises it; profile no-eot does not)",
    "reference_only:content": "assistant content outside the generation block",
    "reference_only:reasoning": "assistant reasoning outside the generation block",
    "reference_only:tool_call": "a tool call outside the generation block",
    "length": "the two token streams differ in length (transformers re-tokenised differently)",
}


#: How a template's tokenizer was chosen (conformance/zoo/choose.py), as ZOO.md's groups name it.
HOW = {"own": "its own bundled template", "family": "its family's tokenizer", "markers": "markers covered",
       "fallback": "no bundled marker"}
#: Why, said once in ZOO.md's tokenizer section.
HOW_WHY = {
    "own": "the template is byte-identical to a bundled family's template (sha256): rendered with that family's "
           "tokenizer",
    "family": "the template's source repository names a model of a bundled family (conformance/zoo/lineage.json) "
              "and that family's special tokens hold as many of the template's markers as any bundled tokenizer's "
              "(a family never overrides the markers)",
    "markers": "no bundled family is named: the tokenizer whose special tokens hold the most of the template's "
               "markers (then ordinary added words, the special-token variables it reads, a published file)",
    "fallback": "no marker of any bundled vocabulary occurs in the template and no bundled family is named: the "
                "first published tokenizer defining the special-token variables it reads; its markers are text",
}


def _meaning(key: str) -> str:
    if key in DIFFERENCE_MEANING:
        return DIFFERENCE_MEANING[key]
    side, _, label = key.partition(":")
    if "+" in label:
        first, _, second = label.partition("+")
        if side == "hf_only":
            return (f"a token straddling {first} and {second}: transformers' block overlaps it and supervises it, "
                    f"the reference's canonical mask does not")
        return (f"a token straddling {first} and {second}: canonical supervises a token that holds any supervised "
                f"character and reports the straddle; transformers' block starts at a later token (the body's "
                f"first characters, e.g. a newline the template writes before its generation tag, lie outside "
                f"the block)")
    return f"{'only transformers' if side == 'hf_only' else 'only the reference'} supervises {label} tokens"


def summarize(outcomes: list[TemplateOutcome]) -> Summary:
    count: Counter[str] = Counter()
    violations = 0
    gen_templates = gen_compared = gen_agree = 0
    for t in outcomes:
        if t.problem:
            count["not_run"] += len(SCENARIOS)
        gen_templates += t.has_generation_tags
        for s in t.scenarios:
            count[s.status] += 1
            if s.checks:
                violations += len(s.checks.violations)
            if s.generation and s.generation.error is None:
                gen_compared += 1
                gen_agree += s.generation.agree
    rendered = count["segmented"] + count["declined"] + count["error"]
    return Summary(
        templates=len(outcomes), rendered=rendered, segmented=count["segmented"], declined=count["declined"],
        refused=count["refused"], errors=count["error"] + count["not_run"], invariant_violations=violations,
        segmented_share=round(count["segmented"] / rendered, 4) if rendered else 0.0, scenarios=len(SCENARIOS),
        generation_templates=gen_templates, generation_compared=gen_compared, generation_agree=gen_agree,
    )


def to_json(outcomes: list[TemplateOutcome], meta: dict[str, Any]) -> dict[str, Any]:
    ordered = sorted(outcomes, key=lambda t: t.name)
    return {"format": FORMAT, "summary": asdict(summarize(ordered)), **meta,
            "templates": [asdict(t) for t in ordered]}


def from_json(data: dict[str, Any]) -> tuple[list[TemplateOutcome], dict[str, Any]]:
    """Typed records back from a JSON report (ZOO.md is rebuilt from these)."""
    outcomes = []
    for raw in data["templates"]:
        scenarios = []
        for s in raw.pop("scenarios"):
            checks = Checks(**s.pop("checks")) if s.get("checks") else None
            gen = GenerationComparison(**s.pop("generation")) if s.get("generation") else None
            s.pop("checks", None)
            s.pop("generation", None)
            scenarios.append(ScenarioOutcome(**s, checks=checks, generation=gen))
        outcomes.append(TemplateOutcome(**raw, scenarios=scenarios))
    meta = {k: v for k, v in data.items() if k not in {"format", "summary", "templates"}}
    return outcomes, meta


def dumps(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=1, ensure_ascii=False) + "\n"


# -- ZOO.md -------------------------------------------------------------------------------------------------------
def _group(t: TemplateOutcome) -> str:
    if t.family is None:
        return "(not run)"
    return f"{t.family} ({HOW.get(t.how or '', t.how)})"


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f}%" if b else "–"


def _esc(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "\\n")


def markdown(outcomes: list[TemplateOutcome], meta: dict[str, Any]) -> str:
    summary = summarize(outcomes)
    out: list[str] = []
    add = out.append
    add("# ZOO.md: the reference on the public template zoo\n")
    add(f"Generated by `{meta.get('command', 'lossmask zoo')}` from {meta.get('corpus', 'the corpus')} "
        f"({meta.get('environment', {}).get('transformers', '?')} transformers); do not edit by hand: "
        f"`lossmask zoo --from-json zoo/zoo.json --markdown ZOO.md` rebuilds it from the JSON.\n")
    add("Every template is rendered with a fixed scenario set "
        f"({', '.join(f'`{s.id}`' for s in SCENARIOS)}) with a bundled tokenizer chosen from data "
        "(its own where bundled: the same template, or its family named by its source; otherwise the one whose "
        "special tokens cover the template's markers: see Tokenizer choice), and each "
        "(template, scenario) is classified: **segmented** (invariants checked), **refused** (the template "
        "raised: its choice), **declined** (the template rendered it, the reference did not segment it: a "
        "documented limitation, docs/limitations.md) or an error (the reference crashed, or the template could "
        "not be run at all).\n")
    add("| templates | rendered | segmented | declined | refused | errors | invariant violations | segmented / rendered |")
    add("|---:|---:|---:|---:|---:|---:|---:|---:|")
    add(f"| {summary.templates} | {summary.rendered} | {summary.segmented} | {summary.declined} | "
        f"{summary.refused} | {summary.errors} | {summary.invariant_violations} | "
        f"{_pct(summary.segmented, summary.rendered)} |\n")

    add("## By scenario\n")
    add("| scenario | rendered | segmented | declined | refused | errors |")
    add("|---|---:|---:|---:|---:|---:|")
    for sc in SCENARIOS:
        c = Counter(s.status for t in outcomes for s in t.scenarios if s.scenario == sc.id)
        rendered = c["segmented"] + c["declined"] + c["error"]
        add(f"| `{sc.id}` | {rendered} | {c['segmented']} | {c['declined']} | {c['refused']} | {c['error']} |")
    add("")

    parts = Counter(s.content_parts for t in outcomes for s in t.scenarios
                    if s.scenario == "content_parts" and s.content_parts)
    refused_parts = sum(1 for t in outcomes for s in t.scenarios if s.scenario == "content_parts"
                        and s.status == "refused")
    add(f"Content parts (`content_parts`): {parts['joined']} templates render the parts' text, "
        f"{parts['as_repr']} print the list itself (Python repr or JSON: `lossmask audit` finding "
        f"`content-parts-as-repr`), {parts['dropped']} drop the text (`content-parts-dropped`), "
        f"{refused_parts} raise.\n")

    add("## By style group (the tokenizer each template was rendered with)\n")
    add("| group | templates | rendered | segmented | declined | refused | segmented / rendered | most frequent decline |")
    add("|---|---:|---:|---:|---:|---:|---:|---|")
    groups: dict[str, list[TemplateOutcome]] = defaultdict(list)
    for t in outcomes:
        groups[_group(t)].append(t)
    for name, ts in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        c = Counter(s.status for t in ts for s in t.scenarios)
        rendered = c["segmented"] + c["declined"] + c["error"]
        top = Counter(s.reason_kind for t in ts for s in t.scenarios if s.status in {"declined", "error"})
        first = f"`{top.most_common(1)[0][0]}` ({top.most_common(1)[0][1]})" if top else "–"
        add(f"| {name} | {len(ts)} | {rendered} | {c['segmented']} | {c['declined']} | {c['refused']} | "
            f"{_pct(c['segmented'], rendered)} | {first} |")
    add("")

    add("## Declines and errors, ranked\n")
    declines = Counter((s.status, s.reason_kind) for t in outcomes for s in t.scenarios
                       if s.status in {"declined", "error"})
    if declines:
        add("| status | reason | renders | example |")
        add("|---|---|---:|---|")
        for (status, kind), n in declines.most_common():
            ex = next((t, s) for t in outcomes for s in t.scenarios if s.status == status and s.reason_kind == kind)
            add(f"| {status} | `{kind}` | {n} | {ex[0].name} / `{ex[1].scenario}`: {_esc((ex[1].reason or '')[:160])} |")
    else:
        add("None: every render the templates produced was segmented.")
    problems = Counter(t.problem_kind for t in outcomes if t.problem)
    if problems:
        add("\nTemplates not run: " + ", ".join(f"`{k}` {n}" for k, n in problems.most_common()) + ".")
    add("")

    add("## Template refusals, ranked (the template's own message, values elided)\n")
    refusals = Counter(s.reason_kind for t in outcomes for s in t.scenarios if s.status == "refused")
    add("| refusal | renders |")
    add("|---|---:|")
    for kind, n in refusals.most_common(15):
        add(f"| {_esc(kind or '')} | {n} |")
    rest = sum(refusals.values()) - sum(n for _, n in refusals.most_common(15))
    if rest:
        add(f"| ({len(refusals) - 15} other messages) | {rest} |")
    add("")

    add("## Invariants on every segmented render\n")
    totals: Counter[str] = Counter()
    lines = []
    for t in outcomes:
        for s in t.scenarios:
            if s.checks:
                for k, v in asdict(s.checks).items():
                    if isinstance(v, int):
                        totals[k] += v
                lines.extend(f"- {t.name} / `{s.scenario}`: {_esc(v)}" for v in s.checks.violations)
    add("Checked without the reference's own field spans (conformance/zoo/invariants.py): ids equal "
        "`apply_chat_template(tokenize=True)`; every assistant field the render contains (found by a perturbation "
        "diff) is supervised under `canonical`; no system, user or tool text is; every supervised token lies "
        "inside an assistant turn; an empty reasoning field that renders a block inside the turn has it "
        "supervised.\n")
    add("| check | count |")
    add("|---|---:|")
    for key, label in (("fields_rendered", "assistant fields rendered"),
                       ("fields_supervised", "… of them found and wholly supervised"),
                       ("not_located", "… printed transformed, not located (not checked)"),
                       ("fields_not_rendered", "assistant fields the template does not render"),
                       ("other_texts_checked", "system/user/tool text occurrences checked"),
                       ("straddles_into_other_text", "… touched only by a reported straddling token"),
                       ("empty_reasoning_blocks", "empty reasoning fields that render a block")):
        add(f"| {label} | {totals[key]} |")
    add(f"| violations | {summary.invariant_violations} |\n")
    out.extend(lines[:50])
    if len(lines) > 50:
        add(f"- … {len(lines) - 50} more in the JSON report")
    add("")

    add("## Tokenizer choice\n")
    add("Each template is rendered with one bundled tokenizer, chosen from data in this order "
        "(conformance/zoo/choose.py):\n")
    for how, why in HOW_WHY.items():
        add(f"- `{how}` ({HOW[how]}): {why}.")
    add("")
    picks = Counter((t.family, t.how) for t in outcomes if t.family)
    add("| tokenizer | how | templates |")
    add("|---|---|---:|")
    for (fam, how), n in sorted(picks.items(), key=lambda kv: (-kv[1], kv[0])):
        add(f"| {fam} | {how} | {n} |")
    named = Counter(t.family for t in outcomes if t.how == "family")
    if named:
        why = lineage_why()
        add("\nFamilies chosen by a template's source (`family`; conformance/zoo/lineage.json):\n")
        for fam, n in sorted(named.items(), key=lambda kv: (-kv[1], kv[0])):
            add(f"- {fam}, {n} templates: {why.get(fam, '')}.")
    missing = Counter(m for t in outcomes for m in t.uncovered)
    if missing:
        add("\nMarkers of a bundled vocabulary that the chosen tokenizer lacks (they render as plain text): "
            + ", ".join(f"`{_esc(m)}` {n}" for m, n in missing.most_common(12)) + ".")
    add("")

    add(_generation_section(outcomes, summary))
    add(_every_template(outcomes))
    return "\n".join(out).rstrip() + "\n"


_CODE = {"segmented": "S", "refused": "r", "declined": "**D**", "error": "**E**"}


def _every_template(outcomes: list[TemplateOutcome]) -> str:
    """One row per template: where it came from, the tokenizer it was rendered with and why, each scenario."""
    out = ["## Every template\n",
           "S segmented, r refused by the template, **D** declined by the reference, **E** error; tokenizer: `own` "
           "(byte-identical bundled template), `family` (its source names a bundled family), `markers` (best "
           "cover of its markers), `fallback` (no bundled marker in it).\n", f"<details><summary>{len(outcomes)} templates</summary>\n"]
    add = out.append
    add("| template | origin | tokenizer | " + " | ".join(s.id for s in SCENARIOS) + " |")
    add("|---|---|---|" + "---|" * len(SCENARIOS))
    for t in sorted(outcomes, key=lambda t: t.name):
        if t.problem:
            add(f"| {_esc(t.name)} | {t.origin} | – | {t.problem_kind}: {_esc(t.problem)} |" + " |" * (len(SCENARIOS) - 1))
            continue
        by = {s.scenario: _CODE[s.status] for s in t.scenarios}
        add(f"| {_esc(t.name)} | {t.origin} | {t.family} ({t.how}) | " + " | ".join(by.get(s.id, "–") for s in SCENARIOS)
            + " |")
    add("\n</details>")
    return "\n".join(out) + "\n"


def _generation_section(outcomes: list[TemplateOutcome], summary: Summary) -> str:
    out = ["## Generation tags: the reference against `return_assistant_tokens_mask`\n"]
    add = out.append
    tagged = [t for t in outcomes if t.has_generation_tags]
    add(f"{summary.generation_templates} templates contain a `{{% generation %}}` block (transformers' own test). "
        f"On their segmented renders the reference's `canonical` mask and transformers' assistant mask were "
        f"compared token by token: {summary.generation_agree} of {summary.generation_compared} renders agree.\n")
    classes: Counter[str] = Counter()
    tokens: Counter[str] = Counter()
    templates: dict[str, set[str]] = defaultdict(set)
    for t in tagged:
        for s in t.scenarios:
            if s.generation:
                classes.update(s.generation.differences.keys())
                tokens.update(s.generation.differences)
                for key in s.generation.differences:
                    templates[key].add(t.name)
    if classes:
        add(f"{summary.generation_compared - summary.generation_agree} renders differ; each difference is one of "
            "these classes (a render can show several):\n")
        add("| difference | renders | tokens | templates | what it means |")
        add("|---|---:|---:|---:|---|")
        for key, n in sorted(classes.items(), key=lambda kv: (-kv[1], kv[0])):
            add(f"| `{key}` | {n} | {tokens[key]} | {len(templates[key])} | {_esc(_meaning(key))} |")
        add("")
    add("| template | tokenizer | compared | agree | differences (renders) |")
    add("|---|---|---:|---:|---|")
    for t in sorted(tagged, key=lambda t: t.name):
        gens = [s.generation for s in t.scenarios if s.generation and s.generation.error is None]
        errs = [s.generation.error for s in t.scenarios if s.generation and s.generation.error]
        diff = Counter(k for g in gens for k in g.differences)
        text = ", ".join(f"`{k}` {n}" for k, n in diff.most_common()) or "–"
        if errs:
            text += f"; transformers raised on {len(errs)}"
        add(f"| {t.name} | {t.family} | {len(gens)} | {sum(g.agree for g in gens)} | {text} |")
    return "\n".join(out) + "\n"
