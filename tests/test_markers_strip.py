"""markers.strip finds raw markers in the render's UTF-8 bytes; it must equal the code-point regex it replaces."""

from hypothesis import given, settings
from hypothesis import strategies as st

from lossmask.reference import markers

PIECES = st.one_of(
    st.integers(0, 40).map(lambda k: chr(0xF0000 + k)),  # markers (opening and closing, some orphaned)
    st.sampled_from(["\U000FFFFD", "\U000FFFFE", "\U000FFFFF"]),  # the last marker, and plane-15 non-markers
    st.text(st.sampled_from("ab \n\té中😀\udc80"), max_size=6),  # ASCII, 2- and 3-byte, astral, a lone surrogate
)


@settings(max_examples=3000, deadline=None, database=None)
@given(st.lists(PIECES, max_size=16).map("".join))
def test_strip_by_bytes_equals_strip_by_code_points(text):
    fast = markers.strip(text)
    real = markers._split_utf8
    try:
        markers._split_utf8 = lambda _: None  # the code-point regex path
        slow = markers.strip(text)
    finally:
        markers._split_utf8 = real
    assert fast == slow
    assert fast[0] == markers.MARKER_RE.sub("", text)


def test_may_hold_marker_is_false_only_without_astral_characters():
    for text in ["abc" * 50, "é" * 50, "中" * 50, ""]:
        assert not markers.may_hold_marker(text) or len(text) < 30
    for text in ["a\U000F0001b", "x" * 500 + "\U000F0001", "中" * 500 + "\U000FFFFD", "😀"]:
        assert markers.may_hold_marker(text)


FIELDS = st.lists(st.tuples(st.integers(0, 300), st.text(st.sampled_from("ab \né中😀"), max_size=5),
                            st.text(st.sampled_from("ab \né中😀"), max_size=5)), max_size=12)


@settings(max_examples=1000, deadline=None, database=None)
@given(FIELDS, st.text(st.sampled_from("xy中"), max_size=4))
def test_fields_printed_whole_give_their_spans(fields, tail):
    """A proved template prints every field whole, one after another; the spans are then known from how the
    text was built (expected values computed here, not by the code under test)."""
    marked, clean, expected = "", "", []
    for k, before, inside in fields:
        marked += before + chr(markers._BASE + 2 * k) + inside + chr(markers._BASE + 2 * k + 1)
        clean += before
        expected.append(markers.FieldSpan(k, len(clean), len(clean) + len(inside), True))
        clean += inside
    marked += tail
    clean += tail
    got_clean, spans = markers.strip(marked)
    assert got_clean == clean
    assert spans == sorted(expected, key=lambda s: (s.start, s.end))
