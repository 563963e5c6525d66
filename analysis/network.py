"""The co-membership network: states at their capitals, edges = probability of ending in a common bloc."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
from matplotlib.lines import Line2D

from analysis import formats, stats
from analysis.headlines import new_blocs
from analysis.rundata import RunData
from analysis.style import GREY, bloc_colours, few_replicates, new_figure, save, styled

FRAME_LON = (-25.0, 50.0)  # the map frame (Europe); states outside are drawn in columns at its sides
FRAME_LAT = (34.0, 71.5)
EDGE_SHARE = 0.5  # pairs less likely than this share of the strongest pair are not drawn; states likewise not named
NO_BLOC = "no bloc likely"


def most_likely_bloc(prob: np.ndarray, blocs: list[str], sizes: np.ndarray) -> list[str]:
    """Per state, the bloc it most likely ends in; ties go to the smaller bloc (the more specific one).

    Args:
        prob: (S, B) membership probabilities.
        blocs: bloc codes.
        sizes: (B,) expected member counts, for tie-breaking.
    """
    out = []
    for row in prob:
        best = row.max()
        if best < 0.5:
            out.append(NO_BLOC)
            continue
        tied = np.flatnonzero(np.isclose(row, best))
        out.append(blocs[int(tied[np.argmin(sizes[tied])])])
    return out


def positions(run: RunData, states: list[str]) -> tuple[dict[str, tuple[float, float]], set[str]]:
    """Node positions (longitude, latitude) of the capitals; states outside the frame go in side columns."""
    meta = run.state_meta
    inside, west, east = {}, [], []
    for s in states:
        if s not in meta.index:
            east.append((0.0, s))
            continue
        lat, lon = float(meta.loc[s, "capital_lat"]), float(meta.loc[s, "capital_lon"])
        if FRAME_LON[0] <= lon <= FRAME_LON[1] and FRAME_LAT[0] <= lat <= FRAME_LAT[1]:
            inside[s] = (lon, lat)
        elif lon < FRAME_LON[0]:
            west.append((lat, s))
        else:
            east.append((lat, s))
    outside = set()
    for side, x in ((west, FRAME_LON[0] - 7), (east, FRAME_LON[1] + 7)):
        side.sort(reverse=True)
        for k, (_, s) in enumerate(side):
            y = FRAME_LAT[1] - 3 - k * (FRAME_LAT[1] - FRAME_LAT[0] - 6) / max(len(side) - 1, 1)
            inside[s] = (x, y if len(side) > 1 else float(np.mean(FRAME_LAT)))
            outside.add(s)
    return inside, outside


def which_short(blocs: list[str]) -> str:
    return "a bloc" if len(blocs) > 2 else " or ".join(blocs)


def _width(p: float, top: float) -> float:
    return 0.4 + 4.0 * p / top


@styled
def comembership_network(
    run: RunData, out_dir: Path, fmt: str, blocs: list[str] | None = None
) -> tuple[Path, str | None]:
    """States at their capitals; an edge where two states end in a common bloc in many futures.

    Only the strong pairs are drawn (at least EDGE_SHARE of the strongest pair) and only the main
    states are named and coloured (those in the blocs in at least EDGE_SHARE of the futures of the
    most likely one); the others are small grey dots, so the network reads at report width.

    Args:
        run: the run.
        out_dir, fmt: where and how to save.
        blocs: count only these blocs as "a common bloc" (default: every bloc); the file name
            then ends in the bloc codes.
    """
    warning = few_replicates(run.n, 100, "a pair probability")
    states, all_blocs = run.states, run.blocs
    chosen = list(blocs) if blocs else all_blocs
    member = run.membership()[:, :, [all_blocs.index(b) for b in chosen]]
    together = stats.comembership(member)
    prob = member.mean(axis=0) if run.n else np.zeros((len(states), len(chosen)))
    colour_of = most_likely_bloc(prob, chosen, prob.sum(axis=0))
    palette = bloc_colours(all_blocs) | {NO_BLOC: "#FFFFFF"}
    in_any = member.any(axis=2).mean(axis=0) if run.n else np.zeros(len(states))
    main = in_any >= EDGE_SHARE * float(in_any.max()) if in_any.max() > 0 else np.zeros(len(states), dtype=bool)

    i, j = np.triu_indices(len(states), k=1)
    top = float(together[i, j].max()) if i.size else 0.0
    top = top if top > 0 else 1.0
    threshold = EDGE_SHARE * top
    graph = nx.Graph()
    graph.add_nodes_from(states)
    keep = together[i, j] >= max(threshold, 1e-12)
    for a, b, p in zip(i[keep], j[keep], together[i, j][keep], strict=True):
        graph.add_edge(states[a], states[b], weight=float(p))
    pos, outside = positions(run, states)

    fig, ax = new_figure("map", run.source_note(), warning)
    edges = sorted(graph.edges(data="weight"), key=lambda e: e[2])  # strong edges on top
    nx.draw_networkx_edges(graph, pos, ax=ax, edgelist=[(a, b) for a, b, _ in edges],
                           width=[_width(w, top) for *_, w in edges],
                           alpha=[0.15 + 0.45 * (w - threshold) / max(top - threshold, 1e-9) for *_, w in edges],
                           edge_color="#333333")  # fmt: skip
    single = len(chosen) == 1
    colour = [(palette[chosen[0]] if single else palette[c]) if m else "#D9D9D9" for c, m in zip(colour_of, main,
              strict=True)]  # fmt: skip
    nx.draw_networkx_nodes(graph, pos, ax=ax, nodelist=states, node_size=[25 + 260 * p for p in in_any],
                           node_color=colour, edgecolors=["#222222" if m else "#AAAAAA" for m in main],
                           linewidths=0.8)  # fmt: skip
    for s, m in zip(states, main, strict=True):
        if m:
            ax.annotate(s, pos[s], xytext=(5, 4), textcoords="offset points", fontsize=8.5, fontweight="bold",
                        style="italic" if s in outside else "normal",
                        bbox={"facecolor": "white", "alpha": 0.7, "lw": 0, "pad": 0.5})  # fmt: skip
        else:  # named faintly, for orientation
            ax.annotate(s, pos[s], xytext=(3, 2), textcoords="offset points", fontsize=6, color="#8C8C8C",
                        style="italic" if s in outside else "normal")  # fmt: skip
    for x in (FRAME_LON[0] - 3.5, FRAME_LON[1] + 3.5):
        ax.axvline(x, color=GREY, lw=0.8, linestyle="--")
    ax.set_aspect(1 / np.cos(np.radians(np.mean(FRAME_LAT))))
    ax.set_xlim(FRAME_LON[0] - 10, FRAME_LON[1] + 10)
    ax.set_ylim(FRAME_LAT[0] - 1, FRAME_LAT[1] + 1)
    ax.set_axis_off()
    ax.text(0.5, -0.02, "states at their capitals; beyond the dashed lines: states outside Europe",
            transform=ax.transAxes, ha="center", va="top", fontsize=8, color="#555555")  # fmt: skip

    which = "any bloc" if not blocs else " or ".join(chosen)
    nodes = []
    if not single:
        used = [c for c in [*chosen, NO_BLOC] if c in {col for col, m in zip(colour_of, main, strict=True) if m}]
        nodes = [Line2D([], [], marker="o", linestyle="", markerfacecolor=palette[c], markeredgecolor="#222222",
                        markersize=7, label=f"most likely in {c}" if c != NO_BLOC else c) for c in used]  # fmt: skip
    nodes.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="#D9D9D9", markeredgecolor="#AAAAAA",
                        markersize=5, label=f"in {which_short(chosen)} in fewer futures"))  # fmt: skip
    sizes = [Line2D([], [], marker="o", linestyle="", markerfacecolor="#EEEEEE", markeredgecolor="#222222",
                    markersize=np.sqrt(25 + 260 * p), label=f"in {which_short(chosen)}: {p:.0%} of futures")
             for p in sorted({round(float(in_any.max()) / 2, 2), round(float(in_any.max()), 2)})]  # fmt: skip
    levels = sorted({round(threshold, 2), round(top, 2)})
    widths = [Line2D([], [], color="#333333", alpha=0.6, lw=_width(w, top), label=f"together in {w:.0%} of futures")
              for w in levels]  # fmt: skip
    fig.legend(handles=nodes + sizes + widths, loc="outside right center", fontsize=8, frameon=False,
               title="node size: chance it ends in\nthe bloc; edge: chance two\nstates end in it together",
               title_fontsize=8)  # fmt: skip
    ax.set_title(f"Who ends up together in {which} by {formats.quarter(run.start, run.steps - 1)}: the pairs "
                 f"together in at least {threshold:.0%} of futures\n(the strongest pair: {top:.0%}; "
                 f"{run.n:,} futures)", fontsize=10.5)  # fmt: skip
    name = "comembership_network" + ("_" + "_".join(chosen) if blocs else "")
    return save(fig, out_dir, name, fmt), warning


@styled
def comembership_matrix(run: RunData, out_dir: Path, fmt: str) -> tuple[Path, str | None]:
    """Ordered co-membership matrix: the chance two states end in at least one common bloc.

    With every bloc counted, most European pairs share one (the EU, NATO) and a network of them is
    a hairball; a matrix ordered by average-linkage clustering of 1 − P (optimal leaf order) puts
    the groups of states that end up together next to each other. The diagonal is the chance a
    state ends in any bloc.
    """
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    warning = few_replicates(run.n, 100, "a pair probability")
    states = run.states
    together = stats.comembership(run.membership())
    distance = 1.0 - together
    np.fill_diagonal(distance, 0.0)
    order = list(range(len(states)))
    if len(states) > 2:
        order = list(leaves_list(linkage(squareform(distance, checks=False), "average", optimal_ordering=True)))
    ordered = together[np.ix_(order, order)]
    names = [states[k] for k in order]
    fig, ax = new_figure("square", run.source_note(), warning)
    image = ax.imshow(ordered, cmap="cividis", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=6.5)
    ax.set_yticks(range(len(names)), names, fontsize=6.5)
    ax.grid(False)
    bar = fig.colorbar(image, ax=ax, shrink=0.7, pad=0.02)
    bar.set_label("chance the two states end in at least one common bloc")
    ax.set_title(f"Who ends up allied with whom in {formats.quarter(run.start, run.steps - 1)}: states ordered so "
                 f"that\ngroups that share a bloc sit together (bright = together in most of {run.n:,} futures)",
                 fontsize=10)  # fmt: skip
    return save(fig, out_dir, "comembership_matrix", fmt), warning


def alliance_blocs(run: RunData) -> list[str]:
    """Blocs founded during the run in some replicate (the new alliances), without the adversary."""
    return new_blocs(run)
