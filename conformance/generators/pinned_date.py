"""The date transformers prints for a generator under test, in lossmask's own processes only.

Goldens are rendered with the date pinned (:data:`lossmask.reference.render.PINNED_DATE`). A generator under test
renders the template itself, usually through ``tokenizer.apply_chat_template``, which prints today's date on the
templates that show one (Llama 3.x, gpt-oss): its ids would differ from the goldens there for no fault of its
own. So the processes lossmask starts to run a generator (the runner's workers, the smoke and audit runs) make
transformers' own ``strftime_now`` return the pinned date for every template compiled in that process.

This is process-wide on purpose and therefore never done on import, nor by the reference, nor in a process
lossmask does not own (the pytest plugin runs generators in workers; API users' renders are left alone).
"""

from __future__ import annotations

import functools
import sys
from typing import Any

from lossmask.reference.render import pinned_strftime

_MARK = "_lossmask_pinned_date"


def pin_for_generators() -> None:
    """Pin ``strftime_now`` in every template transformers compiles from now on (and those it has cached)."""
    try:
        import transformers.tokenization_utils_base  # noqa: F401 - 4.x imports the compiler by name here
        from transformers.utils import chat_template_utils as ctu
    except ImportError:  # pragma: no cover - transformers is a dependency
        return
    original = ctu._compile_jinja_template
    if getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    def compile_pinned(chat_template: str) -> Any:
        compiled = original(chat_template)
        compiled.environment.globals["strftime_now"] = pinned_strftime
        compiled.globals["strftime_now"] = pinned_strftime
        return compiled

    setattr(compile_pinned, _MARK, True)
    # every transformers module holding the compiler (4.x: tokenization_utils_base imported it by name); modules
    # imported later import it from chat_template_utils, which then holds the pinned one
    for module in list(sys.modules.values()):
        # vars(), not getattr: transformers' lazy modules import submodules on attribute access (5.16.1: a lookup
        # on the top-level package imports models/aria, which needs torch)
        if (getattr(module, "__name__", "").startswith("transformers")
                and vars(module).get("_compile_jinja_template") is original):
            module._compile_jinja_template = compile_pinned
