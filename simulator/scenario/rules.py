"""The admission rules of a bloc and their integer codes, defined once (no imports: the engine's mechanisms read it)."""

from __future__ import annotations

#: rule name -> the integer code of World.admission, read by the numpy phases, the kernels and the reference twin
ADMISSION_CODES = {"open": 0, "unanimity": 1, "qualified_majority": 2, "leader": 3, "closed": 4}
