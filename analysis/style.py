"""House style of the figures: colour-blind-safe palette, fixed sizes, source notes, warnings, saving."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

FORMATS = ("png", "svg", "pdf")
DPI = 150  # PNG resolution; sizes below are in inches, so a PNG is (width * DPI) x (height * DPI) pixels

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
GREY = "#999999"
WARNING_COLOUR = "#A04000"
_KNOWN_BLOCS = {
    "NATO": OKABE_ITO["blue"],
    "EU": OKABE_ITO["orange"],
    "CWILL": OKABE_ITO["green"],
    "JEF": OKABE_ITO["purple"],
    "UNION": OKABE_ITO["vermillion"],
    "EDU": OKABE_ITO["black"],
}
_SPARE = [OKABE_ITO[k] for k in ("sky_blue", "yellow", "orange", "green", "purple", "blue")]
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 1))]  # tell lines apart in greyscale print

# figure sizes in inches (width, height): tests check that images come out at these sizes
SIZES = {
    "wide": (8.0, 5.0),
    "tall": (7.0, 11.0),
    "map": (11.0, 7.5),
    "square": (8.0, 8.8),
    "panels": (10.0, 7.0),
}

RC = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
    "svg.fonttype": "none",
    "pdf.fonttype": 42,
}


def bloc_colours(blocs: list[str]) -> dict[str, str]:
    """A stable colour per bloc: fixed for the baseline blocs, Okabe–Ito spares for the others."""
    out, spare = {}, iter(_SPARE * 4)
    for code in blocs:
        out[code] = _KNOWN_BLOCS.get(code) or next(spare)
    return out


def bloc_styles(blocs: list[str]) -> dict[str, str | tuple]:
    """A line style per bloc, so lines stay distinct in greyscale."""
    return {code: LINESTYLES[i % len(LINESTYLES)] for i, code in enumerate(blocs)}


def new_figure(
    size: str, note: str, warning: str | None = None, legend_space: float = 0.0, **subplots
) -> tuple[Figure, object]:
    """A figure of a named size with room at the bottom for the source note (and a warning line).

    ``legend_space`` inches more are kept free above the note for a figure legend; place it with
    ``bottom_legend``.
    """
    width, height = SIZES[size]
    with plt.rc_context(RC):
        fig = plt.figure(figsize=(width, height), dpi=DPI, layout="constrained")
        axes = fig.subplots(**subplots) if subplots else fig.add_subplot()
    lines = [note] + ([f"Warning: {warning}"] if warning else [])
    notes = (0.16 + 0.15 * len(lines)) / height
    reserve = notes + legend_space / height
    fig.note_top = notes  # where a bottom legend may start
    fig.get_layout_engine().set(rect=(0.0, reserve, 1.0, 1.0 - reserve), h_pad=0.06, w_pad=0.06)
    y = 0.08 / height
    fig.text(0.01, y, note, fontsize=7, color="#333333", ha="left", va="bottom", wrap=True)
    if warning:
        fig.text(0.01, y + 0.15 / height, f"Warning: {warning}", fontsize=7.5, color=WARNING_COLOUR, ha="left")
    return fig, axes


def bottom_legend(fig: Figure, handles: list, ncols: int) -> None:
    """A figure legend in the space ``new_figure(legend_space=...)`` kept above the source note."""
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, getattr(fig, "note_top", 0.0)), ncols=ncols,
               frameon=False)  # fmt: skip


def styled(func):
    """Run a drawing function inside the house rc context."""

    def wrapper(*args, **kwargs):
        with plt.rc_context(RC):
            return func(*args, **kwargs)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def save(fig: Figure, out_dir: Path, name: str, fmt: str) -> Path:
    """Save at the fixed size (no tight bbox, so the pixel size is known) and close the figure."""
    path = Path(out_dir) / f"{name}.{fmt}"
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fig.savefig(tmp, dpi=DPI, format=fmt, metadata=_metadata(fmt))
        tmp.replace(path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)  # after a failed save (disk full): no half-written file is left
    return path


def _metadata(fmt: str) -> dict:
    # fixed metadata keeps SVG/PDF output byte-stable between identical runs
    if fmt == "svg":
        return {"Date": None}
    if fmt == "pdf":
        return {"CreationDate": None}
    return {"Software": "coalition-sim (matplotlib)"}


def few_replicates(n: int, needed: int, what: str, unit: str = "replicates") -> str | None:
    """The warning text when a figure rests on fewer replicates than it needs, else None."""
    if n < needed:
        return f"only {n:,} {unit}; {what} needs at least {needed:,} to be reliable (run more with -n)."
    return None
