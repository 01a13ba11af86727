"""Regenerate PEERS.md from the JSON reports that ``nox -s peers`` writes to ``peers/results/*.json``.

Why generated: the page is evidence, so every number and every "what it does differently" line is derived from
verdicts and explanations of real runs (``lossmask check ... --json``), never typed by hand. Run
``python -m lossmask.peers.report [RESULTS_DIR] [--out PEERS.md]`` after the sessions.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from lossmask.atomic import write_text

CATEGORIES = ("single_turn", "multi_turn", "tool_call", "adversarial")
#: Errors of the harness, not of the framework (e.g. a case added after the goldens were regenerated): left out of
#: the counts and reported in one line per framework.
HARNESS_ERRORS = re.compile(r"no golden for case")
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


def _key(result: dict[str, Any]) -> tuple[str, str, str]:
    return result["family"], result["variant"], result["case"]


def load_baselines(folder: Path) -> dict[str, Counter]:
    """transformers version -> the *reference*'s verdict counts in a venv with that version (``baseline/*.json``).

    Shown beside each framework pinned to that version, never used to leave records out: the reference loads the
    tokenizer files as they are and reads the goldens of that transformers line, so it should pass everything; if
    it does not, the row says so.
    """
    out: dict[str, Counter] = {}
    for rep in load_reports(folder / "baseline", baseline=True):
        version = str(rep.get("versions", {}).get("transformers"))
        out[version] = Counter(r["verdict"] for r in rep["results"])
    return out


def load_reports(folder: Path, baseline: bool = False) -> list[dict[str, Any]]:
    reports = []
    baselines = {} if baseline else load_baselines(folder)
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            print(f"{path}: skipped, not a readable JSON report ({exc})", file=sys.stderr)
            continue
        if not isinstance(data, dict) or not isinstance(data.get("results"), list) or "generator" not in data:
            print(f"{path}: skipped, no $.results list or $.generator", file=sys.stderr)
            continue
        data["_file"] = path.name
        data["_harness"] = [r for r in data["results"] if HARNESS_ERRORS.search(str(r.get("message", "")))]
        data["results"] = [r for r in data["results"] if not HARNESS_ERRORS.search(str(r.get("message", "")))]
        data["_baseline"] = baselines.get(str(data.get("versions", {}).get("transformers")))
        reports.append(data)
    return reports


def environment_notes(report: dict[str, Any]) -> list[tuple[str, int, int]]:
    """Each distinct environment note in a report: (note, records it is attached to, records judged ``environment``)."""
    attached: Counter = Counter()
    judged: Counter = Counter()
    for r in report["results"]:
        for note in r.get("environment") or []:
            attached[note] += 1
            judged[note] += r["verdict"] == "environment"
    return [(note, n, judged[note]) for note, n in _most_common(attached, len(attached))]


def _short(text: str, limit: int = 60) -> str:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return json.dumps(text, ensure_ascii=False)


def _clauses(message: str) -> list[str]:
    """'supervises X (1); does not supervise Y (2): matches ...' -> ['supervises X', 'does not supervise Y']."""
    head = message.split(": matches", 1)[0]
    return [re.sub(r" \(\d+\)", "", part).strip() for part in head.split("; ") if part.strip()]


def _most_common(counts: Counter, n: int) -> list[tuple[str, int]]:
    """Highest counts first, ties in alphabetical order, so PEERS.md is the same on every rebuild."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def explain(results: list[dict[str, Any]]) -> str:
    """One line saying what the framework does differently in these failing results (most frequent first)."""
    verdicts = Counter(r["verdict"] for r in results)
    parts = []
    mism = [r for r in results if r["verdict"] == "mask_mismatch"]
    if mism:
        clauses = Counter(c for r in mism for c in dict.fromkeys(_clauses(r["message"])))
        profiles = Counter(p for r in mism for p in r.get("details", {}).get("matching_profiles", [])[:1])
        text = "; ".join(f"{c} ({n})" for c, n in _most_common(clauses, 3))
        if profiles:
            name, n = _most_common(profiles, 1)[0]
            text += f"; {n}/{len(mism)} equal profile `{name}`"
        parts.append(f"mask: {text}")
    div = [r for r in results if r["verdict"] == "token_divergence"]
    if div:
        firsts: Counter = Counter()
        extra: Counter = Counter()
        missing: Counter = Counter()
        refused = 0
        for r in div:
            d = r.get("details", {})
            k = d.get("first_difference", 0) - d.get("context_start", 0)
            exp, act = d.get("expected_tokens", []), d.get("actual_tokens", [])
            if exp or act:
                firsts[(exp[k] if k < len(exp) else "<end>", act[k] if k < len(act) else "<end>")] += 1
            else:  # no token context: the template refused the conversation, the framework returned tokens
                refused += 1
            for op in d.get("supervised_text_diff", []):
                if op["actual"].strip():
                    extra[op["actual"]] += 1
                if op["expected"].strip():
                    missing[op["expected"]] += 1
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
    errs = [r for r in results if r["verdict"] not in {"mask_mismatch", "token_divergence"}]
    if errs:
        first = Counter(r["message"].splitlines()[0][:110] if r["message"] else r["verdict"] for r in errs)
        msg, n = _most_common(first, 1)[0]
        parts.append(f"{', '.join(f'{v} {c}' for v, c in verdicts.items() if v not in {'mask_mismatch', 'token_divergence'})}"
                     f": {_short(msg, 110)}")
    return " · ".join(parts)


def _label(report: dict[str, Any]) -> tuple[str, str]:
    gen = report["generator"]
    return str(gen.get("name", report["_file"])), str(gen.get("version", "?"))


def render(reports: list[dict[str, Any]]) -> str:
    lines = [
        "# PEERS: real SFT frameworks run through the conformance suite",
        "",
        "<!-- generated by `python -m lossmask.peers.report` from peers/results/*.json; do not edit -->",
        "",
        "Each row is a real framework's own mask code, installed from PyPI in its own venv (`nox -s peers`), called "
        "through an adapter in `conformance/peers/` that only converts our case to the framework's input and its "
        "output (labels, pre-shifted, inverted) to `(input_ids, mask)`. Verdicts compare with the golden fixtures "
        "under the `canonical` profile. *pass/applicable*: applicable = cases the framework did not decline "
        "(declined: the framework cannot express the case, e.g. tools, or has no template for the family).",
        "",
        "## Summary",
        "",
        "*environment*: the framework's output differs from the golden exactly as this transformers pin makes it "
        "differ (e.g. `AutoTokenizer` building another tokenizer class than the file describes): not a pass, and not "
        "the framework's mask code; the notes under each framework say what the pin does.",
        "",
        "| framework | version | transformers | cases | declined | pass/applicable | mask mismatch | token divergence | environment | errors |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rep in reports:
        name, ver = _label(rep)
        v = Counter(r["verdict"] for r in rep["results"])
        total, declined = len(rep["results"]), v.get("unsupported", 0)
        other = total - declined - sum(v.get(k, 0) for k in ("pass", "mask_mismatch", "token_divergence", "environment"))
        lines.append(f"| {name} | {ver} | {rep.get('versions', {}).get('transformers', '?')} | {total} | {declined} | "
                     f"{v.get('pass', 0)}/{total - declined} | {v.get('mask_mismatch', 0)} | "
                     f"{v.get('token_divergence', 0)} | {v.get('environment', 0)} | {other} |")
    lines += ["", "## Framework × family × category", "",
              "Cells are pass/applicable; `–` = every case declined.", ""]
    for rep in reports:
        name, ver = _label(rep)
        cells: dict[str, Counter] = defaultdict(Counter)
        for r in rep["results"]:
            fam = r["family"] if r["variant"] == "default" else f"{r['family']}/{r['variant']}"
            cells[fam][r["category"], r["verdict"]] += 1
        lines += [f"### {name} {ver}", "", "| family/variant | " + " | ".join(CATEGORIES) + " |",
                  "|---|" + "---:|" * len(CATEGORIES)]
        for fam in sorted(cells):
            row = []
            for cat in CATEGORIES:
                counts = {v: n for (c, v), n in cells[fam].items() if c == cat}
                applicable = sum(counts.values()) - counts.get("unsupported", 0)
                row.append(f"{counts.get('pass', 0)}/{applicable}" if applicable else "–")
            lines.append(f"| {fam} | " + " | ".join(row) + " |")
        failing = defaultdict(list)
        for r in rep["results"]:
            if r["verdict"] not in {"pass", "unsupported"}:
                failing[r["category"]].append(r)
        if failing:
            lines += ["", "What it does differently, per failing category:", ""]
            for cat in CATEGORIES:
                if failing.get(cat):
                    lines.append(f"- **{cat}** ({len(failing[cat])} failing): {explain(failing[cat])}")
        declined = Counter(r["message"].removeprefix("declined: ")[:100] for r in rep["results"]
                           if r["verdict"] == "unsupported")
        if declined:
            lines += ["", "Declined: " + "; ".join(f"{_short(m, 100)} ({n})" for m, n in _most_common(declined, 3))]
        if rep.get("_harness"):
            lines += ["", f"Left out: {len(rep['_harness'])} results the harness could not judge "
                      f"({_short(rep['_harness'][0]['message'].split(': ')[-1], 80)})."]
        tf = rep.get("versions", {}).get("transformers")
        for note, attached, judged in environment_notes(rep):
            lines += ["", f"Environment (transformers {tf}, this framework's pin): {note}. {attached} records of that "
                      f"family carry this note, {judged} of them judged `environment`. The adapter hands the framework "
                      "the tokenizer as the file describes it; a user of this pin who loads it with AutoTokenizer "
                      "gets what the note says."]
        base = rep.get("_baseline")
        if base and set(base) - {"pass"}:
            lines += ["", f"The reference itself in this venv (transformers {tf}): "
                      + ", ".join(f"{n} {k}" for k, n in _most_common(base, len(base))) + "."]
        lines.append("")
    lines += ["## Not run", ""] + [f"- **{name}**: {why}" for name, why in NOT_RUN.items()] + [""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", default=str(ROOT / "peers" / "results"))
    parser.add_argument("--out", default=str(ROOT / "PEERS.md"))
    args = parser.parse_args(argv)
    reports = load_reports(Path(args.results))
    if not reports:
        print(f"no reports in {args.results}; run `nox -s peers` first", file=sys.stderr)
        return 1
    write_text(Path(args.out), render(reports))
    print(f"wrote {args.out} from {len(reports)} reports")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
