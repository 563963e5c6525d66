"""The co-membership network: states at their capitals, edges = probability of ending in a common bloc."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
from matplotlib.lines import Line2D

from analysis import stats
from analysis.rundata import RunData
from analysis.style import GREY, bloc_colours, few_replicates, new_figure, save, styled

FRAME_LON = (-25.0, 50.0)  # the map frame (Europe); states outside are drawn in columns at its sides
FRAME_LAT = (34.0, 71.5)
EDGE_MIN = 0.25  # pairs less likely than this to share a bloc are not drawn
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
    return 0.3 + 3.2 * p / top


@styled
def comembership_network(
    run: RunData, out_dir: Path, fmt: str, blocs: list[str] | None = None
) -> tuple[Path, str | None]:
    """Draw the network; edge width is the probability two states end in a common active bloc.

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

    i, j = np.triu_indices(len(states), k=1)
    top = float(together[i, j].max()) if i.size else 0.0
    top = top if top > 0 else 1.0
    threshold = EDGE_MIN * top
    graph = nx.Graph()
    graph.add_nodes_from(states)
    keep = together[i, j] >= max(threshold, 1e-12)
    for a, b, p in zip(i[keep], j[keep], together[i, j][keep], strict=True):
        graph.add_edge(states[a], states[b], weight=float(p))
    pos, outside = positions(run, states)

    fig, ax = new_figure("map", run.source_note(), warning)
    edges = sorted(graph.edges(data="weight"), key=lambda e: e[2])  # strong edges on top
    nx.draw_networkx_edges(graph, pos, ax=ax, edgelist=[(a, b) for a, b, _ in edges],
                           width=[_width(w, top) for *_, w in edges], alpha=0.22, edge_color="#444444")  # fmt: skip
    in_any = member.any(axis=2).mean(axis=0) if run.n else np.zeros(len(states))
    nx.draw_networkx_nodes(graph, pos, ax=ax, nodelist=states, node_size=[30 + 150 * p for p in in_any],
                           node_color=[palette[c] for c in colour_of], edgecolors="#222222", linewidths=0.8)  # fmt: skip
    for s in states:
        ax.annotate(s, pos[s], xytext=(4, 3), textcoords="offset points", fontsize=6.5,
                    style="italic" if s in outside else "normal")  # fmt: skip
    for x in (FRAME_LON[0] - 3.5, FRAME_LON[1] + 3.5):
        ax.axvline(x, color=GREY, lw=0.8, linestyle="--")
    ax.set_aspect(1 / np.cos(np.radians(np.mean(FRAME_LAT))))
    ax.set_xlim(FRAME_LON[0] - 10, FRAME_LON[1] + 10)
    ax.set_ylim(FRAME_LAT[0] - 1, FRAME_LAT[1] + 1)
    ax.set_xlabel("longitude of the capital (°E); beyond the dashed lines, in italics: states outside the map")
    ax.set_ylabel("latitude of the capital (°N)")
    ax.tick_params(left=True, bottom=True, labelleft=True, labelbottom=True)
    ax.grid(False)

    used = [c for c in [*chosen, NO_BLOC] if c in colour_of]
    nodes = [Line2D([], [], marker="o", linestyle="", markerfacecolor=palette[c], markeredgecolor="#222222",
                    markersize=7, label=c) for c in used]  # fmt: skip
    sizes = [Line2D([], [], marker="o", linestyle="", markerfacecolor="#DDDDDD", markeredgecolor="#222222",
                    markersize=np.sqrt(30 + 150 * p), label=f"in {which_short(chosen)}: {p:.0%}") for p in (0.25, 1.0)]  # fmt: skip
    levels = sorted({round(top * f, 2) for f in (0.25, 0.5, 1.0)})
    widths = [Line2D([], [], color="#444444", alpha=0.5, lw=_width(w, top), label=f"P(common bloc) = {w:.0%}")
              for w in levels]  # fmt: skip
    fig.legend(handles=nodes + sizes + widths, loc="outside right center", fontsize=7.5, frameon=False,
               title="node colour: most likely bloc\n(ties: the smaller bloc);\nnode size: P(in it at the end)", title_fontsize=7.5)  # fmt: skip
    which = "any bloc" if not blocs else " or ".join(chosen)
    ax.set_title(f"Co-membership: probability two states end together in {which}\n"
                 f"(pairs at ≥ {threshold:.0%} drawn; {run.n:,} replicates)")  # fmt: skip
    name = "comembership_network" + ("_" + "_".join(chosen) if blocs else "")
    return save(fig, out_dir, name, fmt), warning


def alliance_blocs(run: RunData) -> list[str]:
    """Blocs founded during the run in some replicate (the new alliances), without the adversary."""
    out = []
    for code in run.blocs:
        col = f"{code}.formed_step"
        if code != run.adversary and run.has(col) and np.isfinite(run.column(col)).any():
            out.append(code)
    return out
