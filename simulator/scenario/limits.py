"""The documented limits of every input, defined once (docs/RELIABILITY.md, docs/SCENARIOS.md).

They are checked before any work starts: by the YAML loader (nesting, size), by the scenario
language and the sweep file (numbers, grid size) and by the command-line options (replicates, seeds).
No imports: the loader, the schema and the CLI read them.
"""

from __future__ import annotations

#: deepest nesting of mappings and lists in a YAML file or a --set value (the shipped files use at most 6)
MAX_YAML_DEPTH = 32
#: most nodes (scalars, lists, mappings) in a YAML document, every alias counted at its expanded size
MAX_YAML_NODES = 200_000
#: most parts of a dotted key (``--set a.b.c=...``, a swept key)
MAX_KEY_PARTS = MAX_YAML_DEPTH

#: replicates of a run, of a sweep point or of a backtest episode
MAX_REPLICATES = 10_000_000
#: root seeds are 0 .. 2^63 - 1 (they feed 64-bit counter-based streams)
MAX_SEED = 2**63 - 1
#: points of a sweep (a grid's product of levels, or a sampled design's rows); each point is a scenario
#: validated before the sweep starts (about 3 ms each)
MAX_SWEEP_POINTS = 100_000

#: the magnitude of any number in a scenario or sweep file that has no narrower documented range
MAX_ABS_NUMBER = 1e9

#: the largest value of each world figure (world.overrides, world.add_states): ten to a hundred times
#: the largest state's or the whole world's, so that pooled power, spending and ratios stay finite
WORLD_MAX: dict[str, float] = {
    "milex_usd_m": 10_000_000,  # US$ 10 trillion a year (the US: about 1 trillion)
    "gdp_usd_bn": 1_000_000,  # US$ 1,000 trillion (the world: about 110 trillion)
    "population_m": 10_000,  # 10 billion people
    "active_personnel_k": 100_000,  # 100 million
    "reserve_personnel_k": 100_000,
    "nuclear_warheads": 100_000,  # the world's peak stockpile was about 70,000
    "tanks": 1_000_000,
    "combat_aircraft": 1_000_000,
}
