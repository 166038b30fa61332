"""The two charts of a 通报, as PNG: completion by task and on-time rate by unit.

Chinese labels need a CJK font. The project's set-up installs Debian's
fonts-noto-cjk (`scripts/system-packages`); `DUBAN_REPORT_FONT` may name
another font file. A glyph missing from the font would print as a box, so a
missing-glyph warning from matplotlib is an error here, not a warning.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from models.errors import DubanError

# Tried in order; Noto Sans CJK comes with Debian's fonts-noto-cjk.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Noto Sans CJK JP",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
)
CJK_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
MOST_BARS = 40  # beyond this a chart shows the lowest 40, and says so
COLOURS = {
    "green": "#2e7d32",
    "yellow": "#f9a825",
    "red": "#c62828",
    "grey": "#757575",
    "bar": "#1a5fb4",
}


class NoCJKFont(DubanError):
    exit_code = 5
    zh = (
        "找不到中文字体，图表无法显示中文。请运行 scripts/system-packages（安装 "
        "fonts-noto-cjk），或用 DUBAN_REPORT_FONT 指定字体文件。"
    )
    en = (
        "no CJK font found, so charts cannot show Chinese: run scripts/system-packages "
        "(installs fonts-noto-cjk) "
        "or name a font file in DUBAN_REPORT_FONT"
    )


class MissingGlyph(DubanError):
    exit_code = 5
    zh = "字体 {font} 缺少字形：{detail}"
    en = "the font {font} lacks a glyph: {detail}"


@dataclass(frozen=True)
class Chart:
    name: str  # file stem
    title: str
    png: bytes


@lru_cache(maxsize=1)
def cjk_font(configured: str | None = None) -> str:
    """The path of a font with Chinese glyphs."""
    from matplotlib import font_manager

    if configured:
        if not Path(configured).is_file():
            raise NoCJKFont()
        return configured
    for candidate in CJK_FILES:
        if Path(candidate).is_file():
            return candidate
    for family in CJK_FAMILIES:
        try:
            return font_manager.findfont(
                font_manager.FontProperties(family=family), fallback_to_default=False
            )
        except ValueError:
            continue
    raise NoCJKFont()


def bar_chart(
    name: str,
    title: str,
    labels: list[str],
    values: list[float],
    colours: list[str],
    *,
    font: str,
    note: str | None = None,
) -> Chart:
    """A horizontal bar chart of rates (0..1), one bar per label, drawn with the CJK font."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    font_manager.fontManager.addfont(font)
    family = font_manager.FontProperties(fname=font).get_name()
    height = max(2.2, 0.32 * len(labels) + 1.2)
    with (
        warnings.catch_warnings(record=True) as caught,
        matplotlib.rc_context({"font.family": family, "axes.unicode_minus": False}),
    ):
        warnings.simplefilter("always")
        figure, axes = plt.subplots(figsize=(8, height), dpi=110)
        try:
            positions = range(len(labels))
            axes.barh(list(positions), [v * 100 for v in values], color=colours)
            axes.set_yticks(list(positions), labels)
            axes.invert_yaxis()
            axes.set_xlim(0, 100)
            axes.set_xlabel("%")
            axes.set_title(title)
            for position, value in zip(positions, values, strict=True):
                axes.text(
                    min(value * 100 + 1, 92), position, f"{value:.0%}", va="center", fontsize=8
                )
            if note:
                figure.text(0.01, 0.005, note, fontsize=8, color="#555555")
            figure.tight_layout()
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png")
        finally:
            plt.close(figure)
    glyphs = [
        str(w.message)
        for w in caught
        if "missing from" in str(w.message) or "Glyph" in str(w.message)
    ]
    if glyphs:
        raise MissingGlyph(font=font, detail=glyphs[0])
    return Chart(name=name, title=title, png=buffer.getvalue())


def charts_for(results, font: str) -> list[Chart]:
    """Completion by task (the tasks' lights as colours) and on-time rate by unit."""
    tasks = results.tasks
    task_note = None
    if len(tasks) > MOST_BARS:
        tasks = sorted(tasks, key=lambda t: (t.completion_rate, t.number))[:MOST_BARS]
        tasks.sort(key=lambda t: t.number)
        task_note = f"共{len(results.tasks)}项任务，图中为完成率最低的{MOST_BARS}项"
    by_task = bar_chart(
        "任务完成率",
        "各项任务完成率（已核验、销号的分工占比）",
        [_short(f"{t.number}. {t.title}") for t in tasks],
        [t.completion_rate for t in tasks],
        [COLOURS[t.light] for t in tasks],
        font=font,
        note=task_note,
    )
    units = [u for u in results.units if u.on_time_rate is not None]
    unit_note = None
    if len(units) > MOST_BARS:
        units = units[-MOST_BARS:]
        unit_note = (
            f"共{len([u for u in results.units if u.on_time_rate is not None])}个单"
            f"位，图中为按时报送率最低的{MOST_BARS}个"
        )
    by_unit = bar_chart(
        "单位按时报送率",
        "各单位按时报送率（以原定截止日期计）",
        [_short(u.name) for u in units],
        [u.on_time_rate or 0.0 for u in units],
        [COLOURS["bar"]] * len(units),
        font=font,
        note=unit_note,
    )
    return [by_task, by_unit]


def _short(label: str, most: int = 22) -> str:
    """A bar's label: shortened, control characters shown as escapes (no font has a glyph for
    them), and "$" taken literally (matplotlib would read "$…$" as mathematics)."""
    from escaping.terminal import visible

    label = visible(label)
    label = label if len(label) <= most else label[: most - 1] + "…"
    return label.replace("$", r"\$")
