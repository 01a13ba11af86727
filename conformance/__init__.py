"""lossmask: a conformance suite for SFT loss masks (the harness; the reference is :mod:`lossmask.reference`).

``lossmask.__version__`` is the installed distribution's version (``lossmask-conformance``), read from its
metadata, so it cannot drift from the wheel. The Python API is documented in the README ("Python API").
"""

from importlib import metadata as _metadata

try:
    __version__: str = _metadata.version("lossmask-conformance")
except _metadata.PackageNotFoundError:  # a source tree on sys.path without installing it
    __version__ = "0+unknown"

__all__ = ["__version__"]
