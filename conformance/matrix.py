"""The conformance matrix as data: which (transformers, tokenizers) pairs are tested, and which goldens each reads.

Defined once, here, and read by ``noxfile.py`` (one ``conformance`` cell per :data:`CELLS` entry), by
:mod:`lossmask.golden` (which ``_lines/`` overrides apply to the installed transformers), by ``lossmask doctor``
and by anything that warns about an environment outside the tested matrix (:func:`in_matrix`).

Stdlib only and no package-relative imports: ``noxfile.py`` loads this file by path, outside any venv.

A *behaviour line* is a range of transformers releases on which every bundled (family, variant, case) renders
and tokenizes the same. The main goldens (``fixtures/golden/<family>/...``) belong to :data:`GOLDEN_LINE`; every
other line keeps, under ``fixtures/golden/_lines/<line>/``, only the records that differ there. The ranges come
from a bisection over every release line 4.51 … 5.24 (FIXTURES.md, "Version lines", has the table and the causes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    """One matrix cell: a transformers release and the tokenizers release it resolves to (the newest it allows)."""

    id: str
    transformers: str
    tokenizers: str
    why: str


@dataclass(frozen=True)
class Line:
    """transformers releases ``first`` ≤ v < ``until`` (``until`` None: no upper bound yet) share these goldens."""

    name: str
    first: str
    until: str | None
    why: str

    def holds(self, version: str) -> bool:
        v = parse(version)
        return parse(self.first) <= v and (self.until is None or v < parse(self.until))


#: The cells CI runs, oldest first. Each pins the tokenizers release a fresh ``pip install transformers==X``
#: resolves to (the newest its requirement allows), so every cell is a pair users actually get.
CELLS: tuple[Cell, ...] = (
    Cell("tf4.51", "4.51.3", "0.21.4", "the oldest transformers this package supports (pyproject: >=4.51)"),
    Cell("tf4.57", "4.57.6", "0.22.2", "the last 4.x release"),
    Cell("tf5.6", "5.6.0", "0.22.2", "LLaMA-Factory 0.9.5 pins it"),
    Cell("tf5.10", "5.10.4", "0.22.2", "verl 0.9.1 resolves to it"),
    Cell("tf5.16", "5.16.1", "0.23.3", "axolotl 0.19.0 pins it"),
    Cell("tf5.22", "5.22.2", "0.23.3", "the only cell on the 5.21-5.22 behaviour line, so its overrides are tested"),
    Cell("tf5.23", "5.23.0", "0.23.3", "the goldens were made with it"),
    Cell("tf5.24", "5.24.0", "0.23.3", "the newest release (rewrote return_assistant_tokens_mask)"),
)

#: The cell the ``tests`` session (and every other single-environment session) runs on.
LATEST: Cell = CELLS[-1]

#: The line the main goldens were generated on (``nox -s regenerate`` installs it).
GOLDEN_CELL: Cell = next(c for c in CELLS if c.id == "tf5.23")

#: The behaviour lines that have overrides, newest first. A version in none of them reads the main goldens.
LINES: tuple[Line, ...] = (
    Line("transformers-4.51-5.20", "4.51", "5.21",
         "reasoning_content is passed as given, so gpt-oss's template (it reads `thinking`) drops it; None-valued "
         "keys reach the templates (content: null raises or refuses with other messages)"),
    Line("transformers-5.21-5.22", "5.21", "5.23",
         "5.21.0 aliases reasoning_content/thinking/reasoning to each other before rendering; None-valued keys "
         "still reach the templates until 5.23.0 drops them in apply_chat_template"),
)


def parse(version: str) -> tuple[int, ...]:
    """``"5.16.1"`` → ``(5, 16, 1)``; pre-release and local suffixes are ignored (``5.0.0rc1`` → ``(5, 0, 0)``)."""
    out = []
    for part in version.split(".")[:3]:
        m = re.match(r"\d+", part)
        if not m:
            break
        out.append(int(m.group()))
    return tuple(out)


def line_for(transformers: str) -> str | None:
    """The override line for this transformers version, or None for the main goldens' line."""
    for line in LINES:
        if line.holds(transformers):
            return line.name
    return None


def cell_for(transformers: str, tokenizers: str) -> Cell | None:
    """The matrix cell with exactly this pair, or None when the pair is outside the tested matrix."""
    return next((c for c in CELLS if c.transformers == transformers and c.tokenizers == tokenizers), None)


def in_matrix(transformers: str, tokenizers: str) -> bool:
    return cell_for(transformers, tokenizers) is not None


@dataclass(frozen=True)
class Mistokenization:
    """transformers ``first`` ≤ v < ``until`` (None: no upper bound yet): ``AutoTokenizer`` on the tokenizer files
    alone builds ``loaded_class`` for ``family`` and gets other ids than the tokenizer file's own encoding (found by
    the bisection; ``lossmask doctor`` reports it).

    ``model_type`` is the upstream model's ``config.json`` ``model_type``. From ``model_dir_from`` on (None: never
    on the lines measured), the same files beside a config.json naming it, as in a model repository, load as
    ``TokenizersBackend`` with the file's ids: transformers maps that model type past the config's class. Users
    who load a tokenizer-only directory or repository (``tokenizer.save_pretrained`` writes no config.json) still
    get ``loaded_class``."""

    family: str
    loaded_class: str
    first: str
    until: str | None
    why: str
    model_type: str = ""
    model_dir_from: str | None = None

    def holds(self, version: str) -> bool:
        v = parse(version)
        return parse(self.first) <= v and (self.until is None or v < parse(self.until))

    def model_dir_right(self, version: str) -> bool:
        return self.model_dir_from is not None and parse(version) >= parse(self.model_dir_from)


MISTOKENIZATIONS: tuple[Mistokenization, ...] = (
    Mistokenization("deepseek_v3", "LlamaTokenizer", "5.2", "5.22",
                    "the config names LlamaTokenizerFast; v5's LlamaTokenizer installs a Metaspace pre-tokenizer and "
                    "decoder over the file's ByteLevel ones (transformers PR #48219/#48317 route byte-level Llama "
                    "configs to TokenizersBackend)",
                    model_type="deepseek_v3", model_dir_from="5.7"),
    Mistokenization("olmo2", "GPT2Tokenizer", "5.2", None,
                    "the config names GPT2Tokenizer; from 5.2.0 AutoTokenizer builds v5's GPT2Tokenizer, which "
                    "sets a bare ByteLevel pre-tokenizer (the GPT-2 regex) over the file's Split (cl100k regex) + "
                    "ByteLevel; all 70 olmo2 golden texts differ on 5.2.0-5.24.0 (transformers #45920); 4.57.6 "
                    "GPT2TokenizerFast and 5.0-5.1 TokenizersBackend agree. A model directory loads right from "
                    "5.13.0, where the olmo2 model type maps to TokenizersBackend",
                    model_type="olmo2", model_dir_from="5.13"),
)


def mistokenization(family: str, transformers: str) -> Mistokenization | None:
    """The recorded mis-tokenization of ``family`` on this transformers version, if any."""
    return next((m for m in MISTOKENIZATIONS if m.family == family and m.holds(transformers)), None)


def model_type_of(family: str) -> str:
    """The upstream model's ``model_type`` where the bisection recorded it (for the model-directory load), or ""."""
    return next((m.model_type for m in MISTOKENIZATIONS if m.family == family and m.model_type), "")


def autotokenizer_differs(transformers: str) -> dict[str, str]:
    """family → the class AutoTokenizer builds on the tokenizer files alone, for the families it mis-tokenizes on
    this version (a family that is not bundled in this checkout is listed too: callers intersect with what they
    have)."""
    return {m.family: m.loaded_class for m in MISTOKENIZATIONS if m.holds(transformers)}
