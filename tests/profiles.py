"""A profile as the tests and benches run it: the repository's own, less its
`software-deployment-method` (conda), which this machine and CI lack; the rule environments are
checked to resolve by .ci/check-envs.sh and to hold their scripts' imports by tests/test_envs.py."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def without_conda(profile: str, dst: Path, **changes) -> Path:
    """profiles/<profile> copied to `dst` without conda deployment (plus `changes`); the
    profile's relative config files are made absolute so the copy works from anywhere."""
    prof = yaml.safe_load((ROOT / "profiles" / profile / "config.v8+.yaml").read_text())
    prof.pop("software-deployment-method", None)
    if "configfile" in prof:
        prof["configfile"] = [str(ROOT / f) for f in prof["configfile"]]
    prof.update(changes)
    dst.mkdir(parents=True, exist_ok=True)
    (dst / "config.v8+.yaml").write_text(yaml.safe_dump(prof, sort_keys=False))
    return dst
