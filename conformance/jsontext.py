"""JSON text that can always be written as UTF-8, whatever strings the data holds.

Why: a dataset line may hold a lone surrogate as a JSON escape (``"\\ud800"``); Python decodes it into a str
that UTF-8 cannot encode, so ``json.dumps(..., ensure_ascii=False)`` followed by a UTF-8 write fails. Such text
is written with ASCII escapes instead (still valid JSON, the same value when read back); everything else keeps
its readable UTF-8 form.
"""

from __future__ import annotations

import json
from typing import Any


def json_text(obj: Any, **kwargs: Any) -> str:
    """``json.dumps(obj, ensure_ascii=False, **kwargs)``, or with ASCII escapes when that is not UTF-8-safe."""
    text = json.dumps(obj, ensure_ascii=False, **kwargs)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, ensure_ascii=True, **kwargs)
    return text
