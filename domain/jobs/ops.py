"""Operations: which model versions exist on disk and which are active (GET /ops/models)."""

from __future__ import annotations

import json
from pathlib import Path


def model_versions(artifacts_dir: Path, active: dict[str, str], pose: dict) -> dict:
    """Every model version under `artifacts_dir/<family>/` with its stored metrics; `active`:
    family -> the version in use; `pose`: the pose model's entry (it has no artifact folder)."""
    out = {}
    for family, version in active.items():
        versions = []
        for path in sorted(p for p in (artifacts_dir / family).glob("*") if p.is_dir()):
            metrics_path = path / "metrics.json"
            metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
            versions.append({"version": path.name, "active": path.name == version,
                             "metrics": metrics})
        out[family] = {"active": version, "versions": versions}
    out["pose"] = pose
    return out
