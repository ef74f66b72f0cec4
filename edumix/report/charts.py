"""Building blocks of report.html: number formatting, HTML tables and sections, and
dependency-free inline SVG charts (bars, grouped bars, histograms) drawn in Python, so
the page needs no JavaScript and no network."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

NOT_AVAILABLE = "not available in this run"
# ---------------------------------------------------------------------------------------
# Formatting


class Raw(str):
    """HTML that is already safe (built here); every other string is escaped."""


def esc(value: Any) -> str:
    return value if isinstance(value, Raw) else html.escape(str(value), quote=True)


def fmt_int(n: float | None) -> str:
    return "–" if n is None else f"{round(n):,}"


def human(n: float | None) -> str:
    """1234567 -> 1.23M: token counts span nine orders of magnitude across runs."""
    if n is None:
        return "–"
    for div, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            return f"{n / div:.3g}{unit}"
    return f"{n:.3g}" if isinstance(n, float) and n != int(n) else f"{int(n):,}"


def fmt_pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f}%"


def signed(n: float | None, fmt: Callable[[float], str] = fmt_int, colored: bool = True) -> Raw:
    if n is None:
        return Raw("–")
    text = ("+" if n > 0 else "") + fmt(n)
    cls = ("pos" if n > 0 else "neg" if n < 0 else "") if colored else ""
    return Raw(f'<span class="{cls}">{esc(text)}</span>')


@dataclass(frozen=True)
class TokenUnit:
    """How token numbers are labelled: estimates must never pass for tokenizer counts."""

    label: str | None  # report["token_count"]: "estimate" | "tokenizer:<sha>" | None

    @property
    def estimate(self) -> bool:
        return self.label == "estimate"

    @property
    def name(self) -> str:
        if self.estimate:
            return "≈ estimated tokens"
        if self.label and self.label.startswith("tokenizer:"):
            return f"tokens (tokenizer {self.label.split(':', 1)[1][:12]})"
        return "tokens"

    @property
    def kind(self) -> str:
        """For titles that already say "tokens": " (≈ estimated)", " (tokenizer ab12…)"."""
        if self.estimate:
            return " (≈ estimated)"
        return f" ({self.name[len('tokens (') : -1]})" if self.name != "tokens" else ""

    def fmt(self, n: float | None) -> str:
        return ("≈ " if self.estimate and n is not None else "") + human(n)


# ---------------------------------------------------------------------------------------
# Inline SVG charts: horizontal (grouped) bars, vertical bars, histograms with cut lines.

COLORS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2")
_CW = 6.2  # average width of an 11px sans-serif glyph, for layout


def text_width(s: str) -> float:
    """Rough pixel width of 11px sans-serif text (capitals and wide glyphs count more)."""
    return sum(7.6 if c.isupper() or c in "mwMW" else 3.2 if c in "ijl.,:;|!' " else _CW for c in s)


def nice_ticks(vmax: float, count: int = 5, integer: bool = False) -> list[float]:
    """0, step, 2*step... covering vmax, step in {1, 2, 2.5, 5} x 10^k."""
    if not vmax > 0:
        vmax = 1.0
    raw = vmax / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))
    if integer:
        step = max(1, math.ceil(step))
    return [i * step for i in range(math.ceil(vmax / step - 1e-9) + 1)]


def _text(x: float, y: float, s: str, cls: str = "", anchor: str = "start", extra: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<text{c} x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{esc(s)}</text>'


def _svg(title: str, width: float, height: float, body: list[str]) -> Raw:
    return Raw(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'role="img" aria-label="{esc(title)}"><title>{esc(title)}</title>'
        + _text(width / 2, 17, title, "ct", "middle")
        + "".join(body)
        + "</svg>"
    )


def _legend(names: Sequence[str], x: float, y: float) -> list[str]:
    out = []
    for j, name in enumerate(names):
        out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{COLORS[j % len(COLORS)]}"/>')
        out.append(_text(x + 14, y, name))
        x += 14 + len(name) * _CW + 16
    return out


def _nothing(title: str) -> Raw:
    """Instead of an empty chart: every chart drawn has at least one visible bar."""
    return Raw(f'<p class="note">{esc(title)}: nothing to draw (no non-zero values).</p>')


def _shorten(label: str, chars: int) -> str:
    return label if len(label) <= chars else label[: chars - 1] + "…"


def hbars(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    x_label: str,
    y_label: str,
    fmt: Callable[[float], str] = fmt_int,
    width: int = 560,
) -> Raw:
    """One row per label, one bar per series in each row (a legend when there are several)."""
    if not labels or not any(v for _, vals in series for v in vals if v is not None):
        return _nothing(title)
    k = len(series)
    label_chars = min(36 if width < 700 else 52, max(len(s) for s in labels))
    left, right = 26 + min(width * 0.45, max(text_width(_shorten(s, label_chars)) for s in labels)) + 8, 70
    top = 30 + (18 if k > 1 else 0)
    bar_h = 15 if k == 1 else 12
    row = bar_h * k + 7
    plot_w = width - left - right
    y_end = top + len(labels) * row
    height = y_end + 40
    values = [v for _, vals in series for v in vals if v is not None]
    ticks = nice_ticks(max(values, default=0), integer=fmt is not fmt_pct)
    scale = plot_w / ticks[-1]
    tick_fmt = fmt if fmt is fmt_pct else human
    body = []
    if k > 1:
        body += _legend([name for name, _ in series], left, 40)
    for t in ticks:
        x = left + t * scale
        body.append(f'<line class="grid" x1="{x:.1f}" y1="{top - 3}" x2="{x:.1f}" y2="{y_end:.1f}"/>')
        body.append(_text(x, y_end + 13, tick_fmt(t), "al", "middle"))
    body.append(_text(left + plot_w / 2, height - 6, x_label, "al", "middle"))
    body.append(_text(0, 0, y_label, "al", "middle", f' transform="translate(11,{(top + y_end) / 2:.1f}) rotate(-90)"'))
    for i, label in enumerate(labels):
        y_row = top + i * row + 3
        body.append(
            f'<text x="{left - 6:.1f}" y="{y_row + bar_h * k / 2 + 4:.1f}" text-anchor="end">'
            f"<title>{esc(label)}</title>{esc(_shorten(label, label_chars))}</text>"
        )
        for j, (name, vals) in enumerate(series):
            v = vals[i]
            if v is None:
                continue
            y, w = y_row + j * bar_h, max(v * scale, 0.0)
            tip = f"{label} · {name}: {fmt(v)}" if k > 1 else f"{label}: {fmt(v)}"
            body.append(
                f'<rect x="{left:.1f}" y="{y:.1f}" width="{w:.1f}" height="{bar_h - 2}" '
                f'fill="{COLORS[j % len(COLORS)]}"><title>{esc(tip)}</title></rect>'
            )
            body.append(_text(left + w + 4, y + bar_h - 4, fmt(v), "vl"))
    body.append(f'<line class="axis" x1="{left:.1f}" y1="{top - 3}" x2="{left:.1f}" y2="{y_end:.1f}"/>')
    return _svg(title, width, height, body)


@dataclass(frozen=True)
class _Bar:
    x0: float
    x1: float
    value: float
    tip: str


def _vertical(
    title: str,
    bars: Sequence[_Bar],
    x_range: tuple[float, float],
    x_ticks: Sequence[tuple[float, str]],
    x_label: str,
    y_label: str,
    fmt: Callable[[float], str],
    markers: Sequence[tuple[float, str]] = (),
    width: int = 560,
) -> Raw:
    """Bars over a numeric x axis (categories are x = 0..n); `markers` are dashed cut lines."""
    if not any(b.value for b in bars) or not x_range[1] > x_range[0]:
        return _nothing(title)
    plot_h = 190
    left, right, top = 60, 18, 48 if markers else 34
    plot_w = width - left - right
    lo, hi = x_range
    sx = plot_w / (hi - lo)
    longest = max((len(s) for _, s in x_ticks), default=0)
    rotate = len(x_ticks) * (longest * _CW + 6) > plot_w
    label_h = 14 + (longest * _CW * 0.6 if rotate else 0)
    y_end = top + plot_h
    height = y_end + label_h + 26
    ticks = nice_ticks(max((b.value for b in bars), default=0), integer=fmt is not fmt_pct)
    sy = plot_h / ticks[-1]
    tick_fmt = fmt if fmt is fmt_pct else human
    body = []
    for t in ticks:
        y = y_end - t * sy
        body.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{left + plot_w:.1f}" y2="{y:.1f}"/>')
        body.append(_text(left - 5, y + 4, tick_fmt(t), "al", "end"))
    for b in bars:
        x, w, h = left + (b.x0 - lo) * sx, (b.x1 - b.x0) * sx, max(b.value * sy, 0.0)
        body.append(
            f'<rect x="{x:.1f}" y="{y_end - h:.1f}" width="{max(w, 0.5):.1f}" height="{h:.1f}" '
            f'fill="{COLORS[0]}"><title>{esc(b.tip)}</title></rect>'
        )
        label = fmt(b.value)
        if b.value and w >= len(label) * _CW * 0.8:
            body.append(_text(x + w / 2, y_end - h - 3, label, "vl", "middle"))
    for x_val, label in x_ticks:
        x = left + (x_val - lo) * sx
        if rotate:
            body.append(
                _text(0, 0, label, "", "end", f' transform="translate({x + 3:.1f},{y_end + 10:.1f}) rotate(-35)"')
            )
        else:
            body.append(_text(x, y_end + 13, label, "", "middle"))
    for x_val, label in markers:
        if lo <= x_val <= hi:
            x = left + (x_val - lo) * sx
            body.append(f'<line class="cut" x1="{x:.1f}" y1="{top - 22}" x2="{x:.1f}" y2="{y_end:.1f}"/>')
            body.append(_text(x + 3, top - 14, label, "cutl"))
    body.append(f'<line class="axis" x1="{left}" y1="{y_end:.1f}" x2="{left + plot_w:.1f}" y2="{y_end:.1f}"/>')
    body.append(_text(left + plot_w / 2, height - 6, x_label, "al", "middle"))
    body.append(_text(0, 0, y_label, "al", "middle", f' transform="translate(12,{top + plot_h / 2:.1f}) rotate(-90)"'))
    return _svg(title, width, height, body)


def vbars(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    x_label: str,
    y_label: str,
    fmt: Callable[[float], str] = fmt_int,
    width: int = 560,
) -> Raw:
    half = min(0.38, 30 / ((width - 78) / max(len(labels), 1)))  # bars at most 60px wide
    bars = [
        _Bar(i + 0.5 - half, i + 0.5 + half, v, f"{lab}: {fmt(v)}") for i, (lab, v) in enumerate(zip(labels, values))
    ]
    ticks = [(i + 0.5, lab) for i, lab in enumerate(labels)]
    return _vertical(title, bars, (0, len(labels)), ticks, x_label, y_label, fmt, width=width)


def histogram(
    title: str,
    edges: Sequence[float],
    counts: Sequence[int],
    x_label: str,
    y_label: str,
    cuts: Iterable[tuple[float, str]] = (),
    width: int = 560,
) -> Raw:
    bars = [
        _Bar(edges[i], edges[i + 1], c, f"[{edges[i]:g}, {edges[i + 1]:g}): {fmt_int(c)}") for i, c in enumerate(counts)
    ]
    every = max(1, math.ceil((len(edges) - 1) / 10))
    ticks = [(e, f"{e:g}") for i, e in enumerate(edges) if i % every == 0 or i == len(edges) - 1]
    return _vertical(title, bars, (edges[0], edges[-1]), ticks, x_label, y_label, fmt_int, list(cuts), width)


# ---------------------------------------------------------------------------------------
# HTML pieces


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], align: str = "", cls: str = "") -> Raw:
    """`align`: one letter per column, l or r (numbers); missing letters mean r after the
    first. All-empty headers: a key/value table without a header row."""
    al = [align[i] if i < len(align) else ("l" if i == 0 else "r") for i in range(len(headers))]
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    thead = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""
    body = []
    for row in rows:
        attrs = ""
        if isinstance(row, _Row):
            attrs, row = f' class="{row.cls}"', row.cells
        cells = "".join(f"<td{' class=n' if a == 'r' else ''}>{esc(c)}</td>" for a, c in zip(al, row))
        body.append(f"<tr{attrs}>{cells}</tr>")
    c = f' class="{cls}"' if cls else ""
    return Raw(f'<div class="tablewrap"><table{c}>{thead}<tbody>{"".join(body)}</tbody></table></div>')


@dataclass
class _Row:
    cells: Sequence[Any]
    cls: str


def na(what: str) -> Raw:
    return Raw(f'<p class="na">{esc(what)}: {NOT_AVAILABLE}.</p>')


def note(text: str) -> Raw:
    return Raw(f'<p class="note">{esc(text)}</p>')


def grid(*items: str) -> Raw:
    return Raw('<div class="grid2">' + "".join(f"<div>{i}</div>" for i in items if i) + "</div>")


def section(anchor: str, title: str, parts: Iterable[str]) -> Raw:
    return Raw(f'<section id="{anchor}"><h2>{esc(title)}</h2>{"".join(parts)}</section>')


# ---------------------------------------------------------------------------------------
# Run data beyond report.json: manifest config, ledger samples, kept documents by language
