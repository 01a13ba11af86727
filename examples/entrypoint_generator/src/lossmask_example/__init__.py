"""An example third-party mask generator, discoverable by ``lossmask check example-labels`` once installed."""

from .generator import labels

__all__ = ["labels"]
