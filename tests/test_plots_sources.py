"""Lead-source figures as objects: trace types and counts, plotted values equal the result
tables, hover text with n and intervals, small-n handling and escaping of source names."""

from __future__ import annotations

import pathlib

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from salesanalytics import sample
from salesanalytics.dataset import Dataset
from salesanalytics.plots._style import OUTCOME_COLOURS
from salesanalytics.plots.sources import (
    source_bubble_figure,
    source_ranking_figure,
    source_trend_figure,
)
from salesanalytics.sources import compare_sources, source_quality

EVIL = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return sample.generate(1500, seed=0)


@pytest.fixture(scope="module")
def evil(ds: Dataset) -> Dataset:
    """The sample with the source ``webinar`` renamed to a script tag in every table."""
    tables = {}
    for name in ("deals", "leads", "spend"):
        frame = ds.table(name).copy()
        src = frame["lead_source"].astype(object)
        frame["lead_source"] = src.where(src != "webinar", EVIL)
        tables[name] = frame
    return ds.replace(**tables)


def _assert_escaped(fig: go.Figure) -> None:
    text = fig.to_json()
    assert "<script>" not in text
    assert "&lt;script&gt;" in text


def _points(fig: go.Figure) -> int:
    return sum(len(t.x) for t in fig.data)


def test_bubble_values_equal_table(ds: Dataset) -> None:
    q = source_quality(ds)
    fig = source_bubble_figure(q)
    assert [t.type for t in fig.data] == ["scatter"]
    (trace,) = fig.data
    t = q.table.drop(index="existing_customer")  # no leads: no lead → won rate, not drawn
    assert list(trace.text) == list(t.index)
    np.testing.assert_array_equal(trace.x, t["leads"].to_numpy(float))
    np.testing.assert_array_equal(trace.y, t["lead_to_won"].to_numpy())
    np.testing.assert_array_equal(trace.marker.size, t["won_revenue"].to_numpy())
    np.testing.assert_array_equal(trace.marker.color, t["roi"].to_numpy())
    assert trace.marker.sizemode == "area"
    assert trace.marker.sizeref == pytest.approx(2 * t["won_revenue"].max() / 60**2)
    assert trace.marker.colorbar.title.text == "ROI"
    row = t.loc["referral"]
    hover = trace.hovertext[list(t.index).index("referral")]
    assert f"n = {int(row['leads']):,}" in hover
    assert f"[{row['lead_to_won_low']:.1%}, {row['lead_to_won_high']:.1%}]" in hover
    assert f"ROI: {row['roi']:.2f}" in hover
    assert "not drawn (no trials): existing_customer" in fig.layout.title.text
    assert fig.layout.xaxis.title.text == "leads"
    assert fig.layout.yaxis.title.text == "lead → won"


def test_bubble_choices_and_deal_volume(ds: Dataset) -> None:
    q = source_quality(ds)
    fig = source_bubble_figure(q, rate="deal_to_won", size="revenue_per_lead", max_size=40)
    assert [t.name for t in fig.data] == ["sources (colour: ROI)", "sources without spend data"]
    costed, plain = fig.data
    assert list(plain.text) == ["existing_customer"]  # no spend, no leads: x = its deals
    assert plain.x[0] == q.table.loc["existing_customer", "deals"]
    assert plain.marker.size[0] == 0.0  # revenue per lead is NaN: smallest bubble
    t = q.table.drop(index="existing_customer")
    np.testing.assert_array_equal(costed.y, t["deal_to_won"].to_numpy())
    np.testing.assert_array_equal(costed.marker.size, t["revenue_per_lead"].to_numpy())
    assert costed.marker.sizeref == pytest.approx(2 * t["revenue_per_lead"].max() / 40**2)
    partner = costed.hovertext[list(t.index).index("partner")]
    assert f"n = {int(t.loc['partner', 'deals']):,}" in partner
    assert "deals for sources without leads" in fig.layout.xaxis.title.text
    with pytest.raises(ValueError, match="rate"):
        source_bubble_figure(q, rate="won")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="size"):
        source_bubble_figure(q, size="cost")  # type: ignore[arg-type]


def test_bubble_small_n(ds: Dataset) -> None:
    q = source_quality(ds, min_n=400)
    fig = source_bubble_figure(q)
    names = [t.name for t in fig.data]
    assert names == ["sources (colour: ROI)", "small n (< 400): not reliable"]
    big, small = fig.data
    flagged = q.table.drop(index="existing_customer")["small_n"]
    assert list(big.text) == list(flagged.index[~flagged])
    assert list(small.text) == [f"{s} (small n)" for s in flagged.index[flagged]]
    assert small.marker.line.color == OUTCOME_COLOURS["open"]  # grey outline
    assert small.marker.color.startswith("rgba(") and small.marker.color.endswith(",0.08)")
    assert all("small n (fewer than 400): not reliable" in h for h in small.hovertext)
    assert not any("small n" in h for h in big.hovertext)
    assert big.marker.sizeref == small.marker.sizeref  # one scale for every bubble


def test_bubble_breakdown_and_no_spend(ds: Dataset) -> None:
    q = source_quality(ds, by="region", min_n=100)
    fig = source_bubble_figure(q, rate="lead_to_deal")
    regions = list(dict.fromkeys(q.table.index.get_level_values("region")))
    assert [t.name for t in fig.data] == [*regions, "small n (< 100): not reliable"]
    assert len({t.marker.color for t in fig.data[:-1]}) == len(regions)
    drawn = q.table[q.table["lead_to_deal"].notna()]
    assert _points(fig) == len(drawn)
    east = drawn.xs("East", level="region")
    east = east[~east["small_n"]]
    np.testing.assert_array_equal(fig.data[0].y, east["lead_to_deal"].to_numpy())
    assert all("region: East" in h for h in fig.data[0].hovertext)
    assert "by region" in fig.layout.title.text
    plain = source_bubble_figure(source_quality(ds.replace(spend=ds.spend.iloc[:0])))
    assert [t.name for t in plain.data] == ["sources"]
    assert plain.data[0].marker.color == "#2171b5"


def test_ranking_values(ds: Dataset) -> None:
    c = compare_sources(ds, seed=0, min_n=400)
    fig = source_ranking_figure(c)
    assert [t.type for t in fig.data] == ["bar", "bar", "scatter"]
    ranked, unranked, raw = fig.data
    t = c.table
    ok = t[t["eligible"]]
    assert list(ranked.y) == [f"{int(r)}. {s}" for s, r in zip(ok.index, ok["rank"], strict=True)]
    np.testing.assert_array_equal(ranked.x, ok["posterior_mean"].to_numpy())
    np.testing.assert_allclose(np.asarray(ranked.x) + ranked.error_x.array, ok["credible_high"])
    np.testing.assert_allclose(np.asarray(ranked.x) - ranked.error_x.arrayminus, ok["credible_low"])
    small = t[~t["eligible"]]
    assert list(unranked.y) == [f"{s} · not ranked (n < 400)" for s in small.index]
    np.testing.assert_array_equal(unranked.x, small["posterior_mean"].to_numpy())
    np.testing.assert_array_equal(raw.x, t["rate"].to_numpy())
    assert list(raw.y) == [*ranked.y, *unranked.y]
    assert list(fig.layout.yaxis.categoryarray) == list(raw.y)
    assert fig.layout.yaxis.autorange == "reversed"
    vline, sep = fig.layout.shapes
    a, b = c.prior
    assert vline.x0 == pytest.approx(a / (a + b)) and vline.xref == "x"
    assert sep.y0 == len(ok) - 0.5 and sep.line.dash == "dash"
    texts = [an.text for an in fig.layout.annotations]
    assert "not ranked (n < 400) ↓" in texts and any("prior mean" in x for x in texts)
    hover = ranked.hovertext[0]
    row = ok.iloc[0]
    assert f"n = {int(row['n']):,}" in hover and "rank 1 of" in hover
    assert f"[{row['credible_low']:.1%}, {row['credible_high']:.1%}]" in hover
    assert "not ranked: n < 400" in unranked.hovertext[0]
    full = source_ranking_figure(compare_sources(ds, seed=0))  # every source eligible
    assert [t.type for t in full.data] == ["bar", "scatter"]
    assert len(full.layout.shapes) == 1  # no separator


def test_trend_values(ds: Dataset) -> None:
    q = source_quality(ds, period="month")
    fig = source_trend_figure(q)
    t = q.table[q.table["lead_to_won"].notna()]
    sources = list(dict.fromkeys(t.index.get_level_values("lead_source")))
    assert len(fig.data) == 2 * len(sources)
    bands, lines = fig.data[0::2], fig.data[1::2]
    assert [x.name for x in lines] == sources and all(b.fill == "toself" for b in bands)
    for band, line, source in zip(bands, lines, sources, strict=True):
        rows = t.xs(source, level="lead_source")
        assert list(line.x) == list(rows.index)
        np.testing.assert_array_equal(line.y, rows["lead_to_won"].to_numpy())
        lo, hi = rows["lead_to_won_low"].to_numpy(), rows["lead_to_won_high"].to_numpy()
        np.testing.assert_array_equal(band.y, np.r_[hi, lo[::-1]])
        small = rows["lead_to_won_n"].to_numpy() < q.min_n
        assert [s == "circle-open" for s in line.marker.symbol] == list(small)
        assert band.line.color is None and band.fillcolor.startswith("rgba(")
    row = t.loc[(sources[0], lines[0].x[0])]
    hover = lines[0].hovertext[0]
    assert f"n = {int(row['leads']):,}" in hover
    assert f"[{row['lead_to_won_low']:.1%}, {row['lead_to_won_high']:.1%}]" in hover
    assert any("small n" in h for x in lines for h in x.hovertext)  # months are small
    assert fig.layout.xaxis.title.text == "lead created (month)"
    assert fig.layout.xaxis.type == "category"


def test_trend_choices(ds: Dataset) -> None:
    q = source_quality(ds, period="quarter")
    fig = source_trend_figure(q, rate="deal_to_won", sources=["website", "existing_customer"])
    assert [x.name for x in fig.data[1::2]] == ["website", "existing_customer"]
    rows = q.table.xs("existing_customer", level="lead_source")
    np.testing.assert_array_equal(fig.data[3].y, rows["deal_to_won"].dropna().to_numpy())
    assert fig.layout.xaxis.title.text == "deal created (quarter)"
    full = source_trend_figure(q)
    assert fig.data[1].line.color == full.data[-1].line.color  # colours of the full set
    with pytest.raises(ValueError, match="no source"):
        source_trend_figure(q, sources=["nope"])
    with pytest.raises(ValueError, match="period"):
        source_trend_figure(source_quality(ds))
    with pytest.raises(ValueError, match="period"):
        source_trend_figure(source_quality(ds, by="region"))


def test_escaped(evil: Dataset) -> None:
    q = source_quality(evil)
    fig = source_bubble_figure(q)
    assert ESCAPED in fig.data[0].text
    _assert_escaped(fig)
    _assert_escaped(source_bubble_figure(source_quality(evil, by="region"), rate="deal_to_won"))
    ranking = source_ranking_figure(compare_sources(evil, seed=0))
    assert any(ESCAPED in y for y in ranking.data[0].y)
    _assert_escaped(ranking)
    trend = source_trend_figure(source_quality(evil, period="quarter"), sources=[EVIL])
    assert trend.data[1].name == ESCAPED
    _assert_escaped(trend)


def test_pure_no_show_no_files(
    ds: Dataset, monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("figures must not show or write")

    for name in ("show", "write_html", "write_image", "write_json"):
        monkeypatch.setattr(go.Figure, name, boom)
    monkeypatch.setattr(pio, "show", boom)
    monkeypatch.chdir(tmp_path)
    figs = [
        source_bubble_figure(source_quality(ds)),
        source_ranking_figure(compare_sources(ds, seed=0)),
        source_trend_figure(source_quality(ds, period="quarter")),
    ]
    assert all(isinstance(f, go.Figure) for f in figs)
    assert all("<sup>" in f.layout.title.text for f in figs)
    assert list(tmp_path.iterdir()) == []
