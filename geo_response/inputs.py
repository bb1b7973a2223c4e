"""Read input CSV files tolerantly, keeping every cell as the text it was and every row's line number.

pandas drops blank lines (so its row numbers are not file lines), rejects the whole file when one row
has an extra field ("Expected 7 fields, saw 8"), turns ``007`` into ``7`` and ``NA`` into a missing value.
:func:`read_csv_table` uses the :mod:`csv` module instead:

* every cell is a ``str`` exactly as written (``007``, ``+441234``, ``NA``, ``null``, ``NaN`` stay text;
  an empty cell is ``""``);
* each record has its file line number (the header is line 1; blank lines are counted but are not records;
  a record spanning lines has the number of its first line);
* a record with more fields than the header keeps its first fields and is flagged (``extra``): the caller
  ledgers or reports it; empty trailing fields (trailing commas) are ignored. A short record is padded
  with ``""``;
* the record count comes from the reader itself, independently of any later filtering.

Examples
--------
>>> import io, pathlib, tempfile
>>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> _ = p.write_text("id,name\\n007,NA\\n\\n8,x,extra\\n")
>>> t = read_csv_table(p)
>>> t.frame["id"].tolist(), t.lines.tolist(), t.extra.tolist(), t.records, t.blank_lines
(['007', '8'], [2, 4], [0, 1], 2, 1)
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from geo_response.errors import InputFileError

__all__ = ["CsvTable", "read_csv_table"]


@dataclass
class CsvTable:
    """A CSV file read as text.

    Attributes
    ----------
    frame : DataFrame
        One row per record, columns named by the header (repeats get ``.1``, ``.2``, as pandas does), every
        cell a ``str`` (``""`` when empty or missing from a short record).
    lines : ndarray of int
        File line number of each record (header = line 1).
    fields : ndarray of int
        Number of fields each record had.
    extra : ndarray of int
        Number of non-empty fields beyond the header's (0 for a well-formed record).
    header_fields : int
        Number of columns in the header.
    blank_lines : int
        Blank lines skipped (counted in the line numbers).
    lines_read : int
        Physical lines read, header included.
    """

    frame: pd.DataFrame
    lines: np.ndarray
    fields: np.ndarray
    extra: np.ndarray
    header_fields: int
    blank_lines: int
    lines_read: int

    @property
    def records(self) -> int:
        """Records read (blank lines excluded): the independent input count."""
        return int(len(self.lines))

    def extra_detail(self) -> pd.Series:
        """Ledger text for records with extra fields (``""`` for the others)."""
        text = pd.Series("", index=self.frame.index, dtype="object")
        bad = self.extra > 0
        text[bad] = [
            f"{n} fields, the header has {self.header_fields}: check for an unquoted comma" for n in self.fields[bad]
        ]
        return text


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            candidate = f"{name}.{seen[name]}"
            while candidate in seen:
                seen[name] += 1
                candidate = f"{name}.{seen[name]}"
            seen[candidate] = 0
            out.append(candidate)
        else:
            seen[name] = 0
            out.append(name)
    return out


def read_csv_table(path: str | Path, what: str = "file", skipinitialspace: bool = False) -> CsvTable:
    """Read a CSV file as text, with line numbers; bad records are flagged, never fatal.

    Parameters
    ----------
    path : str or Path
        A UTF-8 CSV (a byte-order mark is allowed) with a header row.
    what : str
        How to name the file in errors (``"incident file"``, ``"bases file"``...).
    skipinitialspace : bool
        Ignore spaces after a delimiter (``a, b``).

    Returns
    -------
    CsvTable

    Raises
    ------
    InputFileError
        When the file cannot be read at all: missing, not UTF-8, empty (no header), or not CSV.
    """
    p = Path(path)
    rows: list[list[str]] = []
    lines: list[int] = []
    blank = 0
    try:
        with open(p, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, skipinitialspace=skipinitialspace)
            header = next(reader, None)
            while header is not None and not header:  # blank lines before the header
                blank += 1
                header = next(reader, None)
            last = reader.line_num
            for record in reader:
                if not record:
                    blank += 1
                else:
                    rows.append(record)
                    lines.append(last + 1)
                last = reader.line_num
            lines_read = reader.line_num
    except FileNotFoundError as exc:
        raise InputFileError(f"{what} {p} does not exist; check the path") from exc
    except IsADirectoryError as exc:
        raise InputFileError(f"{what} {p} is a folder, not a CSV file") from exc
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{what} {p} is not UTF-8 text ({exc}); save it as a UTF-8 CSV") from exc
    except csv.Error as exc:
        raise InputFileError(f"{what} {p} is not a readable CSV near line {reader.line_num}: {exc}") from exc
    except OSError as exc:
        raise InputFileError(f"cannot read {what} {p}: {exc.strerror}") from exc
    if header is None:
        raise InputFileError(f"{what} {p} is empty: it has no header row")
    names = _unique([h.strip() for h in header])
    width = len(names)
    fields = np.array([len(r) for r in rows], dtype=np.int64)
    extra = np.array([sum(1 for v in r[width:] if v.strip()) for r in rows], dtype=np.int64)
    cells = [(r + [""] * (width - len(r)))[:width] for r in rows]
    frame = (
        pd.DataFrame(cells, columns=names, dtype=object)
        if rows
        else pd.DataFrame({n: pd.Series([], dtype=object) for n in names})
    )
    return CsvTable(
        frame=frame,
        lines=np.asarray(lines, dtype=np.int64),
        fields=fields,
        extra=extra,
        header_fields=width,
        blank_lines=blank,
        lines_read=lines_read,
    )
