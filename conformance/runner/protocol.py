"""The JSON-lines protocol spoken between the runner and every generator process (fixtures/schema/protocol.schema.json).

Python generators run in our own worker (:mod:`.worker`), which speaks the same protocol, so a hang, a crash or
a flood of output is handled the same way whatever language the generator is written in.
"""

from __future__ import annotations

import json
from typing import Any

from ..cases import schema

PROTOCOL = 1
#: A response line longer than this is a flood: the process is stopped and the case gets ``invalid_output``.
MAX_LINE = 64 * 1024 * 1024


def encode(obj: Any) -> bytes:
    """One protocol line. Strings holding lone surrogates (valid JSON escapes, not UTF-8) are sent escaped."""
    try:
        return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(obj, ensure_ascii=True, separators=(",", ":")) + "\n").encode("ascii")


def problems(kind: str, obj: Any) -> list[str]:
    """Schema violations of a ``handshake`` / ``request`` / ``response`` object, as ``$.path: message``."""
    from ..cases import json_path

    validator = schema("protocol")
    sub = validator.evolve(schema={"$ref": f"#/$defs/{kind}", **{k: v for k, v in validator.schema.items() if k == "$defs"}})
    return [f"{json_path(e.absolute_path)}: {e.message}" for e in sub.iter_errors(obj)]
