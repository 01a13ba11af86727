"""One comparison core: (golden record, generator answer) → typed :class:`Outcome`.

:func:`call` / :func:`from_response` / :func:`from_failure` turn what a generator did into an :class:`Answer`;
:func:`compare` judges it against a :class:`~lossmask.record.GoldenRecord`; :class:`Tally` counts outcomes under
the counting rules. ``lossmask check``, the pytest plugin, ``lossmask audit --generator``, ``lossmask smoke``
and PEERS.md all go through here.
"""

from .answer import call, describe, from_failure, from_response, to_response
from .core import compare, not_judged
from .counts import Tally
from .explain import first_difference
from .outcome import FAILING, VERDICTS, Answer, Answered, Outcome, TextOp, TokenRow, Verdict

__all__ = [
    "FAILING", "VERDICTS", "Answer", "Answered", "Outcome", "Tally", "TextOp", "TokenRow", "Verdict", "call",
    "compare", "describe", "first_difference", "from_failure", "from_response", "not_judged", "to_response",
]
