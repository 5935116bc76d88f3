"""Encoding detection (UTF-8, BOMs, GB18030/GBK, cp1252) and strict decoding."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesanalytics.io import encoding as enc
from salesanalytics.io.encoding import DecodeError, decode, detect_encoding, verify

CHINESE = (
    "客户名称,销售阶段,金额（万元）,负责人\n华为技术有限公司,赢单,12.5,张伟\n腾讯,输单,3,李娜\n"
)
WESTERN = (
    "Account,Owner,Note\nCafé Müller,René Lefèvre,Zürich office\n"
    "Zoë Ltd,Ana Ibáñez,€99 — “quoted”\n"
)


@pytest.mark.parametrize(
    ("text", "codec", "expected"),
    [
        ("", "utf-8", "utf-8"),
        ("Id,Name\n1,plain ascii\n", "utf-8", "utf-8"),
        (CHINESE, "utf-8", "utf-8"),
        (WESTERN, "utf-8", "utf-8"),
        (CHINESE, "utf-8-sig", "utf-8-sig"),
        (CHINESE, "utf-16", "utf-16"),
        (CHINESE, "gb18030", "gb18030"),
        (CHINESE, "gbk", "gb18030"),
        (CHINESE, "gb2312", "gb18030"),
        (WESTERN, "cp1252", "cp1252"),
        ("Name\nMüller\nJosé\nFrançois\n", "cp1252", "cp1252"),
        ("Stage\n赢单\n", "gb18030", "gb18030"),
    ],
)
def test_detect(text: str, codec: str, expected: str) -> None:
    data = text.encode(codec)
    assert detect_encoding(data) == expected
    assert decode(data) == (text, expected)


def test_utf16_be_bom() -> None:
    data = codecs.BOM_UTF16_BE + "阶段,金额\n".encode("utf-16-be")
    assert detect_encoding(data) == "utf-16"
    assert decode(data) == ("阶段,金额\n", "utf-16")


def test_cp1252_that_is_also_valid_gb18030_is_cp1252() -> None:
    # accented letters followed by ASCII letters form valid GBK pairs; the byte pattern
    # (isolated non-ASCII bytes) still says cp1252
    text = "Name,City\nMüller,Zürich\nBjörn Jürgen,Köln\nFrançois,Málaga\n"
    data = text.encode("cp1252")
    data.decode("gb18030")  # the premise: this decodes without error
    assert detect_encoding(data) == "cp1252"


def test_decision_uses_the_region_of_the_first_non_utf8_byte() -> None:
    # 3 MiB of ASCII first: the sample starts at the first non-UTF-8 byte, not at offset 0
    data = b"Id,Note\n" + b"1,plain ascii text\n" * 170_000 + "2,赢单\n".encode("gb18030")
    assert len(data) > 3 * 2**20
    assert detect_encoding(data) == "gb18030"


def test_chunked_validation_finds_errors_across_chunk_borders(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(enc, "_CHUNK", 5)
    data = "ab赢单cd€".encode()
    assert detect_encoding(data) == "utf-8"
    bad = "ab赢单".encode() + b"\xff" + b"xyz"
    assert enc._error_offset(bad, "utf-8") == (8, 9, "invalid start byte")
    split = "abcd赢".encode()[:-1] + b"x"  # a character cut short right at a chunk border
    assert enc._error_offset(split, "utf-8") is not None


def test_nothing_fits_raises_decode_error() -> None:
    data = b"Id,Name\n1,\x81,\n2,\x8d\x81\n"  # undefined in cp1252, invalid pairs in gb18030
    with pytest.raises(DecodeError) as info:
        detect_encoding(data)
    assert isinstance(info.value, UnicodeDecodeError) and isinstance(info.value, ValueError)
    assert info.value.line == 2
    assert "line 2" in str(info.value) and "encoding=" in str(info.value)


def test_decode_explicit_encoding() -> None:
    data = CHINESE.encode("gb18030")
    assert decode(data, "gbk") == (CHINESE, "gbk")
    with pytest.raises(DecodeError, match=r"line 1.*as utf-8"):
        decode(data, "utf-8")
    with pytest.raises(DecodeError, match="gb18030"):
        decode("价格\n€".encode() + b"\x80\xff", "gbk")
    with pytest.raises(ValueError, match="unknown text encoding"):
        decode(data, "no-such-codec")


def test_decode_error_reports_line_and_offset() -> None:
    data = b"a,b\nc,d\ne,\xe9x\n"
    with pytest.raises(DecodeError) as info:
        decode(data, "utf-8")
    err = info.value
    assert (err.start, err.line, err.encoding) == (10, 3, "utf-8")
    assert "offset 10 (line 3)" in str(err)


def test_bom_is_never_part_of_the_text() -> None:
    data = codecs.BOM_UTF8 + b"Id\n"
    assert decode(data) == ("Id\n", "utf-8-sig")
    assert decode(data, "utf-8") == ("Id\n", "utf-8")


def test_verify() -> None:
    verify(CHINESE.encode("gb18030"), "gb18030")
    verify(b"", "utf-8")
    with pytest.raises(DecodeError):
        verify(CHINESE.encode("gb18030"), "utf-8")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_any_utf8_text_is_detected_and_roundtrips(text: str) -> None:
    data = text.encode("utf-8")
    if data.startswith(codecs.BOM_UTF8):
        return
    assert detect_encoding(data) == "utf-8"
    assert decode(data) == (text.removeprefix("\ufeff"), "utf-8")


CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
LATIN = st.sampled_from(list("éèêëàâäçñöüßÉÀÇÖÜáíóúåøæ€“”’"))
ASCII = st.sampled_from(list("abcdefxyz ,;0123456789\n"))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(CJK, ASCII), min_size=1, max_size=120), st.sampled_from(["gbk", "gb18030"])
)
def test_chinese_text_decodes_losslessly(chars: list[str], codec: str) -> None:
    text = "".join(chars)
    data = text.encode(codec)
    decoded, used = decode(data)
    assert decoded.encode(used if used != "utf-8-sig" else "utf-8") == data  # never lossy
    if sum(c >= "\u4e00" for c in chars) >= 8:
        assert used == "gb18030"
        assert decoded == text


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list("abcdeilmnorstu")), LATIN), min_size=1, max_size=40))
def test_western_text_is_cp1252(pairs: list[tuple[str, str]]) -> None:
    # accented letters between ASCII letters, as in Western European words
    text = " ".join(a + b + a for a, b in pairs)
    data = text.encode("cp1252")
    decoded, used = decode(data)
    assert (decoded, used) == (text, "cp1252")
