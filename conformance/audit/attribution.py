"""Per-sample environment attribution for ``audit --generator``, as ``lossmask check`` does per golden record.

Why: when the installed transformers' ``AutoTokenizer`` mis-tokenizes the audited tokenizer (``lossmask doctor``
finds it once per audit), a generator that loads the tokenizer the way users do gets other ids than the
reference on every affected sample. Counting those as ``generator-token-divergence`` would blame the generator
for the environment. A sample is judged ``environment`` only when the generator's ids are exactly what
``AutoTokenizer`` makes of the reference's render; any other difference stays the generator's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class SampleEnvironment:
    """The comparison core's environment check (:class:`lossmask.compare.core.EnvironmentCheck`) for one sample.

    ``notes``: the environment check's one-line finding; ``text``: the reference's render of the sample;
    ``user_tokenizer``: returns the tokenizer as ``AutoTokenizer`` loads it here (called at most once, and only
    for a token divergence).
    """

    def __init__(self, notes: tuple[str, ...], text: str, user_tokenizer: Callable[[], Any]) -> None:
        self._notes = list(notes)
        self._text = text
        self._user_tokenizer = user_tokenizer

    def notes(self, family: str) -> list[str]:
        return self._notes

    def explains(self, family: str, variant: str, case: str, ids: list[int]) -> bool:
        user = self._user_tokenizer()
        return list(ids) == list(user(self._text, add_special_tokens=False)["input_ids"])

    def refuses(self, family: str, variant: str, case: str) -> bool:
        return False  # the reference renders with this transformers too: a refusal here is the template's


def load_user_tokenizer(loaded: Any) -> Any:
    """``AutoTokenizer`` on the directory the generator's worker loads (the bundled cache, or the user's own)."""
    from .. import assets
    from .isolated import tokenizer_dir

    with assets.offline():
        return assets.auto_tokenizer(tokenizer_dir(loaded), local_files_only=True)
