"""What a run says, in sentences: the bottom line of a report and the message in each figure's title.

Every number here comes from the same tables as the report (analysis.tables) and is written with
the same conventions (analysis.formats): chances with their 95% Wilson interval, amounts as medians
with the 5–95% range of the futures, quarters as quarters.
"""

from __future__ import annotations

import numpy as np

from analysis import formats
from analysis.labels import state_name
from analysis.rundata import RunData

EURO = "European alliance without the US"


def new_blocs(run: RunData) -> list[str]:
    """Blocs founded during the run in some replicate (the new alliances), without the adversary."""
    out = []
    for code in run.blocs:
        col = f"{code}.formed_step"
        if code != run.adversary and run.has(col) and np.isfinite(np.asarray(run.column(col), dtype=float)).any():
            out.append(code)
    return out


def nato_at_start(run: RunData) -> tuple[float, str] | None:
    """NATO's median power in the first quarter (with the US unless a shock acts at step 0), and its label."""
    traj = run.trajectories
    if traj is None or "NATO" not in set(traj["bloc"]):
        return None
    first = traj[(traj["bloc"] == "NATO") & (traj["step"] == 0)]
    if first.empty:
        return None
    at_zero = any(step == 0 for step, _ in run.shock_steps())
    label = "NATO at the start" if at_zero else "NATO with the US at the start"
    return float(first["q50_power"].iloc[0]), f"{label} ({formats.quarter(run.start, 0)})"


def _chance(x: np.ndarray) -> tuple[float, str]:
    from analysis import stats

    d = stats.describe_probability(np.asarray(x, dtype=bool))
    return d["p"], formats.fmt_chance(d["p"], d["lo"], d["hi"], d["k"], d["n"])


def _fraction(x: float) -> str:
    """A ratio in words a briefing reads: 'a fifth', 'about half', 'twice'."""
    words = [(0.2, "a fifth"), (0.25, "a quarter"), (1 / 3, "a third"), (0.5, "half"), (2 / 3, "two thirds"),
             (0.75, "three quarters"), (1.0, "as much as"), (1.5, "one and a half times"), (2.0, "twice")]  # fmt: skip
    value, word = min(words, key=lambda w: abs(np.log(max(x, 1e-9) / w[0])))
    return word if abs(np.log(max(x, 1e-9) / value)) < 0.12 else f"{x:.2f} times"


def end_quarter(run: RunData) -> str:
    return formats.quarter(run.start, run.steps - 1)


def power_message(run: RunData) -> str:
    """Title of the power figure: what the new alliance pools where it exists, against the yardsticks."""
    blocs = new_blocs(run)
    end = end_quarter(run)
    if not blocs:
        return f"Effective power of each bloc in {end}: the chance it exists, and its power where it does"
    code = blocs[0]
    active = np.asarray(run.column(f"{code}.active"), dtype=bool)
    power = np.asarray(run.column(f"{code}.effective_power"), dtype=float)[active]
    if power.size == 0:
        return f"{code} exists in none of the {run.n:,} futures in {end}"
    med = float(np.median(power))
    text = (
        f"The {code} exists in {end} in {active.mean():.0%} of futures; where it does, it pools {med:.1f} index points"
    )
    nato = nato_at_start(run)
    if nato is not None and nato[0] > 0:
        text += f",\n{_fraction(med / nato[0])} of what {nato[1].split(' (')[0]} had"
    return text


def bruegel_message(run: RunData) -> str:
    """Title of the Bruegel figure: how much of the estimate is reached and what is missing."""
    x = np.asarray(run.column("bruegel_extra_spending_eur_bn"), dtype=float)
    x = x[np.isfinite(x)]
    med = float(np.median(x)) if x.size else float("nan")
    gap = 250.0 - med
    end = end_quarter(run)
    if not np.isfinite(med):
        return "Extra defence spending of EU + UK against the Bruegel–Kiel estimate"
    if gap <= 0:
        return f"EU + UK reach the Bruegel–Kiel spending estimate by {end} in the median future (+EUR {med:,.0f} bn a year)"
    return (f"EU + UK raise defence spending by EUR {med:,.0f} bn a year by {end} in the median future:\n"
            f"{med / 250:.0%} of the Bruegel–Kiel estimate, EUR {gap:,.0f} bn a year short")  # fmt: skip


def formation_message(run: RunData) -> str:
    """Title of the formation figure: how often and how soon a European alliance forms."""
    end = end_quarter(run)
    if not run.has("euro_alliance_formed"):
        return f"When new blocs are founded (cumulative share of futures, by {end})"
    formed = np.asarray(run.column("euro_alliance_formed"), dtype=bool)
    p, text = _chance(formed)
    if p == 0:
        return f"A {EURO} forms in none of the {run.n:,} futures by {end} (chance {text})"
    steps = np.asarray(run.column("euro_alliance_step"), dtype=float)[formed]
    half = formats.quarter(run.start, formats.spread_quantiles(steps, quarters=True)[0])
    return f"A {EURO} forms by {end} in {text} of futures;\nwhere it forms, half the time by {half}"


def fan_message(run: RunData) -> str:
    """Title of the fan chart: the bloc whose median power changes most, from the first to the last quarter."""
    traj = run.trajectories
    best = None
    for code in run.blocs:
        t = traj[traj["bloc"] == code].sort_values("step") if traj is not None else None
        if t is None or t.empty:
            continue
        a, b = float(t["q50_power"].iloc[0]), float(t["q50_power"].iloc[-1])
        if best is None or abs(b - a) > abs(best[2] - best[1]):
            best = (code, a, b)
    if best is None or abs(best[2] - best[1]) < 0.05:
        return f"Bloc power by quarter, {run.start}–{end_quarter(run)}: no bloc's median power changes"
    code, a, b = best
    verb = "falls" if b < a else "rises"
    return f"{code}'s median power {verb} from {a:.1f} to {b:.1f} index points, {run.start}–{end_quarter(run)}"


def bottom_line(run: RunData, table) -> list[str]:
    """Three to five sentences of the run's answer, with numbers and intervals (``table``: tables.outcome_table)."""
    rows = {r["outcome"]: r for r in table.to_dict(orient="records")}
    end = end_quarter(run)
    out = []
    formed = rows.get("euro_alliance_formed")
    if formed is not None:
        if formed["k"] == 0:
            out.append(f"In none of {run.n:,} simulated futures does a {EURO} form by {end} "
                       f"(chance {formed['chance']}).")  # fmt: skip
        else:
            text = f"A {EURO} forms by {end} in {formed['chance']} of {run.n:,} simulated futures"
            when, members = rows.get("euro_alliance_step"), rows.get("euro_alliance_members")
            parts = []
            if when is not None and formats.finite(when["median"]):
                parts.append(f"it is founded around {when['amount']}")
            if members is not None and formats.finite(members["median"]):
                parts.append(f"with {members['amount']} members")
            out.append(text + ("; where it forms, " + " ".join(parts) if parts else "") + ".")
            keyed = [r for name, r in rows.items() if name.endswith("_in_euro_alliance")]
            if keyed:
                names = [state_name(r["outcome"].split("_")[0], article=True) for r in keyed]
                parts = [f"{names[0][:1].upper() + names[0][1:]} is in it in {keyed[0]['chance']} of futures"]
                parts += [f"{name} in {r['chance']}" for name, r in zip(names[1:], keyed[1:], strict=True)]
                listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
                out.append(listed + ".")
            power, ratio = rows.get("euro_alliance_power_if_formed"), rows.get("euro_alliance_power_ratio")
            if power is not None and formats.finite(power["median"]):
                text = f"Where it forms it pools {power['amount']} index points of effective power"
                if ratio is not None and formats.finite(ratio["median"]) and run.adversary:
                    text += f", {ratio['amount']} times the adversary's ({run.adversary})"
                nato = nato_at_start(run)
                if nato is not None:
                    text += f", against {nato[0]:.1f} for {nato[1].split(' (')[0]}"
                out.append(text + ".")
    us = rows.get("us_in_nato")
    if us is not None and us["p"] is not None and us["p"] < 0.95:
        out.append(f"The United States is still in NATO in {end} in {us['chance']} of futures.")
    spend = rows.get("bruegel_extra_spending_eur_bn")
    if spend is not None and formats.finite(spend["median"]):
        x = np.asarray(run.column("bruegel_extra_spending_eur_bn"), dtype=float)
        _, reach = _chance(x >= 250.0)
        gap = 250.0 - float(spend["median"])
        short = f", EUR {gap:,.0f} bn a year short of" if gap > 0 else f", EUR {-gap:,.0f} bn a year beyond"
        out.append(
            f"EU members and the UK spend EUR {spend['amount']} bn a year more on defence than in 2025{short} the "
            f"+EUR 250 bn Bruegel–Kiel estimate of what replacing the US needs, which they reach in {reach} of futures."
        )
    return out[:5]
