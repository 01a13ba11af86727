import os

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

# This test process is lossmask's own and compares the reference with transformers' own renders
# (apply_chat_template) on templates that print today's date: make those print the goldens' date, as the
# runner's workers do. What a user's process sees is tested in a fresh interpreter (tests/test_side_effects.py).
from lossmask.generators.pinned_date import pin_for_generators  # noqa: E402

pin_for_generators()


def pytest_report_header(config):
    import lossmask

    return f"lossmask: imported from {os.path.dirname(lossmask.__file__)}"


def pytest_terminal_summary(terminalreporter):
    """Print (and cache as JSON) how many examples the property-based fuzzer ran per family, when it ran."""
    import sys

    report = sys.modules.get("tests.fuzz_report")
    if report is not None:
        report.terminal_summary(terminalreporter)
