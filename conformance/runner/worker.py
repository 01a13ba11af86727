"""The worker process for Python generators: ``python -m lossmask.runner.worker SPEC``.

It resolves the generator, prints a handshake, then answers one request per line. The protocol channel is
moved off fds 0/1 to descriptors that are not inherited (``O_CLOEXEC``) before any generator code runs: fd 0
becomes ``/dev/null`` and fd 1 a copy of stderr, so neither what the generator prints nor a program it starts
can write a protocol line. Each case gets a fresh tokenizer (:mod:`.tokenizer_state`); loading one is a
separate, untimed ``prepare`` request. Exceptions are answered per case (:func:`lossmask.compare.call`, the one
exception mapping); a hang or a crash is the parent's to handle (it kills the tree and restarts us).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, BinaryIO


def _protocol_streams() -> tuple[BinaryIO, BinaryIO]:
    """(requests, responses) on private non-inheritable fds; fds 0/1 no longer reach the harness."""
    requests = os.fdopen(os.dup(0), "rb")  # os.dup: non-inheritable (O_CLOEXEC)
    responses = os.fdopen(os.dup(1), "wb", buffering=0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    sys.stdout = sys.stderr
    return requests, responses


class Tokenizers:
    """The pristine tokenizer of each (tokenizer_dir, chat template) this worker was asked to prepare."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, str], Any] = {}

    def prepare(self, req: dict[str, Any]) -> Any:
        from .. import assets
        from .tokenizer_state import PristineTokenizer

        key = (req["tokenizer_dir"], req["chat_template"])
        if key not in self.by_key:
            family, variant, directory = req["family"], req["variant"], req["tokenizer_dir"]
            bundled = family in assets.families() and os.path.realpath(directory) == os.path.realpath(
                assets.materialize(family))

            def read() -> Any:
                tok = (assets.read_bundled_tokenizer(family) if bundled
                       else assets.load_directory(directory).tokenizer)
                tok.chat_template = req["chat_template"]
                return tok

            if bundled and variant in assets.family(family).variant_names \
                    and assets.bundled_template(family, variant) == req["chat_template"]:
                first = assets.load_bundled(family, variant).tokenizer
            else:
                first = read()
            self.by_key[key] = PristineTokenizer(first, read)
            compile_chat_template(self.by_key[key].fresh())
        return self.by_key[key]


#: The conversation the reference's render is warmed with (any will do: compiling precedes rendering).
WARM_UP = [{"role": "user", "content": "x"}]


def compile_chat_template(tokenizer: Any) -> None:
    """Compile the chat template now, in the untimed prepare step.

    Why: transformers caches a compiled template per process, so without this the first case of every template
    pays the Jinja compilation (0.1-0.5 s on this machine, the rest of a template's cases a few ms), a start-up
    cost no later case has. Two compilations: the template itself, into the cache ``apply_chat_template`` reads
    (:func:`~lossmask.reference.render.check_template`: compiled, never rendered, after the render limits' scan
    for constants that explode at compile time), and the reference's own date-pinned, bounded copy through its
    render (the reference generator and generators built on ``lossmask.reference`` render through it; the render
    limits bound it). Both run on a throw-away tokenizer copy; whatever they raise (a template that does not
    compile, or refuses this conversation) is the case's business, judged when the case runs.
    """
    from lossmask.reference.render import check_template, render

    for warm in (lambda: check_template(tokenizer.chat_template),
                 lambda: render(tokenizer, tokenizer.chat_template, WARM_UP)):
        try:
            warm()
        except Exception:  # noqa: BLE001, S110 - a warm-up only; each case meets the same error and is judged
            pass


def answer(gen: Any, tokenizers: Tokenizers, req: dict[str, Any]) -> dict[str, Any]:
    """The protocol response to one request: a ``prepare`` (load the tokenizer) or a case."""
    from ..compare import Answered, call, to_response

    if req.get("prepare"):
        try:
            tokenizers.prepare(req)
        except Exception as exc:  # noqa: BLE001 - the harness reports it for the cases that needed it
            return {"id": req["id"], "error": f"{type(exc).__name__}: {exc}"}
        return {"id": req["id"], "prepared": True}
    state = tokenizers.prepare(req)
    result = call(gen, state.fresh(), req["messages"], req.get("tools"), req.get("template_kwargs"))
    if result.kind is Answered.RAISED and result.message.startswith("MemoryError"):
        result = type(result)(result.kind, f"{result.message} (the generator reached its memory limit; "
                                           "see --memory-limit)")
    changed = state.restore_if_changed()
    if changed:
        print(f"lossmask worker: case {req['id']} changed the tokenizer backend ({', '.join(changed)}); "
              "reloaded it for the next case", file=sys.stderr)
    return to_response(result, req["id"])


def main(argv: list[str]) -> int:
    requests, responses = _protocol_streams()
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from ..generators import load
    from .protocol import PROTOCOL, encode

    _search_current_directory()
    from ..generators.pinned_date import pin_for_generators

    pin_for_generators()  # this process exists to run the generator: its renders print the goldens' date
    try:
        gen = load(argv[0])
    except BaseException as exc:  # noqa: BLE001 - SystemExit at import included: reported as a usage error
        message = str(exc) if isinstance(exc, Exception) and str(exc).startswith(("generator", "unknown generator")) \
            else f"generator {argv[0]!r}: loading it raised {type(exc).__name__}: {exc}"
        responses.write(encode({"fatal": message}))
        return 2
    responses.write(encode({"protocol": PROTOCOL, "name": gen.name, "version": gen.version, "encoding": "mask",
                            "declared_encoding": gen.encoding, "profile": gen.profile, "prepare": True}))
    tokenizers = Tokenizers()
    for line in requests:
        req = json.loads(line)
        try:
            out = answer(gen, tokenizers, req)
        except BaseException as exc:  # noqa: BLE001 - SystemExit/KeyboardInterrupt from generator code
            out = {"id": req["id"], "error": f"{type(exc).__name__}: {exc} (raised by the generator)"}
        try:
            data = encode(out)
        except (TypeError, ValueError) as exc:
            data = encode({"id": req["id"], "invalid": f"the generator's output cannot be sent: {exc}",
                           "kind": "invalid_output"})
        responses.write(data)
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
