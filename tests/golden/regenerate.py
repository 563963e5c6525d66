"""Rewrite tests/golden/digests.json after a deliberate change of results: `python -m tests.golden.regenerate`.

Run it only when a mechanism, a parameter or the data changed on purpose, and say so in the commit.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from tests.golden.digest import GOLDEN_RUN, golden_run, table_digest

ROOT = Path(__file__).resolve().parents[2]
DIGESTS = Path(__file__).with_name("digests.json")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = golden_run(Path(tmp) / "run", ROOT)
        digest = table_digest(path)
    DIGESTS.write_text(json.dumps({"run": GOLDEN_RUN, "replicates_digest": digest}, indent=2) + "\n", encoding="utf-8")
    print(f"{DIGESTS.relative_to(ROOT)}: {digest}")


if __name__ == "__main__":
    main()
