"""Consistency checks of the baseline data files in simulator/data."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import ROOT

DATA = ROOT / "simulator" / "data"
DOCS = ROOT / "docs"

REFERENCE_COLUMNS = [
    "iso3",
    "name",
    "milex_usd_m",
    "milex_year",
    "milex_pct_gdp",
    "gdp_usd_bn",
    "gdp_year",
    "population_m",
    "active_personnel_k",
    "reserve_personnel_k",
    "personnel_year",
    "nuclear_warheads",
    "tanks",
    "combat_aircraft",
    "nato_member",
    "eu_member",
    "sources",
]
ADDED_COLUMNS = [
    "region",
    "capital",
    "capital_lat",
    "capital_lon",
    "border_russia_belarus",
    "nuclear_status",
    "democracy",
    "neutral_tradition",
    "combat_experience",
    "eu_candidate",
    "us_attitude",
    "eu_attitude",
    "neutrality",
]
NUMERIC_COLUMNS = [
    "milex_usd_m",
    "milex_year",
    "milex_pct_gdp",
    "gdp_usd_bn",
    "gdp_year",
    "population_m",
    "active_personnel_k",
    "reserve_personnel_k",
    "personnel_year",
    "nuclear_warheads",
    "tanks",
    "combat_aircraft",
    "capital_lat",
    "capital_lon",
    "democracy",
    "us_attitude",
    "eu_attitude",
    "neutrality",
]
BOOLEAN_COLUMNS = [
    "border_russia_belarus",
    "neutral_tradition",
    "combat_experience",
    "eu_candidate",
]
REGIONS = {
    "nordic",
    "baltic",
    "western_europe",
    "central_europe",
    "southern_europe",
    "south_east_europe",
    "eastern_europe",
    "north_america",
    "eurasia",
    "asia_pacific",
}
BLOC_KEYS = {
    "name",
    "kind",
    "active",
    "members",
    "admission",
    "leader",
    "mutual_defence",
    "spending_norm",
    "integration",
    "integration_growth",
    "integration_max",
    "eligible",
    "dynamic",
    "founding",
    "description",
    "sources",
}
EMPTY_ALLOWED = {("MLT", "reserve_personnel_k")}


@pytest.fixture(scope="module")
def states() -> pd.DataFrame:
    return pd.read_csv(DATA / "states.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def sources() -> pd.DataFrame:
    return pd.read_csv(DATA / "state_sources.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def groups() -> dict:
    return yaml.safe_load((DATA / "groups.yaml").read_text())["groups"]


@pytest.fixture(scope="module")
def blocs_file() -> dict:
    return yaml.safe_load((DATA / "blocs.yaml").read_text())


@pytest.fixture(scope="module")
def relations() -> dict:
    return yaml.safe_load((DATA / "relations.yaml").read_text())


def _data_fields(states: pd.DataFrame) -> list[str]:
    return [c for c in states.columns if c not in ("iso3", "name", "sources")]


def _expand(name: str, codes: set[str], groups: dict, blocs: dict) -> set[str]:
    if name in codes:
        return {name}
    if name in groups:
        out: set[str] = set()
        for member in groups[name]["members"]:
            out |= _expand(member, codes, groups, blocs)
        return out
    if name in blocs:
        return set(blocs[name]["members"])
    raise KeyError(name)


def test_48_states_unique_iso3(states):
    assert len(states) == 48
    assert states["iso3"].is_unique
    assert states["iso3"].str.fullmatch(r"[A-Z]{3}").all()


def test_columns_present_in_order(states):
    assert list(states.columns) == REFERENCE_COLUMNS + ADDED_COLUMNS


def test_no_empty_values_except_malta_reserve(states):
    for _, row in states.iterrows():
        for col in states.columns:
            if (row["iso3"], col) in EMPTY_ALLOWED:
                continue
            assert row[col].strip() != "", f"{row['iso3']}.{col} is empty"


def test_numeric_columns_parse(states):
    for col in NUMERIC_COLUMNS:
        pd.to_numeric(states[col].replace("", None), errors="raise")
        assert "," not in "".join(states[col]), f"thousands separator in {col}"


def test_value_ranges(states):
    num = {c: pd.to_numeric(states[c].replace("", None)) for c in NUMERIC_COLUMNS}
    assert num["capital_lat"].between(-90, 90).all()
    assert num["capital_lon"].between(-180, 180).all()
    assert num["democracy"].between(0, 1).all()
    assert num["us_attitude"].between(-1, 1).all()
    assert num["eu_attitude"].between(-1, 1).all()
    assert num["neutrality"].between(0, 1).all()
    for col in (
        "milex_usd_m",
        "gdp_usd_bn",
        "population_m",
        "active_personnel_k",
        "tanks",
        "combat_aircraft",
        "nuclear_warheads",
    ):
        assert (num[col] >= 0).all(), col
    assert (num["reserve_personnel_k"].dropna() >= 0).all()


def test_coordinates_have_two_decimals(states):
    for col in ("capital_lat", "capital_lon"):
        assert states[col].str.fullmatch(r"-?\d+\.\d{2}").all(), col
    assert states["democracy"].str.fullmatch(r"[01]\.\d{3}").all()


def test_booleans_and_categories(states):
    for col in BOOLEAN_COLUMNS:
        assert set(states[col]) <= {"true", "false"}, col
    assert set(states["region"]) <= REGIONS
    assert set(states["nuclear_status"]) <= {"own", "nato_sharing", "none"}
    for col in ("nato_member", "eu_member"):
        ok = states[col].str.fullmatch(r"no|(19|20)\d{2}")
        assert ok.all(), col


def test_nuclear_status_own_iff_warheads(states):
    own = states["nuclear_status"] == "own"
    warheads = pd.to_numeric(states["nuclear_warheads"]) > 0
    assert (own == warheads).all()


def test_reference_columns_verbatim(states):
    # The reference table lives beside the repository in the development setup.
    ref = Path(__file__).resolve().parents[2] / "shared" / "reference" / "capabilities.csv"
    if not ref.exists():
        pytest.skip("reference CSV not available")
    reference = pd.read_csv(ref, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(states[REFERENCE_COLUMNS], reference)


def test_every_field_has_exactly_one_source(states, sources):
    assert list(sources.columns) == ["iso3", "field", "source", "confidence"]
    expected = {(i, f) for i in states["iso3"] for f in _data_fields(states)}
    got = list(zip(sources["iso3"], sources["field"], strict=True))
    assert len(got) == len(set(got)), "duplicate source rows"
    assert set(got) == expected
    assert set(sources["confidence"]) <= {"high", "medium", "low"}
    assert (sources["source"].str.strip() != "").all()


def test_model_assumptions_are_labelled(sources):
    attitudes = sources[sources["field"].isin(["us_attitude", "eu_attitude", "neutrality"])]
    unlabelled = attitudes[~attitudes["source"].str.contains("model assumption|Pew Research Center", regex=True)]
    assert unlabelled.empty, unlabelled


def test_groups_refer_to_states_and_do_not_shadow_blocs(states, groups, blocs_file):
    codes = set(states["iso3"])
    blocs = blocs_file["blocs"]
    for name, group in groups.items():
        assert name.isupper() and name.replace("_", "").isalnum(), name
        assert name not in blocs, f"group {name} collides with a bloc"
        assert name not in codes
        assert group["members"], name
        assert group["source"] and group["description"], name
        for member in group["members"]:
            assert member in codes or member in groups or member in blocs, (name, member)
    assert not {"NATO", "EU", "CWILL", "JEF", "UNION", "EDU"} & set(groups)


def test_group_definitions_match_columns(states, groups):
    flagged = set(states.loc[states["eu_candidate"] == "true", "iso3"])
    assert set(groups["EU_CANDIDATES"]["members"]) == flagged
    neutral = set(states.loc[states["neutral_tradition"] == "true", "iso3"])
    assert set(groups["NEUTRAL_STATES"]["members"]) == neutral
    own = set(states.loc[states["nuclear_status"] == "own", "iso3"])
    assert set(groups["NUCLEAR_STATES"]["members"]) == own
    sharing = set(states.loc[states["nuclear_status"] == "nato_sharing", "iso3"])
    assert set(groups["NUCLEAR_SHARING"]["members"]) == sharing
    assert not {"RUS", "BLR"} & set(groups["EUROPE"]["members"])


def test_bloc_schema(states, groups, blocs_file):
    codes = set(states["iso3"])
    assert set(blocs_file) == {"adversary", "blocs"}
    blocs = blocs_file["blocs"]
    assert set(blocs) == {"NATO", "EU", "CWILL", "JEF", "UNION", "EDU"}
    assert blocs_file["adversary"] in blocs
    for name, bloc in blocs.items():
        assert (
            BLOC_KEYS
            <= set(bloc)
            <= BLOC_KEYS
            | {"accession_quarters", "admits_disputed", "candidate_quarters", "accession_duration", "aspirant_duration"}
        ), (
            name,
            set(bloc) ^ BLOC_KEYS,
        )
        assert bloc["kind"] in {"alliance", "union", "coalition", "adversary"}
        assert bloc["admission"] in {
            "unanimity",
            "qualified_majority",
            "leader",
            "open",
            "closed",
        }
        assert (bloc["admission"] == "leader") == (bloc["leader"] is not None), name
        assert bloc["leader"] is None or bloc["leader"] in bloc["members"]
        assert isinstance(bloc["active"], bool) and isinstance(bloc["dynamic"], bool)
        for key in ("mutual_defence", "integration", "integration_growth", "integration_max"):
            assert 0 <= bloc[key] <= 1, (name, key)
        assert bloc["integration"] <= bloc["integration_max"]
        assert 0 <= bloc["spending_norm"] <= 100
        assert len(bloc["members"]) == len(set(bloc["members"]))
        assert set(bloc["members"]) <= codes, name
        for entry in bloc["eligible"]:
            assert entry in codes or entry in groups or entry in blocs, (name, entry)
        assert bloc["sources"] and all(isinstance(s, str) and s for s in bloc["sources"])
        if bloc["active"]:
            assert bloc["founding"] is None and bloc["members"], name
        else:
            assert bloc["members"] == []
            assert set(bloc["founding"]) == {"min_founders", "min_power_share"}
            assert 0 <= bloc["founding"]["min_power_share"] <= 1


def test_nato_and_eu_agree_with_accession_columns(states, blocs_file):
    blocs = blocs_file["blocs"]
    nato = set(states.loc[states["nato_member"] != "no", "iso3"])
    eu = set(states.loc[states["eu_member"] != "no", "iso3"])
    assert len(blocs["NATO"]["members"]) == 32
    assert set(blocs["NATO"]["members"]) == nato
    assert len(blocs["EU"]["members"]) == 27
    assert set(blocs["EU"]["members"]) == eu
    # the EU takes applications, with the slow accession of Art. 49 TEU (at least 32 quarters)
    assert blocs["EU"]["dynamic"] is True and blocs["EU"]["accession_quarters"] >= 8
    # the EU's accession duration is the fit to its accessions since 1987 (analysis.accession_durations)
    from analysis.accession_durations import eu_durations, fit_loglogistic

    data = eu_durations()
    median, shape = fit_loglogistic(data["quarters"], data["observed"])
    duration = blocs["EU"]["accession_duration"]
    assert abs(duration["median_quarters"] - median) < 0.1 and abs(duration["shape"] - shape) < 0.01
    assert blocs["NATO"]["accession_quarters"] >= 1


def test_coalitions(states, groups, blocs_file):
    blocs = blocs_file["blocs"]
    assert len(blocs["JEF"]["members"]) == 10
    assert blocs["JEF"]["leader"] == "GBR"
    nato = set(blocs["NATO"]["members"])
    expected = (nato - {"USA", "HUN", "MKD", "SVK", "CAN"}) | {"AUT", "CYP", "IRL"}
    assert set(blocs["CWILL"]["members"]) == expected
    assert set(blocs["CWILL"]["members"]) <= set(groups["EUROPE"]["members"])
    assert set(blocs["UNION"]["members"]) == {"RUS", "BLR"}
    assert blocs["EDU"]["active"] is False


def test_relations(states, groups, blocs_file, relations):
    codes = set(states["iso3"])
    blocs = blocs_file["blocs"]
    comps = relations["components"]
    assert set(comps["shared_membership"]["blocs"]) <= set(blocs)
    assert 0 <= comps["shared_membership"]["weight_per_bloc"] <= 1
    assert 0 <= comps["regime_similarity"]["weight"] <= 1
    import datetime as dt

    def totals_on(day: dt.date | None) -> dict[frozenset, float]:
        """Summed named relations of the entries that hold on ``day`` (None: today)."""
        totals: dict[frozenset, float] = {}
        for entry in relations["pairs"]:
            since, until = entry["since"], entry.get("until")
            holds = until is None if day is None else since <= day and (until is None or day < until)
            if not holds:
                continue
            for i, j in itertools.product(
                _expand(entry["a"], codes, groups, blocs), _expand(entry["b"], codes, groups, blocs)
            ):
                if i != j:
                    key = frozenset((i, j))
                    totals[key] = totals.get(key, 0.0) + entry["value"]
        return totals

    for entry in relations["pairs"]:
        assert {"a", "b", "value", "kind", "reason", "source", "since", "period_source"} <= set(entry), entry
        assert set(entry) <= {"a", "b", "value", "kind", "reason", "source", "since", "until", "period_source"}, entry
        assert entry["kind"] in {"dispute", "friction", "hostility", "friendship"}
        assert -1 <= entry["value"] <= 1
        assert entry["reason"] and entry["source"] and entry["period_source"]
        assert isinstance(entry["since"], dt.date) and (entry.get("until") is None or entry["since"] < entry["until"])
    # every summed pair stays within -1..1 today and on the first day of every quarter since 2005
    for day in [None] + [dt.date(y, m, 1) for y in range(2005, 2027) for m in (1, 4, 7, 10)]:
        for key, total in totals_on(day).items():
            assert -1 - 1e-9 <= total <= 1 + 1e-9, (day, sorted(key), total)
    totals = totals_on(None)
    assert totals[frozenset(("RUS", "UKR"))] == pytest.approx(-1.0)
    assert totals[frozenset(("RUS", "POL"))] < -0.5
    assert totals[frozenset(("RUS", "SRB"))] > totals[frozenset(("RUS", "POL"))]
    assert totals[frozenset(("USA", "DNK"))] < 0


def test_no_machine_paths_in_data_files():
    machine_root = "/" + "work" + "/"
    files = [DATA / n for n in ("states.csv", "state_sources.csv", "groups.yaml", "blocs.yaml")]
    files += [DATA / "relations.yaml", DOCS / "DATA.md", Path(__file__)]
    for path in files:
        if path.exists():
            assert machine_root not in path.read_text(), path
