"""``lossmask bench``: reference mask cost against the floor (one render + tokenization) and a per-message
baseline, per family and conversation size, plus the wall time of a conformance run over all fixtures.

Modules: :mod:`.conversations` (synthetic N-turn conversations), :mod:`.timing` (interleaved medians),
:mod:`.measure` (methods, ratios, growth), :mod:`.suite` (conformance wall time), :mod:`.report` (JSON and the
BENCHMARKS.md region).
"""
