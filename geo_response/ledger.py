"""The ledger: every input row accepted or rejected, with a reason; warnings on accepted rows.

A low-level module used by the loaders, classification, grading and the response model (it imports
nothing else of the package), so none of them needs another's internals.

Columns: ``file, row_number, incident_id, status ('rejected' | 'warning'), reason, detail``.
"""

from __future__ import annotations

import pandas as pd

LEDGER_COLUMNS = ["file", "row_number", "incident_id", "status", "reason", "detail"]


def ledger_rows(
    frame: pd.DataFrame, reason: str | pd.Series, detail: str | pd.Series, status: str = "warning"
) -> pd.DataFrame:
    """Ledger rows (``file, row_number, incident_id, status, reason, detail``) for some incidents."""
    idx = frame.index

    def col(name: str) -> pd.Series:
        return frame[name] if name in frame.columns else pd.Series(None, index=idx, dtype="object")

    out = pd.DataFrame(
        {"file": col("source_file"), "row_number": col("row_number"), "incident_id": col("incident_id")},
        index=idx,
    )
    out["status"] = status
    out["reason"] = reason
    out["detail"] = detail
    return out.reset_index(drop=True)[LEDGER_COLUMNS]
