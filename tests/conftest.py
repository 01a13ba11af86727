import os

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


def pytest_terminal_summary(terminalreporter):
    """Print (and cache as JSON) how many examples the property-based fuzzer ran per family, when it ran."""
    import sys

    report = sys.modules.get("tests.fuzz_report")
    if report is not None:
        report.terminal_summary(terminalreporter)
