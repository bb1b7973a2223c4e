"""A calibration that travels: the fitted delay scale with what it was fitted on, hashed.

Fitting (``compliance --calibrate-to``) writes ``calibration.json``; every modelled command takes it back with
``--calibration FILE``. :meth:`CalibrationRecord.read` refuses a record whose fields no longer match its hash,
:meth:`CalibrationRecord.check` one fitted on another network or policy (unless forced).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from geo_response.errors import ComplianceError
from geo_response.outputs import jsonable, sha256_file, write_json

__all__ = ["CalibrationRecord", "load", "stamp"]

FORMAT = "geo-response calibration 1"


@dataclass(frozen=True)
class CalibrationRecord:
    """A fitted delay scale and its provenance; ``hash`` is the sha256 of the canonical JSON of the rest."""

    delay_scale: float
    target_rate: float
    achieved_rate: float | None
    categories: tuple[str, ...]
    policy: str
    network_sha256: str | None
    network_label: str | None
    force_profile_sha256: str | None
    period: dict = field(default_factory=dict)
    incident_files: tuple = ()
    seed: int | None = None
    draws: int | None = None
    fitted_at: str | None = None
    path: str | None = field(default=None, compare=False)

    # ------------------------------------------------------------------ hashing
    def fields(self) -> dict:
        """The hashed fields, JSON-ready (``path`` and ``hash`` excluded)."""
        d = asdict(self)
        d.pop("path")
        return jsonable(d)

    @property
    def hash(self) -> str:
        """sha256 of the canonical JSON (sorted keys, no spaces) of :meth:`fields`."""
        text = json.dumps(self.fields(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict:
        """What ``calibration.json`` holds."""
        return {"format": FORMAT, **self.fields(), "hash": self.hash}

    def stamp(self) -> dict:
        """What an output records of the calibration it used."""
        return {
            "file": Path(self.path).name if self.path else "calibration.json",
            "hash": self.hash,
            "delay_scale": self.delay_scale,
            "target_rate": self.target_rate,
            "policy": self.policy,
        }

    # ------------------------------------------------------------------ building
    @classmethod
    def from_result(
        cls,
        result: Any,
        area: Any,
        policy: str,
        summary: dict | None = None,
        period: dict | None = None,
        fitted_at: str | None = None,
    ) -> CalibrationRecord:
        """The record of a :class:`geo_response.compliance.model.CalibrationResult` fitted on ``area``."""
        from geo_response.compliance.report import now_utc

        net = area.network_summary()
        files = []
        for f in (summary or {}).get("input_files", []):
            p = Path(f["file"])
            files.append({"name": p.name, "sha256": sha256_file(p) if p.is_file() else None})
        return cls(
            delay_scale=float(result.delay_scale),
            target_rate=float(result.target_rate),
            achieved_rate=float(result.achieved_rate),
            categories=tuple(result.categories),
            policy=area.policy(policy).name,
            network_sha256=net.get("source_sha256"),
            network_label=net.get("label"),
            force_profile_sha256=area.force.sha256,
            period=dict(period or {}),
            incident_files=tuple(files),
            seed=None if result.seed is None else int(result.seed),
            draws=None if result.draws is None else int(result.draws),
            fitted_at=fitted_at or now_utc(),
        )

    # ------------------------------------------------------------------ files
    def write(self, path: str | Path) -> Path:
        """Write ``calibration.json`` (atomically, via :func:`geo_response.outputs.write_json`)."""
        return write_json(self.to_dict(), path)

    @classmethod
    def read(cls, path: str | Path) -> CalibrationRecord:
        """Read a record, refusing one whose fields do not match its hash (a changed record)."""
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ComplianceError(f"calibration file {p} does not exist") from None
        except (OSError, ValueError) as exc:
            raise ComplianceError(f"calibration file {p} is not a readable calibration record ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT or "hash" not in data:
            raise ComplianceError(f"calibration file {p} is not a geo-response calibration record")
        try:
            rec = cls(
                delay_scale=float(data["delay_scale"]),
                target_rate=float(data["target_rate"]),
                achieved_rate=data.get("achieved_rate"),
                categories=tuple(data["categories"]),
                policy=str(data["policy"]),
                network_sha256=data.get("network_sha256"),
                network_label=data.get("network_label"),
                force_profile_sha256=data.get("force_profile_sha256"),
                period=dict(data.get("period") or {}),
                incident_files=tuple(data.get("incident_files") or ()),
                seed=data.get("seed"),
                draws=data.get("draws"),
                fitted_at=data.get("fitted_at"),
                path=str(p),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ComplianceError(f"calibration file {p} is incomplete ({exc})") from None
        if rec.hash != data["hash"]:
            raise ComplianceError(
                f"calibration file {p} was changed after fitting: its fields do not match its "
                "hash; refit with --calibrate-to"
            )
        if not rec.delay_scale > 0:
            raise ComplianceError(f"calibration file {p}: delay_scale must be positive")
        return rec

    def check(self, area: Any, policy: str, force: bool = False) -> CalibrationRecord:
        """Refuse a record fitted on another network or policy (unless ``force``); returns the record."""
        if force:
            return self
        name = area.policy(policy).name
        where = Path(self.path).name if self.path else "the calibration record"
        if self.policy != name:
            raise ComplianceError(
                f"{where} was fitted under policy {self.policy!r}, not {name!r}; refit, or pass "
                "--force-calibration to use it anyway"
            )
        sha = area.network_summary().get("source_sha256")
        if self.network_sha256 and sha and self.network_sha256 != sha:
            raise ComplianceError(
                f"{where} was fitted on another network ({self.network_label}, sha256 "
                f"{self.network_sha256[:12]}…, not {sha[:12]}…); refit, or pass "
                "--force-calibration to use it anyway"
            )
        return self


def load(calibration: Any, area: Any, policy: str, force: bool = False) -> CalibrationRecord | None:
    """A record (or path to one) read, verified and checked against ``area`` and ``policy``; None stays None."""
    if calibration is None:
        return None
    rec = calibration if isinstance(calibration, CalibrationRecord) else CalibrationRecord.read(calibration)
    return rec.check(area, policy, force=force)


def stamp(record: CalibrationRecord | None) -> str:
    """A short line naming the calibration used, for legends, titles and reports."""
    if record is None:
        return "calibration: none (delay scale 1)"
    name = Path(record.path).name if record.path else "calibration.json"
    return f"calibration: {name} {record.hash[:12]} (delay scale x{record.delay_scale:.4f})"
