"""``audit --generator``: the generator runs in the same isolated worker processes as ``lossmask check``.

Why not in-process: a generator is arbitrary code. In the audit's own process it could ``sys.exit(0)`` (an
audit that ends green with no report), segfault, hang, print into ``--json -``, or change the tokenizer the
reference counts with. Here it is a :class:`~lossmask.runner.process.GeneratorProcess` (supervised process
tree, deadlines, memory limit, fresh tokenizer per sample) owned by each audit process; whatever it does on a
sample is an :class:`~lossmask.compare.Answer`, which the comparison core judges and the analysis counts. Any spec works, ``jsonl:`` included.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import UsageError
from ..compare import Answer, from_failure, from_response
from ..runner.limits import Limits
from ..runner.process import Failure, GeneratorProcess, command_for, worker_env


def tokenizer_dir(loaded: Any) -> str:
    """The directory the worker loads the tokenizer from: the bundled cache, or the user's directory."""
    from .. import assets

    source = loaded.source
    if source.startswith("bundled:"):
        return str(assets.materialize(source.removeprefix("bundled:")))
    if os.path.isdir(source):
        return os.path.abspath(source)
    raise UsageError(f"--generator with a hub tokenizer ({source}): save the tokenizer to a directory and pass "
                     "--tokenizer DIR, so the generator's worker can load the same files")


class IsolatedGenerator:
    """One generator worker process for one audit process, started on first use and restarted after a failure."""

    def __init__(self, spec: str, loaded: Any, limits: Limits) -> None:
        self.spec = spec
        self.limits = limits
        self.owner = os.getpid()
        self.proc = GeneratorProcess(spec, command_for(spec), worker_env(limits), limits)
        hello = self.proc.first_start()  # a generator that cannot start is a usage error, before any sample
        self.name = hello["name"]
        self.version = hello["version"]
        self.encoding = hello.get("encoding", "mask")  # our worker normalises; jsonl generators declare theirs
        self.declared_encoding = hello.get("declared_encoding", self.encoding)
        self.profile = hello.get("profile", "canonical")
        self.base = {"family": loaded.family, "variant": loaded.variant, "tokenizer_dir": tokenizer_dir(loaded),
                     "chat_template": loaded.chat_template}

    def __call__(self, index: int, messages: list, tools: list | None, kwargs: dict) -> Answer:
        """What the generator did on one sample, as an :class:`~lossmask.compare.Answer` (never raises for it)."""
        req = {"id": f"sample-{index}", **self.base, "messages": messages, "tools": tools, "template_kwargs": kwargs}
        try:
            self.proc.prepare(req)
            return from_response(self.proc.request(req, self.limits.timeout), self.encoding)
        except Failure as exc:
            return from_failure(exc.verdict, exc.message)

    def close(self) -> None:
        self.proc.stop()
