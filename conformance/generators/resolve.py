"""Resolve a generator SPEC: ``reference``, an entry point in group ``lossmask.generators``, ``module:function``,
``path/to/file.py:function``, or ``jsonl:COMMAND ...`` (a subprocess speaking JSON lines, any language).

Every failure to resolve is a :class:`UsageError` (exit 2 from the CLI) naming the spec and what was tried.
"""

from __future__ import annotations

import importlib
import importlib.util
import shlex
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from ..errors import UsageError
from .normalise import ENCODINGS, Unsupported, normalise

GROUP = "lossmask.generators"


@dataclass
class Generator:
    """A resolved generator: call it with a tokenizer and a case; get normalised ``(ids, mask)``."""

    spec: str
    name: str
    version: str
    encoding: str = "mask"
    profile: str = "canonical"
    fn: Callable[..., Any] | None = None
    #: For ``jsonl:`` generators: the command line to start.
    command: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "jsonl" if self.command else "python"

    def __call__(self, tokenizer: Any, messages: list[dict], tools: list[dict] | None = None,
                 template_kwargs: dict | None = None) -> tuple[list[int], list[int]]:
        if self.fn is None:
            raise UsageError(f"generator {self.spec!r} runs as a subprocess; use the runner")
        try:
            result = self.fn(tokenizer, messages, tools, **(template_kwargs or {}))
        except NotImplementedError as exc:
            raise Unsupported(str(exc) or "declined by the generator") from None
        return normalise(result, self.encoding)


def _dist_version(module: str) -> str:
    top = module.split(".")[0]
    for dist in metadata.packages_distributions().get(top, []):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    mod = sys.modules.get(top)
    return str(getattr(mod, "__version__", "unknown"))


def _from_callable(spec: str, fn: Any, module: str, default_name: str) -> Generator:
    if not callable(fn):
        raise UsageError(f"generator {spec!r}: {default_name} is a {type(fn).__name__}, not a function")
    encoding = getattr(fn, "lossmask_encoding", "mask")
    if encoding not in ENCODINGS:
        raise UsageError(f"generator {spec!r} declares lossmask_encoding={encoding!r}; known: {', '.join(ENCODINGS)}")
    return Generator(spec=spec, name=getattr(fn, "lossmask_name", default_name),
                     version=str(getattr(fn, "lossmask_version", None) or _dist_version(module)),
                     encoding=encoding, profile=getattr(fn, "lossmask_profile", "canonical"), fn=fn)


def _load_file(spec: str, path: str, attr: str) -> Generator:
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"generator {spec!r}: no such file {p}")
    name = f"lossmask_user_generator_{abs(hash(str(p.resolve())))}"
    module_spec = importlib.util.spec_from_file_location(name, p)
    module = importlib.util.module_from_spec(module_spec)  # type: ignore[arg-type]
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)  # type: ignore[union-attr]
    except Exception as exc:
        raise UsageError(f"generator {spec!r}: importing {p} failed: {type(exc).__name__}: {exc}") from None
    if not hasattr(module, attr):
        raise UsageError(f"generator {spec!r}: {p} has no attribute {attr!r}")
    return _from_callable(spec, getattr(module, attr), name, f"{p.stem}:{attr}")


def _load_module(spec: str, module_name: str, attr: str) -> Generator:
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"generator {spec!r}: cannot import {module_name!r} ({exc})") from None
    except Exception as exc:
        raise UsageError(f"generator {spec!r}: importing {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"generator {spec!r}: module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return _from_callable(spec, obj, module_name, spec)


def entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=GROUP)}


def load(spec: str) -> Generator:
    """Resolve ``spec`` (see the module docstring) into a :class:`Generator`."""
    spec = spec.strip()
    if not spec:
        raise UsageError("empty generator spec")
    if spec.startswith("jsonl:"):
        command = shlex.split(spec[len("jsonl:"):])
        if not command:
            raise UsageError(f"generator {spec!r}: no command after 'jsonl:'")
        return Generator(spec=spec, name=Path(command[-1]).name, version="(from handshake)", command=command)
    if ":" in spec:
        target, attr = spec.rsplit(":", 1)
        if target.endswith(".py") or "/" in target:
            return _load_file(spec, target, attr)
        return _load_module(spec, target, attr)
    eps = entry_points()
    if spec in eps:
        ep = eps[spec]
        try:
            fn = ep.load()
        except Exception as exc:
            raise UsageError(f"generator {spec!r}: entry point {ep.value} failed to load: {type(exc).__name__}: {exc}") from None
        gen = _from_callable(spec, fn, ep.module, spec)
        if ep.dist is not None:
            gen.version = str(getattr(fn, "lossmask_version", None) or ep.dist.version)
        return gen
    known = ", ".join(sorted(eps)) or "none installed"
    raise UsageError(f"unknown generator {spec!r}: not an entry point in {GROUP} ({known}), "
                     f"not module:function, not path.py:function, not jsonl:COMMAND")
