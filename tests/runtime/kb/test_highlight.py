"""Highlights, snippets and the typo distance (no database)."""

from __future__ import annotations

from runtime.kb.highlight import allowed_typos, corrections, distance, mark, plain_text, snippet
from runtime.kb.index import stem, terms


def test_mark_escapes_and_marks_words_at_word_starts():
    assert mark("Printer <jam> & reprint", ["print"]) == (
        "<mark>Print</mark>er &lt;jam&gt; &amp; reprint"
    )
    assert (
        mark("申请增值税专用发票", ["发票", "专用"])
        == "申请增值税<mark>专用</mark><mark>发票</mark>"
    )
    assert mark("a < b", []) == "a &lt; b"


def test_snippet_cuts_around_the_first_found_word():
    text = " ".join(f"word{i}" for i in range(80)) + " the paper jam is here " + "tail " * 40
    cut = snippet(text, ["jam"], size=80)
    assert cut.startswith("…") and cut.endswith("…")
    assert "<mark>jam</mark>" in cut and len(cut) < 140
    assert snippet("short text", ["none"]) == "short text"


def test_plain_text_of_rich_text():
    assert plain_text("<h3>步骤</h3><ol><li>打开&nbsp;后盖</li></ol><script>x()</script>") == (
        "步骤 • 打开 后盖"
    )


def test_distance_counts_swaps_as_one_edit():
    assert distance("pasword", "password") == 1
    assert distance("refnud", "refund") == 1  # a swap
    assert distance("printr", "printer") == 1
    assert distance("abc", "xyz", limit=1) == 2
    assert distance("short", "a much longer word", limit=2) == 3


def test_corrections_stay_close_and_skip_known_or_short_words():
    vocabulary = {"password", "printer", "print", "refund", "return", "passport"}
    assert corrections("pasword", vocabulary)[0] == "password"
    assert corrections("refnud", vocabulary) == ["refund"]
    assert corrections("password", vocabulary) == []
    assert corrections("jam", vocabulary) == []
    assert allowed_typos("jam") == 0 and allowed_typos("printer") == 1
    assert allowed_typos("configuration") == 2 and allowed_typos("发票发票") == 0


def test_terms_fold_english_plurals_and_segment_chinese():
    assert stem("printers") == "printer" and stem("policies") == "policy"
    assert stem("boxes") == "box" and stem("status") == "status" and stem("address") == "address"
    assert terms("Printers jam 打印机卡纸")[:2] == ["printer", "jam"]
    assert "卡纸" in terms("打印机卡纸")
