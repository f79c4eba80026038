"""Charts as Mermaid `xychart-beta` blocks: GitHub renders them in comments and summaries, no image host.

CML uploads chart images to a public host, which is not acceptable for models trained on private data; a
Mermaid block is text inside the comment, and holds only aggregates (metric values, ROC points).
"""

from __future__ import annotations

from collections.abc import Sequence

# ROC curves have irregular false-positive rates; xychart-beta spaces points evenly, so both curves are
# sampled at the same false-positive rates (a step function, as an ROC curve is).
ROC_GRID = tuple(i / 10 for i in range(11))


def history_chart(metric: str, points: Sequence[tuple[str, float]]) -> str:
    """A line of `metric` over labelled points (commit ids on main, then this PR)."""
    labels = ", ".join(f'"{label}"' for label, _ in points)
    values = [value for _, value in points]
    low, high = _y_range(values)
    return _block(
        [
            f'title "{metric}: recent main commits → this PR"',
            f"x-axis [{labels}]",
            f'y-axis "{metric}" {low:.4g} --> {high:.4g}',
            f"line [{', '.join(f'{v:.4g}' for v in values)}]",
        ]
    )


def roc_chart(base: Sequence[dict] | None, head: Sequence[dict]) -> str:
    """ROC curve of this run, and of the base when known (the first line drawn is the base)."""
    lines = [_sample_roc(curve) for curve in (base, head) if curve is not None]
    return _block(
        [
            'title "ROC curve (true-positive rate by false-positive rate)"',
            f"x-axis [{', '.join(f'{x:g}' for x in ROC_GRID)}]",
            'y-axis "true-positive rate" 0 --> 1',
            *(f"line [{', '.join(f'{y:.3g}' for y in line)}]" for line in lines),
        ]
    )


def _sample_roc(curve: Sequence[dict]) -> list[float]:
    points = sorted((float(p["fpr"]), float(p["tpr"])) for p in curve)
    return [max((tpr for fpr, tpr in points if fpr <= x + 1e-12), default=0.0) for x in ROC_GRID]


def _y_range(values: Sequence[float]) -> tuple[float, float]:
    """A y-axis a little wider than the data: small changes stay visible and the line stays off the frame."""
    low, high = min(values), max(values)
    pad = (high - low) * 0.2 or max(abs(high) * 0.01, 0.01)
    return low - pad, high + pad


def _block(lines: list[str]) -> str:
    return "```mermaid\nxychart-beta\n" + "\n".join(f"    {line}" for line in lines) + "\n```"
