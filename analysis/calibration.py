"""Figures of a calibration: the posterior pair plot (simulator.runs.calibrate writes the samples)."""

from __future__ import annotations

from pathlib import Path

from simulator.scenario.params import PARAMS


def pair_plot(pop, priors, path: Path, title: str) -> None:
    """The posterior's marginals (diagonal, with the prior range and the default) and pairs (below it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = len(priors)
    fig, axes = plt.subplots(k, k, figsize=(2.6 * k + 1, 2.6 * k + 0.6), squeeze=False)
    for i, pi in enumerate(priors):
        for j, pj in enumerate(priors):
            ax = axes[i][j]
            if j > i:
                ax.axis("off")
                continue
            if i == j:
                ax.hist(pop.particles[:, i], bins=15, range=(pi.low, pi.high), weights=pop.weights, color="#4c72b0")
                ax.axvline(PARAMS[pi.name].default, color="#c44e52", lw=1.2, ls="--", label="default")
                ax.set_xlim(pi.low, pi.high)
                ax.set_yticks([])
            else:
                ax.scatter(
                    pop.particles[:, j],
                    pop.particles[:, i],
                    s=8 + 400 * pop.weights,
                    alpha=0.5,
                    color="#4c72b0",
                    edgecolors="none",
                )
                ax.plot(PARAMS[pj.name].default, PARAMS[pi.name].default, "x", color="#c44e52", ms=7)
                ax.set_xlim(pj.low, pj.high)
                ax.set_ylim(pi.low, pi.high)
            if i == k - 1:
                ax.set_xlabel(pj.name)
            if j == 0 and i > 0:
                ax.set_ylabel(pi.name)
    axes[0][0].legend(loc="upper right", fontsize=7, frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)


def calibration_figures(directory: Path, populations, priors, report: dict) -> None:
    """``figures/pairs.png`` of a calibration directory (the hook run_calibration calls before moving it)."""
    post = populations[-1]
    pair_plot(
        post,
        priors,
        Path(directory) / "figures" / "pairs.png",
        f"Posterior after {len(populations)} generations ({report['particles']} particles, "
        f"{report['replicates_per_particle']} replicates each; {', '.join(report['episodes'])})",
    )
