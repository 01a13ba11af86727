"""The markdown of ``lossmask bench`` (the ``<!-- bench:start -->`` region of BENCHMARKS.md), read from its JSON.

Every figure comes from a field of the report; the method text says how each was measured, so the region is
self-describing when the lead reruns it on a quiet machine.
"""

from __future__ import annotations

from typing import Any

LABELS = {"reference": "reference", "reference+oracle": "reference + oracle", "per_message": "per-message",
          "hf_assistant_mask": "HF assistant mask", "slime_qwen3_5": "slime qwen3_5"}
DATASET_LABELS = {"floor": "floor pipeline (render + batch tokenize)", "lossmask": "lossmask LabelsMap",
                  "trl": "TRL SFTTrainer prep (assistant_only_loss)"}


def ratio(value: float | None) -> str:
    return f"{value:.2f}×" if value is not None else "—"


def _cols(report: dict[str, Any]) -> list[str]:
    """Method columns that have at least one figure (others are named in the skips)."""
    have = {k for f in report["families"] for r in f["sizes"] for k in r["ratios"]}
    return [k for k in LABELS if k in have]


def header(report: dict[str, Any]) -> list[str]:
    v, m = report["versions"], report["machine"]
    load = m.get("load_average_at_start")
    load_end = m.get("load_average_at_end")
    return [
        "## lossmask bench: reference mask cost against the floor",
        "",
        f"`{report.get('command', 'lossmask bench')}` ({report['date']}; Python {v['python']}, transformers "
        f"{v['transformers']}, tokenizers {v['tokenizers']}, jinja2 {v['jinja2']}"
        + (f", trl {v['trl']}" if v.get("trl") else "")
        + (f", commit {v['lossmask_commit']}" if "lossmask_commit" in v else "")
        + f"; {m['cpus']} CPUs, {m['cpu']}; 1-min load average {load[0] if load else '?'} at start"
        + (f", {load_end[0]} at end" if load_end else "") + f"; clock: {report.get('clock', 'wall')}).",
    ]


def method(report: dict[str, Any]) -> list[str]:
    clock = ("CPU time of the bench process (`time.process_time`, all its threads), so other jobs on a shared "
             "machine stretch it less than wall time" if report.get("clock") == "cpu" else "wall time")
    return [
        "",
        "**Method.** Per family (bundled default template) a synthetic conversation of N turns (a system prompt; "
        "each turn a user message and an assistant answer with `reasoning_content`; every fourth turn a tool round: "
        "assistant reasoning + one tool call, the tool result, the final answer; `conformance/bench/conversations.py`). "
        "The floor is `apply_chat_template(tokenize=True)`: one render and one tokenization. Every method is timed in "
        "the same process, interleaved (each repetition times every method once), after a warm-up; small sizes loop "
        "each timing to ≥50 ms with the same loop count for all methods; a ratio is the method's median over the "
        f"floor's median ({report['repetitions']} repetitions; {clock}). `reference` is `reference.compute` "
        "(canonical profile), which renders once where `reference/proof.py` proves the template and the conversation "
        "meets the proof's data assumptions (see the path table below), else twice, and takes token offsets from "
        "token lengths where `reference/token_bounds.py` shows they follow from the ids (`encode_batch_fast`, the "
        "same ids without offset tracking; column *offsets*: `lengths`), else from the tokenizer's `encode_batch` "
        "(`tokenizer`); `reference + oracle` adds the "
        "independent oracle (`reference/oracle.py`, one re-render per assistant message); `per-message` is "
        "`conformance/baselines/per_message.py` (one render per prefix, today's per-message baseline); `HF assistant "
        "mask` is transformers `apply_chat_template(return_assistant_tokens_mask=True)` on TRL's training template "
        "for the family (with `{% generation %}` tags), as a ratio to `apply_chat_template(tokenize=True)` of that "
        "same template; `slime qwen3_5` is slime's `MultiTurnLossMaskGenerator(..., 'qwen3_5')` "
        "(`LOSSMASK_SLIME_CHECKOUT`). Quadratic methods stop at the size where their predicted time would pass a "
        f"{report['budget_seconds']:.0f} s budget per family (—).",
    ]


def ratios(report: dict[str, Any]) -> list[str]:
    summary, cols = report["summary"], _cols(report)
    med = summary["median_ratios"]
    lines = ["", f"**`reference_over_floor` = {ratio(report['reference_over_floor'])}** (median over every family "
             f"and size; target ≤ 1.15×). Medians over every family and size: "
             + ", ".join(f"{LABELS[k]} {ratio(med.get(k))}" for k in cols if k != "reference") + ".", "",
             "| turns | " + " | ".join(LABELS[k] for k in cols) + " |",
             "| ---: | " + " | ".join("---:" for _ in cols) + " |"]
    for size, row in summary["per_size"].items():
        lines.append(f"| {size} | " + " | ".join(ratio(row.get(k)) for k in cols) + " |")
    lines += ["", "Per family (ratio to the floor; floor in ms; tokens of the conversation; renders: how many the "
              "reference did; offsets: where the reference took token offsets from):", "",
              "| family | turns | tokens | floor ms | renders | offsets | " + " | ".join(LABELS[k] for k in cols) + " |",
              "| --- | ---: | ---: | ---: | ---: | --- | " + " | ".join("---:" for _ in cols) + " |"]
    for fam in report["families"]:
        for row in fam["sizes"]:
            r = row["ratios"]
            lines.append(f"| {fam['family']} | {row['turns']} | {row['tokens']:,} | "
                         f"{row['seconds']['floor'] * 1000:.1f} | {row.get('renders', '?')} | "
                         f"{row.get('offsets', '?')} | "
                         + " | ".join(ratio(r.get(k)) for k in cols) + " |")
    skips = {}
    for f in report["families"]:
        for r in f["sizes"]:
            for name, why in r["skipped"].items():
                if name in LABELS and (why.startswith("not measured") or why.startswith("raised")):
                    skips.setdefault(LABELS[name], set()).add(why.removeprefix("not measured: "))
    why = [f"{f['family']}: {f['offsets_from_tokenizer']}" for f in report["families"]
           if f.get("offsets_from_tokenizer")]
    if why:
        lines += ["", "Token offsets from the tokenizer for every text of: " + " / ".join(why) + "."]
    else:
        lines += ["", "Every family's pipeline lets token offsets follow from token lengths; a text whose lengths "
                  "do not add up to its length (non-ASCII text through byte-level BPE, say) takes the tokenizer's."]
    if report.get("errors"):
        lines += ["", "Families not measured (each one line from the run): "
                  + " / ".join(" ".join(e.split())[:300] for e in report["errors"]) + "."]
    if skips:
        lines += ["", "Not measured: " + "; ".join(f"{label}: {' / '.join(sorted(whys))}"
                                                  for label, whys in sorted(skips.items())) + "."]
    return lines


def growth(report: dict[str, Any]) -> list[str]:
    cols = ["floor", *[k for k in _cols(report) if k in ("reference", "reference+oracle", "per_message")]]
    lines = ["", "Growth (log-log slope of seconds against tokens over the three largest sizes of ≥ 8 turns each "
             "method reached; 1 = linear, 2 = quadratic):", "",
             "| family | " + " | ".join(LABELS.get(k, k) for k in cols) + " |",
             "| --- | " + " | ".join("---:" for _ in cols) + " |"]
    for fam in report["families"]:
        g = fam["growth"]
        lines.append(f"| {fam['family']} | " + " | ".join(f"{g[k]:.2f}" if k in g else "—" for k in cols) + " |")
    dropped = [f"{f['family']}: {'; '.join(f['dropped'])}" for f in report["families"] if f["dropped"]]
    lines += ["", "Conversation shape: " + ("every family rendered reasoning and tool calls as built." if not dropped
                                            else "features dropped where the template refused them: "
                                            + " / ".join(dropped))]
    return lines


def paths(report: dict[str, Any]) -> list[str]:
    rows = report.get("paths") or []
    if not rows:
        return []
    single = sum(r["single_render"] for r in rows)
    lines = ["", f"**Which templates render once.** {single} of {len(rows)} bundled templates are proved "
             "(`reference/proof.py`: an abstract interpretation of the template's Jinja AST showing that deleting the "
             "field markers from the marked render gives the real render); a conversation takes the single render "
             "when it also meets the proof's data assumptions (string content, no inline `</think>`, no reserved "
             "code points, none of the guard literals in its strings, distinct messages where the template compares "
             "them, object tool arguments where the proof needs them), else the reference renders twice and checks.",
             "", "| family | template | path | guards / why not |", "| --- | --- | --- | --- |"]
    for r in rows:
        detail = (", ".join(f"`{g}`" for g in r["guards"]) or "none") if r["single_render"] else r["reason"]
        extra = [x for x, on in (("distinct messages", r["distinct_messages"]),
                                 ("object arguments", r["objects_as_arguments"])) if on]
        lines.append(f"| {r['family']} | {r['variant']} | {'single' if r['single_render'] else 'double'} | "
                     f"{detail.replace('|', chr(92) + '|')}{'; ' + ', '.join(extra) if extra else ''} |")
    return lines


def breakdown(report: dict[str, Any]) -> list[str]:
    b = report.get("breakdown")
    if not b:
        return []
    return ["", f"**Where the reference's time goes** ({b['family']}, {b['turns']} turns, {b['tokens']:,} tokens, "
                f"median of {b['repetitions']}): " + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in b["seconds"].items())
            + f". {b['note']}"]


def dataset(report: dict[str, Any]) -> list[str]:
    d = report.get("dataset")
    if not d:
        return []
    if d.get("skipped"):
        return ["", "### Dataset preparation", "", f"Not measured: {d['skipped']}."]
    data, s = d["data"], d["summary"]
    lines = ["", "### Dataset preparation", "",
             f"{data['conversations']:,} synthetic conversations ({', '.join(f'{n} of {t} turns' for t, n in data['turns'].items())}; "
             f"{d['family']}, {d['template']}), JSON lines loaded with `datasets`, prepared with `datasets.map` and "
             f"the same `num_proc` for every method; each run is a fresh process (`conformance/bench/dataset_worker.py`), "
             f"methods interleaved, {d['repetitions']} repetition{'s' if d['repetitions'] != 1 else ''}, median seconds of the preparation itself (after "
             "imports and loading). The floor pipeline and lossmask map with a fixed `new_fingerprint`; TRL's own maps "
             "let `datasets` hash their functions (the tokenizer they hold), which is part of its time and shown apart. "
             "The floor pipeline and lossmask hand `datasets` one NumPy array per row and column (`LabelsMap`'s "
             "default: `datasets` writes those without scanning nested lists value by value); TRL's maps return "
             "lists, as its own code does. "
             "Peak memory is the largest resident set of the run's own process (`VmHWM`; and of its largest map "
             "worker).", "",
             "| method | workers | seconds | conversations/s | tokens | peak RSS MiB | largest worker MiB | "
             "hashing s |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in s["rows"].values():
        if "error" in row:
            lines.append(f"| {DATASET_LABELS[row['method']]} | {row['workers']} | failed: {row['error']} | | | | | |")
            continue
        lines.append(f"| {DATASET_LABELS[row['method']]} | {row['workers']} | {row['seconds']:.2f} | "
                     f"{row['conversations_per_s']:,.0f} | {row['tokens']:,} | {row['peak_rss_mib']:.0f} | "
                     f"{row['peak_worker_rss_mib'] or '—'} | {row.get('fingerprint_seconds', 0):.2f} |")
    r = s["throughput_ratios"]
    if r:
        lines += ["", "Throughput of lossmask's batched labels: "
                  + "; ".join(f"{v:.2f}× {'the floor pipeline' if 'floor' in k else 'TRL'}'s with {k.split('/')[1]} "
                              f"worker{'s' if k.split('/')[1] != '1' else ''}" for k, v in r.items())
                  + " (goals: ≥ 0.9× the floor pipeline, > 1× TRL)."]
    agree = d.get("agreement", {})
    if "trl" in agree:
        a = agree["trl"]
        diff = ", ".join(f"{n:,} {part}" for part, n in a.get("differing_tokens_by_part", {}).items()) or "none"
        sides = ", ".join(f"{k}: {n:,}" for k, n in a.get("differing_tokens_by_side", {}).items())
        lines += ["", f"Same masks? Token streams: {a['same_input_ids']:,} of {a['rows']:,} conversations identical "
                  f"to TRL's; labels identical on {a.get('same_labels', 0):,}. Differing tokens by the reference's "
                  f"part label: {diff}" + (f" ({sides})" if sides else "") + "."]
        matching = [name for name, n in a.get("same_labels_by_profile", {}).items() if n == a["rows"]]
        if a.get("same_labels_by_profile"):
            lines += ["", "Rows whose labels equal TRL's under each lossmask profile: "
                      + ", ".join(f"`{name}` {n:,}" for name, n in a["same_labels_by_profile"].items())
                      + (f" of {a['rows']:,} (" + ", ".join(f"`{m}`" for m in matching)
                         + " gives TRL's labels on every row)." if matching else f" of {a['rows']:,}.")]
    if "floor" in agree:
        lines += ["", f"Token streams identical to the floor pipeline's: {agree['floor']['same_input_ids']:,} of "
                  f"{agree['floor']['rows']:,}."]
    for note in d.get("notes", []):
        lines += ["", note]
    return lines


def conformance(report: dict[str, Any]) -> list[str]:
    suite = report.get("conformance")
    if not suite:
        return []
    return ["", f"**Conformance over all fixtures:** {suite['what']}: {suite['cases']} cases in "
                f"{suite['seconds']:.1f} s" + (f" ({', '.join(f'{n} {k}' for k, n in suite['verdicts'].items())})"
                                               if suite.get("verdicts") else "") + " (target < 60 s on 2 cores)."]


def markdown(report: dict[str, Any]) -> str:
    lines = [*header(report), *method(report), *ratios(report), *growth(report), *paths(report), *breakdown(report),
             *dataset(report), *conformance(report)]
    return "\n".join(lines) + "\n"
