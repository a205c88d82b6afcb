"""Server-side SVG bar charts: one bar per item, figures written out, every text escaped."""

from decimal import Decimal

from scoring.charts import Bar, bar_chart


def test_each_bar_is_drawn_with_its_figure_and_target() -> None:
    svg = bar_chart([Bar("1 Work organisation", Decimal(5), Decimal(5)), Bar("2 Design", Decimal("2.5"))],
                    title="Marks per section")
    assert svg.count('class="value"') == 2 and svg.count('class="target"') == 1
    assert "<title>Marks per section</title>" in svg and ">2.5</text>" in svg
    assert 'width="420.0"' in svg and 'width="210.0"' in svg  # the largest value fills the plot


def test_labels_are_escaped() -> None:
    svg = bar_chart([Bar("<script>alert(1)</script>", Decimal(1))], title="x & y")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "x &amp; y" in svg


def test_an_empty_chart_is_valid() -> None:
    assert bar_chart([], title="none").startswith("<svg")
