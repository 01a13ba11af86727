"""pytest integration: run the conformance suite inside a framework's own CI.

    pytest --lossmask-generator mypkg.masks:get_loss_mask [--lossmask-profile P] [--lossmask-family F]

adds one test per (family, variant, case), each failing with the runner's explanation. For tests of your own,
:func:`parametrize_cases` parametrizes over our cases and :func:`golden` gives the expected record.
"""

from .helpers import golden, parametrize_cases

__all__ = ["golden", "parametrize_cases"]
