"""The worker process for Python generators: ``python -m lossmask.runner.worker SPEC``.

It resolves the generator, prints a handshake, then answers one request per line. Protocol lines go to the
original stdout only; anything the generator prints is redirected to stderr so it cannot corrupt the stream.
Exceptions are answered per case (:func:`lossmask.compare.call`, the one exception mapping); a hang or a crash is the parent's to handle (it kills and restarts us).
"""

from __future__ import annotations

import os
import sys


def _protocol_stream():
    proto = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return proto


def main(argv: list[str]) -> int:
    proto = _protocol_stream()
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from ..compare import Answer, Answered, call, describe, to_response
    from ..generators import load
    from .protocol import PROTOCOL, encode

    _search_current_directory()
    from ..generators.pinned_date import pin_for_generators

    pin_for_generators()  # this process exists to run the generator: its renders print the goldens' date
    try:
        gen = load(argv[0])
    except Exception as exc:  # noqa: BLE001 - reported to the parent as a usage error
        proto.write(encode({"fatal": str(exc)}))
        return 2
    proto.write(encode({"protocol": PROTOCOL, "name": gen.name, "version": gen.version, "encoding": "mask",
                        "declared_encoding": gen.encoding, "profile": gen.profile}))
    from .. import assets
    import json

    for line in sys.stdin.buffer:
        req = json.loads(line)
        try:
            loaded = assets.load_bundled(req["family"], req["variant"])
        except Exception as exc:  # noqa: BLE001 - the parent loaded the same assets first, so this is rare
            answer = Answer(Answered.RAISED, f"worker could not load {req['family']}/{req['variant']}: {describe(exc)}")
        else:
            answer = call(gen, loaded.tokenizer, req["messages"], req.get("tools"), req.get("template_kwargs"))
        proto.write(encode(to_response(answer, req["id"])))
    return 0


def _search_current_directory() -> None:
    """Let ``module:function`` specs find modules in the current directory, as ``python -m`` would, but only once
    lossmask and what it renders with are imported: the parent starts us with ``-P``, so a user's own
    ``reference``/``conformance``/``lossmask`` or ``transformers`` folder cannot shadow them."""
    import jinja2  # noqa: F401
    from transformers import AutoTokenizer  # noqa: F401

    from .. import assets  # noqa: F401

    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
