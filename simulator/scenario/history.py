"""The world as of a past quarter: capabilities, memberships, relations, state flags and opinion by date.

``dated_baseline("2021Q4")`` returns the baseline data (the same ``Baseline`` the 2026 world is
built from) as it was on the first day of that quarter:

- capabilities: the yearly values of the quarter's calendar year (``data/history/capabilities.csv``,
  2005-2025; later years take 2025), each with its provenance (sourced or carried from a year);
- blocs: the members on that day from ``data/history/memberships.csv`` (joined on or before it, not
  left before it); a bloc without members then (JEF before 2014, the coalition of the willing
  before March 2025) is latent, and the latent European alliance stays latent;
- relations: the entries of ``relations.yaml`` whose period (``since``/``until``) covers the day;
- flags: combat experience and neutral tradition from ``data/history/state_flags.csv``;
- opinion: attitudes to the US and the EU from the latest Pew poll on or before the day
  (``(favourable % - 50) / 50``, the mapping of docs/DATA.md), and the neutrality preference of
  states with polls on NATO membership (``1 - support %``, NEUTRALITY_MEASURES); other states keep
  today's values.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from simulator.scenario.baseline import CAPABILITIES, Baseline, RelationsFile, load_baseline, read_data

FIRST_QUARTER = "2005Q1"
LAST_DATA_YEAR = 2025  # the newest year of capabilities.csv (= states.csv)
QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")
DATED_BLOCS = ("NATO", "EU", "JEF", "CWILL", "UNION")
# polls that set a non-member's neutrality (1 - support %), in order of preference: direct support
# for membership; where no such poll is on or before the day, Sweden's SOM series ("Sweden should
# apply for NATO membership: a good proposal"), the only one that reaches back to 2007
NEUTRALITY_MEASURES = ("nato_membership_support_pct", "nato_membership_good_proposal_pct")


def parse_quarter(text: str) -> tuple[int, int]:
    """``"2021Q4"`` -> ``(2021, 4)``; ValueError if it is not a quarter."""
    m = QUARTER_RE.match(str(text))
    if not m:
        raise ValueError(f"not a quarter like 2021Q4: {text!r}")
    return int(m.group(1)), int(m.group(2))


def quarter_start(text: str) -> dt.date:
    """The first day of a quarter."""
    year, q = parse_quarter(text)
    return dt.date(year, 3 * (q - 1) + 1, 1)


def quarter_of(day: dt.date) -> str:
    """The quarter a day falls in."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_steps(start: str, quarter: str) -> int:
    """Steps from ``start`` to ``quarter`` (negative if it is earlier)."""
    (y0, q0), (y1, q1) = parse_quarter(start), parse_quarter(quarter)
    return (y1 - y0) * 4 + (q1 - q0)


def current_quarter(today: dt.date | None = None) -> str:
    """The quarter of today (the newest ``as_of`` allowed)."""
    return quarter_of(today or dt.date.today())


def check_as_of(text: str, today: dt.date | None = None) -> str | None:
    """Why ``text`` is not a valid ``as_of`` quarter, or None when it is."""
    try:
        parse_quarter(text)
    except ValueError:
        return f"as_of must be a quarter like 2021Q4 (got {text!r})"
    last = current_quarter(today)
    if quarter_steps(FIRST_QUARTER, text) < 0:
        return f"as_of {text} is before {FIRST_QUARTER}, the first quarter with data (valid: {FIRST_QUARTER} to {last})"
    if quarter_steps(last, text) > 0:
        return f"as_of {text} is in the future (valid: {FIRST_QUARTER} to {last})"
    return None


@dataclass(frozen=True)
class History:
    """The dated data files, parsed."""

    capabilities: pd.DataFrame  # iso3, year, CAPABILITIES
    provenance: pd.DataFrame  # iso3, year, field, origin, source_id
    memberships: pd.DataFrame  # state, bloc, event, date (datetime.date), source, verified
    flags: pd.DataFrame  # state, flag, value, since, until, source
    opinion: pd.DataFrame  # state, measure, date (datetime.date of the poll), value, source


def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(read_data(f"history/{name}")), keep_default_na=False, na_values=[""])


def _poll_date(text: str) -> dt.date:
    """A poll date given as YYYY, YYYY-MM or YYYY-MM-DD: its last day (a poll counts once it is taken)."""
    parts = [int(p) for p in str(text).split("-")]
    if len(parts) == 1:
        return dt.date(parts[0], 12, 31)
    if len(parts) == 2:
        nxt = dt.date(parts[0] + (parts[1] == 12), parts[1] % 12 + 1, 1)
        return nxt - dt.timedelta(days=1)
    return dt.date(*parts)


@functools.lru_cache(maxsize=1)
def load_history() -> History:
    """Read the dated data shipped in ``simulator/data/history/``."""
    caps = _csv("capabilities.csv")
    prov = _csv("capability_provenance.csv")
    memb = _csv("memberships.csv")
    memb["date"] = [dt.date.fromisoformat(d) for d in memb["date"]]
    flags = _csv("state_flags.csv")
    for col in ("since", "until"):
        flags[col] = [dt.date.fromisoformat(d) if isinstance(d, str) else None for d in flags[col]]
    opinion = _csv("opinion.csv")
    opinion = opinion[opinion["value"].notna()].copy()
    opinion["date"] = [_poll_date(d) for d in opinion["date"]]
    return History(caps, prov, memb, flags, opinion)


def members_on(day: dt.date, bloc: str, history: History | None = None) -> list[str]:
    """States that were members of ``bloc`` on ``day`` (joined on or before it, not left before it)."""
    h = history or load_history()
    rows = h.memberships[(h.memberships["bloc"] == bloc) & (h.memberships["date"] <= day)]
    members = []
    for state, events in rows.sort_values("date", kind="stable").groupby("state", sort=True):
        status = None
        for event, date in zip(events["event"], events["date"], strict=True):
            if event == "joined":
                status = True
            elif event == "left" and date < day:
                status = False
        if status:
            members.append(state)
    return members


def status_on(day: dt.date, state: str, bloc: str, history: History | None = None) -> str | None:
    """The latest membership event of a state in a bloc on or before ``day`` (applied, candidate, joined, ...)."""
    h = history or load_history()
    m = h.memberships
    rows = m[(m["state"] == state) & (m["bloc"] == bloc) & (m["date"] <= day)]
    return None if rows.empty else str(rows.sort_values("date", kind="stable")["event"].iloc[-1])


def flag_on(day: dt.date, state: str, flag: str, history: History | None = None) -> bool | None:
    """Whether a dated flag holds for a state on ``day``; None if the file says nothing of that state and flag."""
    h = history or load_history()
    f = h.flags
    rows = f[(f["state"] == state) & (f["flag"] == flag)]
    if rows.empty:
        return None
    for value, since, until in zip(rows["value"], rows["since"], rows["until"], strict=True):
        if since <= day and (until is None or day < until) and str(value).strip().lower() == "true":
            return True
    return False


def _latest_poll(h: History, state: str, measure: str, day: dt.date) -> float | None:
    o = h.opinion
    rows = o[(o["state"] == state) & (o["measure"] == measure) & (o["date"] <= day)]
    if rows.empty:
        return None
    latest = rows[rows["date"] == rows["date"].max()]
    return float(latest["value"].astype(float).mean())


def dated_states(day: dt.date, base: Baseline, h: History) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The states table as of ``day`` and the provenance of each dated value (iso3, field, origin, source)."""
    year = min(day.year, LAST_DATA_YEAR)
    df = base.states.copy()
    caps = h.capabilities[h.capabilities["year"] == year].set_index("iso3")
    for col in CAPABILITIES:
        df[col] = caps.loc[df.index, col].astype(float).to_numpy()
    for col in ("milex_year", "gdp_year", "personnel_year"):
        if col in df:
            df[col] = year
    prov = h.provenance[h.provenance["year"] == year][["iso3", "field", "origin", "source_id"]].copy()
    notes = []
    nato_now, eu_now = set(members_on(day, "NATO", h)), set(members_on(day, "EU", h))
    for code in df.index:
        for flag in ("combat_experience", "neutral_tradition"):
            value = flag_on(day, code, flag, h)
            if value is not None:
                df.loc[code, flag] = value
                notes.append((code, flag, "dated", "state_flags.csv"))
        for measure, col in (("us_favourable_pct", "us_attitude"), ("eu_favourable_pct", "eu_attitude")):
            pct = _latest_poll(h, code, measure, day)
            if pct is not None:
                df.loc[code, col] = round((pct - 50.0) / 50.0, 4)
                notes.append((code, col, "dated", f"opinion.csv {measure}"))
        if code not in nato_now:
            for measure in NEUTRALITY_MEASURES:  # the first measure with a poll on or before the day
                support = _latest_poll(h, code, measure, day)
                if support is not None:
                    df.loc[code, "neutrality"] = round(1.0 - support / 100.0, 4)
                    notes.append((code, "neutrality", "dated", f"opinion.csv {measure}"))
                    break
        for bloc, now, col in (("NATO", nato_now, "nato_member"), ("EU", eu_now, "eu_member")):
            m = h.memberships
            joined = m.loc[(m["state"] == code) & (m["bloc"] == bloc) & (m["event"] == "joined"), "date"]
            df.loc[code, col] = str(min(joined).year) if code in now else "no"
        df.loc[code, "eu_candidate"] = status_on(day, code, "EU", h) in (
            "candidate",
            "negotiations_opened",
            "suspended",
        )
    extra = pd.DataFrame(notes, columns=["iso3", "field", "origin", "source_id"])
    return df, pd.concat([prov, extra], ignore_index=True)


@functools.lru_cache(maxsize=1)
def _norms() -> pd.DataFrame:
    norms = _csv("bloc_norms.csv")
    for col in ("since", "until"):
        norms[col] = [dt.date.fromisoformat(d) if isinstance(d, str) else None for d in norms[col]]
    return norms


def norm_on(day: dt.date, bloc: str) -> float | None:
    """A bloc's spending norm (% of GDP) on ``day`` from ``history/bloc_norms.csv``; None if not dated there."""
    n = _norms()
    for b, since, until, value in zip(n["bloc"], n["since"], n["until"], n["spending_norm"], strict=True):
        if b == bloc and since <= day and (until is None or day < until):
            return float(value)
    return None


def dated_relations(relations: RelationsFile, day: dt.date | None) -> RelationsFile:
    """The relation entries that hold on ``day`` (None: today, the entries without ``until``)."""
    if day is None:
        pairs = [p for p in relations.pairs if p.until is None]
    else:
        pairs = [
            p for p in relations.pairs if (p.since is None or p.since <= day) and (p.until is None or day < p.until)
        ]
    return relations.model_copy(update={"pairs": pairs})


@functools.lru_cache(maxsize=32)
def dated_baseline(as_of: str) -> Baseline:
    """The baseline data as of the first day of quarter ``as_of`` (2005Q1 to today)."""
    day = quarter_start(as_of)
    base = load_baseline()
    h = load_history()
    states, provenance = dated_states(day, base, h)
    blocs = {}
    for name, spec in base.blocs.items():
        if name in DATED_BLOCS:
            members = [c for c in members_on(day, name, h) if c in states.index]
            update = {"members": members, "active": bool(members)}
            norm = norm_on(day, name)
            if norm is not None:
                update["spending_norm"] = norm
            blocs[name] = spec.model_copy(update=update)
        else:
            blocs[name] = spec.model_copy(deep=True)
    groups = dict(base.groups)
    eu_candidates = [c for c in states.index if bool(states.loc[c, "eu_candidate"])]
    if "EU_CANDIDATES" in groups:
        groups["EU_CANDIDATES"] = eu_candidates
    dated = replace(
        base,
        states=states,
        groups=groups,
        blocs=blocs,
        relations=dated_relations(base.relations_all, day),
        as_of=as_of,
        dated_sources=provenance,
    )
    return dated


def dated_summary(as_of: str) -> dict[str, object]:
    """What the dated world holds, for `sim states --as-of` (members per bloc, counts)."""
    base = dated_baseline(as_of)
    return {
        "as_of": as_of,
        "day": quarter_start(as_of).isoformat(),
        "blocs": {b: list(s.members) for b, s in base.blocs.items() if s.active},
        "latent": [b for b, s in base.blocs.items() if not s.active],
        "relations": len(base.relations.pairs),
        "year": min(quarter_start(as_of).year, LAST_DATA_YEAR),
        "carried": int(np.sum(base.dated_sources["origin"].astype(str).str.startswith("carried"))),
    }


@functools.lru_cache(maxsize=1)
def load_source_titles() -> dict[str, str]:
    """Source id -> a one-line citation (data/history/sources.yaml)."""
    import yaml

    data = yaml.safe_load(read_data("history/sources.yaml")) or {}
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out[str(key)] = f"{value.get('title', key)} ({value.get('publisher', '')})".replace(" ()", "")
    return out


#: events that end an application (candidate status and opened negotiations keep it standing)
APPLICATION_ENDS = ("joined", "withdrew_application", "suspended", "left")


def standing_applications_on(day: dt.date, history: History | None = None) -> dict[tuple[str, str], dt.date]:
    """(state, bloc) -> date of application, for applications standing on ``day`` (standing_paths_on)."""
    return {key: since for key, (since, _path) in standing_paths_on(day, history).items()}


def standing_paths_on(day: dt.date, history: History | None = None) -> dict[tuple[str, str], tuple[dt.date, str]]:
    """(state, bloc) -> (date the application stands from, its path), for applications standing on ``day``.

    An application stands from its ``applied`` event (path ``applied``); where there was none, from
    a ``candidate`` event (path ``candidate``: a NATO invitation, the members' unanimous decision
    to start accession talks with Albania, Croatia, Montenegro or North Macedonia, which never
    applied by letter), or from a Membership Action Plan (``map``, path ``map``: the state asked to
    join and follows NATO's programme of reforms, which ends in an invitation). An invitation after
    a MAP starts the invited path from its own date. It stands until the state joins, withdraws it,
    or its talks are suspended (``suspended``: Türkiye's EU talks since 2018, Georgia's since 2024).
    """
    h = history or load_history()
    m = h.memberships[h.memberships["date"] <= day].sort_values("date", kind="stable")
    out: dict[tuple[str, str], tuple[dt.date, str]] = {}
    for (state, bloc), rows in m.groupby(["state", "bloc"], sort=True):
        applied, path = None, None
        for event, date in zip(rows["event"], rows["date"], strict=True):
            if event == "applied":
                applied, path = date, "applied"
            elif event == "candidate" and (applied is None or path == "map"):
                applied, path = date, "candidate"  # an invitation with no formal application stands from its date
            elif event == "map" and applied is None:
                applied, path = date, "map"
            elif event in APPLICATION_ENDS:
                applied, path = None, None
        if applied is not None:
            out[(str(state), str(bloc))] = (applied, path)
    return out
