"""JSON results on disk: one ``run`` result, or ``{"scenarios": [...]}`` of a comparison.

Written atomically like every other output (``model.xlsx.atomic_path``), in UTF-8 with the
Chinese kept readable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from model.xlsx import atomic_path


def write_json(payload: dict[str, Any], path: str | Path, force: bool = False) -> Path:
    """Write a JSON result atomically (UTF-8, Chinese kept readable)."""
    with atomic_path(path, force) as temporary:
        temporary.write_text(
            json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    return Path(path)
