"""Regenerate PEERS.md from the JSON reports that ``nox -s peers`` writes to ``peers/results/*.json``.

Why generated: the page is evidence, so every number and every "what it does differently" line is derived from
verdicts and explanations of real runs (``lossmask check ... --json-report``), never typed by hand. Run
``python -m lossmask.peers.report [RESULTS_DIR] [--out PEERS.md]`` after the sessions.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lossmask.atomic import write_text
from lossmask.compare import Outcome, Tally, Verdict
from lossmask.compare.explain import phrase
from lossmask.runner.verdict import Result

CATEGORIES = ("single_turn", "multi_turn", "tool_call", "adversarial")
#: Report formats this page can count: format 1 predates the counting rules (a decline on a refused case was a
#: pass), so its numbers cannot be shown next to format 2 ones; such a report is listed as left out, by name.
FORMATS = {2}
#: What the slime checkouts the rows name are (slime is not on PyPI: a row's version is the checkout's commit).
SLIME_CHECKOUTS = {
    "git 624b824a8": "THUDM/slime main at 624b824a8 (2026-08-21)",
    "git 24c53be91": "THUDM/slime PR #1994 head 24c53be91 (refs/pull/1994/head, 2026-05-30; open, not merged): the "
                     "redesign without tokenizer_type, driven through its own get_loss_mask_result",
}
#: Frameworks the issue names that have no row, with the reason (install/import attempts recorded by hand, since
#: there is no run to derive them from).
NOT_RUN = {
    "ms-swift 4.6.0": "installs and imports on CPU, but `get_template` needs a processor carrying `model_info`/"
                      "`model_meta` from `swift.get_processor(model_dir)`, i.e. a model config directory; no adapter yet",
    "axolotl 0.21.0": "requires Python>=3.12 (this project's venvs are 3.11); 0.19.0, the newest release for 3.11, is what the axolotl row ran",
    "NeMo-RL": "the PyPI `nemo-rl` is a 0.0.0 placeholder; the real package installs from source only",
    "Unsloth": "`import unsloth` refuses to run without a GPU accelerator",
}
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class PeerReport:
    """One framework's run, read back through the typed results (never its sentences)."""

    file: str
    name: str
    version: str
    transformers: str
    results: list[Result]
    #: Results the harness could not judge (verdict ``not_judged``): in no count, listed.
    harness: list[Result] = field(default_factory=list)
    #: The reference's verdict counts in a venv with the same transformers (``baseline/*.json``), if any.
    baseline: Counter | None = None


def _read(path: Path, skipped: list[str]) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        skipped.append(f"{path.name}: not a readable JSON report ({exc})")
        return None
    if not isinstance(data, dict) or not isinstance(data.get("results"), list) or "generator" not in data:
        skipped.append(f"{path.name}: no $.results list or $.generator")
        return None
    if data.get("format") not in FORMATS:
        skipped.append(f"{path.name}: report format {data.get('format')!r} predates the counting rules; re-run it")
        return None
    try:
        data["results"] = [Result.from_json(r) for r in data["results"]]
    except (KeyError, TypeError, ValueError) as exc:
        skipped.append(f"{path.name}: $.results: not a lossmask result ({type(exc).__name__}: {exc})")
        return None
    return data


def load_baselines(folder: Path, skipped: list[str] | None = None) -> dict[str, Counter]:
    """transformers version -> the *reference*'s verdict counts in a venv with that version (``baseline/*.json``).

    Shown beside each framework pinned to that version, never used to leave records out: the reference loads the
    tokenizer files as they are and reads the goldens of that transformers line, so it should pass everything; if
    it does not, the row says so.
    """
    out: dict[str, Counter] = {}
    skipped = [] if skipped is None else skipped
    for path in sorted((folder / "baseline").glob("*.json")):
        data = _read(path, skipped)
        if data is not None:
            version = str(data.get("versions", {}).get("transformers"))
            out[version] = Counter(r.verdict.value for r in data["results"])
    return out


def load_reports(folder: Path, skipped: list[str] | None = None) -> list[PeerReport]:
    """Every readable format-2 report in ``folder``; what could not be read is appended to ``skipped``."""
    skipped = [] if skipped is None else skipped
    baselines = load_baselines(folder, skipped)
    reports = []
    for path in sorted(folder.glob("*.json")):
        data = _read(path, skipped)
        if data is None:
            continue
        gen = data["generator"]
        transformers = str(data.get("versions", {}).get("transformers", "?"))
        results: list[Result] = data["results"]
        reports.append(PeerReport(
            file=path.name, name=str(gen.get("name", path.name)), version=str(gen.get("version", "?")),
            transformers=transformers, results=[r for r in results if r.verdict is not Verdict.NOT_JUDGED],
            harness=[r for r in results if r.verdict is Verdict.NOT_JUDGED], baseline=baselines.get(transformers)))
    return reports


def environment_notes(report: PeerReport) -> list[tuple[str, int, int]]:
    """Each distinct environment note in a report: (note, records it is attached to, records judged ``environment``)."""
    attached: Counter = Counter()
    judged: Counter = Counter()
    for r in report.results:
        for note in r.environment:
            attached[note] += 1
            judged[note] += r.verdict is Verdict.ENVIRONMENT
    return [(note, n, judged[note]) for note, n in _most_common(attached, len(attached))]


def _short(text: str, limit: int = 60) -> str:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return json.dumps(text, ensure_ascii=False)


def _clauses(outcome: Outcome) -> list[str]:
    """The mask-mismatch clauses of one outcome, from its fields: ['supervises X', 'does not supervise Y']."""
    out = []
    if outcome.over_supervised:
        out.append("supervises " + ", ".join(phrase(s) for s in outcome.over_supervised))
    if outcome.under_supervised:
        out.append("does not supervise " + ", ".join(phrase(s) for s in outcome.under_supervised))
    return out


def _most_common(counts: Counter, n: int) -> list[tuple[str, int]]:
    """Highest counts first, ties in alphabetical order, so PEERS.md is the same on every rebuild."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:n]


def explain(results: list[Result]) -> str:
    """One line saying what the framework does differently in these failing results (most frequent first)."""
    verdicts = Counter(r.verdict for r in results)
    parts = []
    mism = [r.outcome for r in results if r.verdict is Verdict.MASK_MISMATCH]
    if mism:
        clauses = Counter(c for o in mism for c in _clauses(o))
        profiles = Counter(o.matching_profiles[0] for o in mism if o.matching_profiles)
        text = "; ".join(f"{c} ({n})" for c, n in _most_common(clauses, 3))
        if profiles:
            name, n = _most_common(profiles, 1)[0]
            text += f"; {n}/{len(mism)} equal profile `{name}`"
        parts.append(f"mask: {text}")
    div = [r.outcome for r in results if r.verdict is Verdict.TOKEN_DIVERGENCE]
    if div:
        firsts: Counter = Counter()
        extra: Counter = Counter()
        missing: Counter = Counter()
        refused = sum(1 for o in div if o.golden == "refused")
        for o in div:
            if o.golden == "refused" or o.first_difference is None or o.context_start is None:
                continue
            k = o.first_difference - o.context_start
            exp, act = o.expected_tokens, o.actual_tokens
            firsts[(exp[k] if k < len(exp) else "<end>", act[k] if k < len(act) else "<end>")] += 1
            for op in o.supervised_text_diff:
                if op.actual.strip():
                    extra[op.actual] += 1
                if op.expected.strip():
                    missing[op.expected] += 1
        text = f"token stream differs from the full render ({len(div)})"
        if firsts:
            (want, got), n = _most_common(firsts, 1)[0]
            text += f", most often {_short(want, 24)} → {_short(got, 24)} ({n})"
        if refused:
            text += f"; {refused} where the template refuses the conversation and the framework still returned tokens"
        if extra:
            text += f"; trains {_short(_most_common(extra, 1)[0][0])} the render lacks"
        if missing:
            text += f"; does not train {_short(_most_common(missing, 1)[0][0])}"
        parts.append(text)
    errs = [r for r in results if r.verdict not in (Verdict.MASK_MISMATCH, Verdict.TOKEN_DIVERGENCE)]
    if errs:
        first = Counter((r.outcome.generator_message or r.message or r.verdict.value).splitlines()[0][:110]
                        for r in errs)
        msg, n = _most_common(first, 1)[0]
        parts.append(f"{', '.join(f'{v.value} {c}' for v, c in verdicts.items() if v in {r.verdict for r in errs})}"
                     f": {_short(msg, 110)}")
    return " · ".join(parts)


def render(reports: list[PeerReport], skipped: list[str] | None = None) -> str:
    lines = [
        "# PEERS: real SFT frameworks run through the conformance suite",
        "",
        "<!-- generated by `python -m lossmask.peers.report` from peers/results/*.json; do not edit -->",
        "",
        "Each row is a real framework's own mask code, installed from PyPI in its own venv (`nox -s peers`), called "
        "through an adapter in `conformance/peers/` that only converts our case to the framework's input and its "
        "output (labels, pre-shifted, inverted) to `(input_ids, mask)`. Verdicts compare with the golden fixtures "
        "under the `canonical` profile.",
        "",
        "Counting rules (as in `lossmask check`): *declined* = the framework raised NotImplementedError (it cannot "
        "express the case, e.g. tools, or has no template for the family), whatever the golden says; *ran* = "
        "cases it did not decline (the applicable ones); *pass* = its tokens and mask equal the golden; *refused* = "
        "the template refuses the conversation and the framework raised too (agreeing, but not a pass). "
        "pass + refused + environment + failures = ran.",
        "",
        "## Summary",
        "",
        "*environment*: the framework's output differs from the golden exactly as this transformers pin makes it "
        "differ (e.g. `AutoTokenizer` building another tokenizer class than the file describes): it ran, it is not "
        "a pass, and it is not the framework's mask code; the notes under each framework say what the pin does.",
        "",
        "| framework | version | transformers | cases | declined | pass/ran | refused | mask mismatch | token divergence | environment | other failures |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    named = sorted({rep.version for rep in reports if rep.version in SLIME_CHECKOUTS})
    if named:
        lines[-2:-2] = ["slime checkouts: " + "; ".join(f"`{v}` = {SLIME_CHECKOUTS[v]}" for v in named) + ".", ""]
    for rep in reports:
        t = Tally.of(r.verdict for r in rep.results)
        other = t.failed - t[Verdict.MASK_MISMATCH] - t[Verdict.TOKEN_DIVERGENCE]
        lines.append(f"| {rep.name} | {rep.version} | {rep.transformers} | {t.total} | {t.declined} | "
                     f"{t.passed}/{t.ran} | {t.refused_agree} | {t[Verdict.MASK_MISMATCH]} | "
                     f"{t[Verdict.TOKEN_DIVERGENCE]} | {t.environment} | {other} |")
    lines += ["", "## Framework × family × category", "",
              "Cells are pass/ran (refused-and-agreed cases count in ran, never in pass); `–` = every case declined.", ""]
    for rep in reports:
        cells: dict[str, dict[str, Tally]] = defaultdict(lambda: defaultdict(Tally))
        for r in rep.results:
            fam = r.family if r.variant == "default" else f"{r.family}/{r.variant}"
            cells[fam][r.category].add(r.verdict)
        lines += [f"### {rep.name} {rep.version}", "", "| family/variant | " + " | ".join(CATEGORIES) + " |",
                  "|---|" + "---:|" * len(CATEGORIES)]
        for fam in sorted(cells):
            lines.append(f"| {fam} | " + " | ".join(cells[fam][cat].cell() for cat in CATEGORIES) + " |")
        failing = defaultdict(list)
        for r in rep.results:
            if r.failed:
                failing[r.category].append(r)
        if failing:
            lines += ["", "What it does differently, per failing category:", ""]
            for cat in CATEGORIES:
                if failing.get(cat):
                    lines.append(f"- **{cat}** ({len(failing[cat])} failing): {explain(failing[cat])}")
        declined = Counter(r.outcome.generator_message[:100] for r in rep.results if r.verdict is Verdict.UNSUPPORTED)
        if declined:
            lines += ["", "Declined: " + "; ".join(f"{_short(m, 100)} ({n})" for m, n in _most_common(declined, 3))]
        if rep.harness:
            lines += ["", f"Left out: {len(rep.harness)} results the harness could not judge "
                      f"({_short(rep.harness[0].message, 100)})."]
        for note, attached, judged in environment_notes(rep):
            lines += ["", f"Environment (transformers {rep.transformers}, this framework's pin): {note}. {attached} "
                      f"records of that family carry this note, {judged} of them judged `environment`. The adapter "
                      "hands the framework the tokenizer as the file describes it; a user of this pin who loads it "
                      "with AutoTokenizer gets what the note says."]
        base = rep.baseline
        if base and set(base) - {"pass", "refused_agree"}:
            lines += ["", f"The reference itself in this venv (transformers {rep.transformers}): "
                      + ", ".join(f"{n} {k}" for k, n in _most_common(base, len(base))) + "."]
        lines.append("")
    if skipped:
        lines += ["## Reports left out", ""] + [f"- {line}" for line in skipped] + [""]
    lines += ["## Not run", ""] + [f"- **{name}**: {why}" for name, why in NOT_RUN.items()] + [""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default=str(ROOT / "peers" / "results"))
    parser.add_argument("--out", default=str(ROOT / "PEERS.md"))
    args = parser.parse_args(argv)
    skipped: list[str] = []
    reports = load_reports(Path(args.results), skipped)
    for line in skipped:
        print(f"left out: {line}", file=sys.stderr)
    if not reports:
        print(f"no reports in {args.results}; run `nox -s peers` first", file=sys.stderr)
        return 1
    write_text(Path(args.out), render(reports, skipped))
    print(f"wrote {args.out} from {len(reports)} reports")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
