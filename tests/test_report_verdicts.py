"""Every verdict the comparison core produces, as each report shows it: terminal, JSON, JUnit and the HTML page.

The outcomes come from the core itself (:func:`lossmask.compare.compare` on real qwen2_5 goldens with one crafted
answer per verdict, :func:`lossmask.compare.not_judged` for the harness's own failures), so a verdict the core
adds or renames shows up here. What each report must say is written out below from the counting rules, not read
back from the report code. JUnit times: a generator that takes seconds to import gets none of it in a case's time.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from collections import Counter
from html.parser import HTMLParser

import pytest
from rich.console import Console

from lossmask import assets
from lossmask import environment as E
from lossmask import golden as G
from lossmask.compare import Answer, Answered, Verdict, compare, not_judged
from lossmask.runner import Selection, reports, run
from lossmask.runner.causes import failure_groups
from lossmask.runner.engine import HARNESS_ERROR, Run
from lossmask.runner.html_report import case_anchor, render_html
from lossmask.runner.terminal import print_run
from lossmask.runner.verdict import Result

from .generators import slow_start

FAMILY, VARIANT = "qwen2_5", "default"
#: The environment finding of this synthetic run: AutoTokenizer mis-tokenizes qwen2_5 (as tests/test_environment.py).
FINDING = "loads it as LlamaTokenizer and 3 of 10 fixture texts get other ids"


def _record(case: str):
    return G.load_record(FAMILY, VARIANT, case)


def _decode(ids):
    return assets.load_bundled(FAMILY, VARIANT).tokenizer.decode(ids, skip_special_tokens=False)


def _flip_separator(record):
    mask = list(record.mask("canonical"))
    i = record.segments.index("separator")
    mask[i] = 1
    return mask


@pytest.fixture(scope="module")
def every_verdict():
    """One record per verdict (two not_judged: no golden, and the harness failing while judging)."""
    diverged = _record("system_prompt")
    env_ids = list(diverged.input_ids[:-1])
    health = E.FamilyHealth(FAMILY, E.TOKENIZES_DIFFERENTLY, E.Tokenization("LlamaTokenizer", 10, 3), renders=2,
                            fix="load with PreTrainedTokenizerFast",
                            environment_ids={f"{VARIANT}/system_prompt": [env_ids]})
    env = E.Environment({"transformers": "9.9.9", "tokenizers": "0.0.1", "jinja2": "3"}, "main", None, (health,))
    ok = dict(env=None)

    def returned(case, ids=None, mask=None, **kw):
        r = _record(case)
        return compare(r, Answer.returned(ids if ids is not None else r.input_ids,
                                          mask if mask is not None else r.mask("canonical")),
                       "canonical", _decode, **kw)

    plain = _record("plain_answer")
    longer = _record("inline_think")
    outcomes = {
        "plain_answer": returned("plain_answer", **ok),
        "inline_think": returned("inline_think", mask=_flip_separator(longer), **ok),
        "multiline_code": returned("multiline_code", ids=[*_record("multiline_code").input_ids, plain.input_ids[-1]],
                                   mask=[*_record("multiline_code").mask("canonical"), 1], **ok),
        "reasoning_content": compare(_record("reasoning_content"), Answer(Answered.WRONG_LENGTH,
                                     "mask has 42 values for 43 input ids"), "canonical"),
        "thinking_disabled": compare(_record("thinking_disabled"), Answer(Answered.INVALID,
                                     "mask value 2 at index 3 is not 0 or 1"), "canonical"),
        "user_last": compare(_record("user_last"), Answer(Answered.RAISED, "RuntimeError: boom"), "canonical"),
        "three_turns_system": compare(_record("three_turns_system"), Answer(Answered.CRASHED,
                                      "the generator process died (signal 6, SIGABRT)"), "canonical"),
        "three_turns_no_system": compare(_record("three_turns_no_system"), Answer(Answered.TIMED_OUT,
                                         "no answer within 2 s; the process was stopped"), "canonical"),
        "single_call": compare(_record("single_call"), Answer(Answered.DECLINED, "tool calls are not supported"),
                               "canonical"),
        "content_parts": compare(_record("content_parts"), Answer(Answered.RAISED, "TypeError: list + str"),
                                 "canonical"),
        "system_prompt": returned("system_prompt", ids=env_ids, mask=list(diverged.mask("canonical")[:-1]), env=env),
        "cjk_and_emoji": not_judged("fixtures/cases/cjk_and_emoji.json: no golden for qwen2_5/default"),
        "null_content": not_judged(f"{HARNESS_ERROR}: KeyError: 'offsets'"),
    }
    cases = {c.id: c for c in __import__("lossmask.cases", fromlist=["load_cases"]).load_cases()}
    results = [Result(case=c, family=FAMILY, variant=VARIANT, category=cases[c].category, outcome=o, seconds=0.01)
               for c, o in outcomes.items()]
    return Run("synthetic", {"name": "every-verdict", "version": "1", "spec": "synthetic", "encoding": "mask",
                             "profile": "canonical", "restarts": 0}, "canonical", results, 1.0, env)


#: What the core must have made of each crafted answer (the counting rules in the README).
EXPECTED = {
    "plain_answer": "pass", "inline_think": "mask_mismatch", "multiline_code": "token_divergence",
    "reasoning_content": "length_mismatch", "thinking_disabled": "invalid_output", "user_last": "error",
    "three_turns_system": "error", "three_turns_no_system": "timeout", "single_call": "unsupported",
    "content_parts": "refused_agree", "system_prompt": "environment", "cjk_and_emoji": "not_judged",
    "null_content": "not_judged",
}


def test_the_synthetic_run_has_every_verdict_the_core_produces(every_verdict):
    assert {r.case: r.verdict.value for r in every_verdict.results} == EXPECTED
    assert set(EXPECTED.values()) == {v.value for v in Verdict}  # a new verdict must be added here


def test_json_summary_counts_and_causes_cover_every_failing_verdict(every_verdict):
    data = json.loads(reports.json_text(every_verdict))
    s = data["summary"]
    assert (s["total"], s["declined"], s["not_judged"], s["ran"]) == (13, 1, 2, 10)
    assert (s["passed"], s["refused_agree"], s["environment"], s["failed"]) == (1, 1, 1, 7)
    failing = {r["case"] for r in data["results"] if r["verdict"] not in ("pass", "unsupported", "refused_agree")}
    grouped = [k.rsplit("/", 1)[1] for c in s["causes"] for k in c["cases"]]
    assert sorted(grouped) == sorted(failing)  # every failing record in exactly one cause, environment and not_judged too
    by_verdict = Counter(c["verdict"] for c in s["causes"])
    assert by_verdict["error"] == 2  # two different error texts are two causes
    assert by_verdict["not_judged"] == 2  # "no golden" and a harness error are different causes


def test_junit_writes_each_verdict_as_ci_counts_it(every_verdict):
    root = ET.fromstring(reports.junit_xml(every_verdict).split("\n", 1)[1])
    kinds = {}
    for case in root.iter("testcase"):
        child = list(case)
        kinds[case.get("name").split("/", 1)[1]] = (child[0].tag, child[0].get("type")) if child else ("pass", None)
    want_tag = {"pass": "pass", "unsupported": "skipped", "refused_agree": "skipped", "error": "error",
                "timeout": "error", "not_judged": "error"}
    for case, verdict in EXPECTED.items():
        assert kinds[case] == (want_tag.get(verdict, "failure"), None if verdict == "pass" else verdict), case
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("13", "5", "5", "2")
    body = {c.get("name").split("/", 1)[1]: c[0].text or "" for c in root.iter("testcase") if len(c)}
    assert "RuntimeError: boom" in body["user_last"] and "> #" in body["inline_think"]
    assert "first difference at token #" in body["multiline_code"]


class CaseBlocks(HTMLParser):
    """Per ``details.case``: the classes used inside it and the text of its ``.said`` block; links by section."""

    def __init__(self, text):
        super().__init__()
        self.classes, self.said, self.links, self.text_of, self.badge = {}, {}, Counter(), {}, {}
        self._case, self._depth, self._said, self._capture, self._section = None, 0, None, None, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "section":
            self._section = a.get("id")
        if tag == "details" and "case" in classes:
            self._case, self._depth = a["id"], 0
            self.classes[self._case] = set()
        elif tag == "details" and self._case:
            self._depth += 1
        if self._case:
            self.classes[self._case].update(classes)
            if "v" in classes:
                self.badge.setdefault(self._case, set(classes))
            if "said" in classes:
                self._said, self.said[self._case] = tag, ""
        if tag == "a" and a.get("href", "").startswith("#") and self._section == "causes":
            self.links[a["href"][1:]] += 1
        if "id" in a and a["id"] in ("totals", "environment"):
            self._capture, self.text_of[a["id"]] = (tag, a["id"]), ""

    def handle_endtag(self, tag):
        if self._said == tag:
            self._said = None
        if self._capture and self._capture[0] == tag:
            self._capture = None
        if tag == "details" and self._case:
            if self._depth:
                self._depth -= 1
            else:
                self._case = None

    def handle_data(self, data):
        if self._said and self._case:
            self.said[self._case] += data
        if self._capture:
            self.text_of[self._capture[1]] += data


def test_the_html_page_shows_every_verdict_where_a_maintainer_looks(every_verdict):
    page = CaseBlocks(render_html(every_verdict))
    results = {r.case: r for r in every_verdict.results}
    failing = [c for c, v in EXPECTED.items() if v not in ("pass", "unsupported", "refused_agree")]
    assert sorted(results[c].family + c for c in failing) == sorted(FAMILY + c for c in failing)
    assert set(page.classes) == {case_anchor(results[c]) for c in failing}  # a block per failing record, no more
    for c in failing:
        anchor = case_anchor(results[c])
        assert page.links[anchor] >= 1, c  # one click from the summary by cause
        if EXPECTED[c] in ("mask_mismatch", "token_divergence"):
            assert "said" not in page.classes[anchor]
            continue
        # an error, timeout, invalid answer, environment or harness failure shows what happened, not mask colours
        assert page.said[anchor] == results[c].message, c
        assert not page.classes[anchor] & {"render", "both", "expected", "generator", "stream"}, c
    assert {"render", "both", "generator", "d"} <= page.classes[case_anchor(results["inline_think"])]
    assert "stream" in page.classes[case_anchor(results["multiline_code"])]
    for c in failing:  # the generator's failures are red badges; the two failing verdicts not its own have theirs
        own = EXPECTED[c] in ("environment", "not_judged")
        assert page.badge[case_anchor(results[c])] == ({"v", EXPECTED[c]} if own else {"v"}), c
    totals = " ".join(page.text_of["totals"].split())
    assert "7 failed" in totals and "1 environment" in totals and "2 not judged" in totals
    assert "1 unsupported" in totals and "1 refused_agree" in totals and "1 passed" in totals
    assert FINDING in page.text_of["environment"] and "1 record judged" in page.text_of["environment"]
    groups = failure_groups(every_verdict.results)
    assert sum(len(g.results) for g in groups) == len(failing) == 10


def test_terminal_summary_names_every_cause_and_what_is_not_the_generators(every_verdict):
    out = io.StringIO()
    print_run(Console(file=out, width=200, color_system=None), every_verdict, max_failures=0)
    text = out.getvalue()
    assert "10 failing records, 10 causes (7 the generator's, 1 explained by the environment, 2 not judged" in text
    for g in failure_groups(every_verdict.results):
        assert f"{g.cause.verdict} {g.cause.title}"[:60] in text
    assert "error raises RuntimeError: boom" in text  # the generator's own words
    assert "error the generator process fails: the generator process died (signal 6" in text  # not "raises"
    line = next(x for x in text.splitlines() if x.startswith("environment qwen2_5: under transformers 9.9.9 "))
    assert FINDING in line and "1 record judged `environment`" in line
    assert "13 cases in 1.0 s: 1 passed of 10 that ran (1 declined, 1 refused like the template)" in text


def test_case_times_leave_out_the_generators_start_up(tmp_path):
    outcome = run("tests.generators.slow_start:generate",
                  Selection(families=[FAMILY], case_ids=["plain_answer", "user_last", "system_prompt"]), jobs=1)
    assert outcome.generator["startup_seconds"] >= slow_start.STARTUP_SECONDS
    assert {r.verdict for r in outcome.results} == {Verdict.PASS}
    root = ET.fromstring(reports.junit_xml(outcome).split("\n", 1)[1])
    times = [float(c.get("time")) for c in root.iter("testcase")]
    assert len(times) == 3 and all(0 < t < slow_start.STARTUP_SECONDS for t in times), times
    assert [r.seconds for r in outcome.results] == pytest.approx(times, abs=0.001)


def test_prepare_compiles_the_chat_template_so_the_first_case_does_not_pay_for_it(monkeypatch):
    """transformers compiles a chat template once per process; the worker does it while preparing (untimed), so
    the first case of a template is timed like every other (counted by jinja2 compilations, not by a clock)."""
    import uuid

    import jinja2

    from lossmask.cases import load_cases
    from lossmask.reference.render import render
    from lossmask.runner.worker import Tokenizers

    compiled: list[str] = []
    original = jinja2.Environment.from_string

    def counting(self, source, *args, **kwargs):
        compiled.append(source if isinstance(source, str) else "")
        return original(self, source, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "from_string", counting)
    # a template string this process has never compiled (transformers' cache is keyed by the template text)
    template = assets.bundled_template(FAMILY, VARIANT) + "{# " + uuid.uuid4().hex + " #}"
    req = {"family": FAMILY, "variant": VARIANT, "tokenizer_dir": str(assets.materialize(FAMILY)),
           "chat_template": template}
    state = Tokenizers().prepare(req)
    assert any(template in s for s in compiled)  # as apply_chat_template and as the reference's render compile it
    case = next(c for c in load_cases() if c.id == "plain_answer")
    compiled.clear()
    state.fresh().apply_chat_template(case.messages, tokenize=False)
    render(state.fresh(), template, case.messages)
    assert not any(template in s for s in compiled)  # each case render found its template compiled
