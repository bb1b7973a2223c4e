"""Write outputs safely: never a formula into a spreadsheet, never a half-written file, never a user's file.

Every file geo-response writes goes through this module:

* :func:`write_csv` is the one CSV writer. Text cells that a spreadsheet would run as a formula (those
  beginning with ``= + - @``, a tab or a carriage return: the OWASP rule) get a leading ``'``; numbers,
  including negative ones, stay numbers. The file is written beside the target and renamed into place.
* :func:`write_text` and :func:`write_json` write text atomically in the same way.
* :class:`OutputFolder` is a transaction for a command whose ``--out`` is a folder: every file is written
  into a temporary folder beside the target and moved into place only when the run succeeds, so a run that
  fails leaves the previous outputs untouched. It refuses an ``--out`` that is, or contains, an input file,
  and it replaces only files it wrote itself (listed with their SHA-256 in :data:`MANIFEST_NAME`) unless
  ``overwrite=True``.
* :class:`OutputFile` is the same for a command whose ``--out`` is one file (plus companions such as
  ``<out>.json``).

Examples
--------
>>> import pandas as pd
>>> neutralise_frame(pd.DataFrame({"id": ["=1+1", "-0.5", "ok"], "x": [-1.5, 2.0, 3.0]}))["id"].tolist()
["'=1+1", '-0.5', 'ok']
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo_response.errors import OutputError

__all__ = [
    "MANIFEST_NAME",
    "OutputFile",
    "OutputFolder",
    "atomic_path",
    "check_not_input",
    "jsonable",
    "neutralise_cell",
    "neutralise_frame",
    "read_manifest",
    "sha256_file",
    "write_csv",
    "write_json",
    "write_text",
]

MANIFEST_NAME = ".geo-response-manifest.json"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: text that is a plain negative number (``-0.123``, ``-12``, ``-1e-3``): a spreadsheet reads it as a number
_NEGATIVE_NUMBER = re.compile(r"-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------
# CSV cells
# ------------------------------------------------------------------------------------------------
def neutralise_cell(value: Any) -> Any:
    """A cell made safe for a spreadsheet: ``'`` before text that begins with ``= + - @``, tab or CR.

    Numbers (int, float, bool, numpy scalars) and text that is a plain negative number are returned
    unchanged, so ``-0.123`` stays a number while ``-1+cmd|' /C calc'!A0`` and ``+441234`` become text.

    Examples
    --------
    >>> neutralise_cell('=HYPERLINK("http://evil")'), neutralise_cell("-12.5"), neutralise_cell(-3)
    ('\\'=HYPERLINK("http://evil")', '-12.5', -3)
    """
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    if _NEGATIVE_NUMBER.fullmatch(value):
        return value
    return "'" + value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names are neutralised (:func:`neutralise_cell`).

    Numeric, boolean and datetime columns are left alone (they are real values, not text).
    """
    frame = pd.DataFrame(df)
    columns = []
    for i in range(frame.shape[1]):
        series = frame.iloc[:, i]
        dtype = series.dtype
        if (
            pd.api.types.is_numeric_dtype(dtype)
            or pd.api.types.is_datetime64_any_dtype(dtype)
            or getattr(dtype, "name", "") == "geometry"
        ):
            columns.append(series)
            continue
        text_dtype = pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype)
        series = series.astype(object) if isinstance(dtype, pd.CategoricalDtype) else series
        cleaned = series.map(neutralise_cell, na_action="ignore")
        columns.append(cleaned.astype(dtype) if text_dtype else cleaned)
    out = pd.concat(columns, axis=1) if columns else frame.copy()
    out.columns = [neutralise_cell(c) for c in frame.columns]
    return out


# ------------------------------------------------------------------------------------------------
# Atomic files
# ------------------------------------------------------------------------------------------------
def _temp_name(target: Path) -> Path:
    """A hidden name beside ``target`` keeping its suffix (GDAL picks drivers by suffix)."""
    suffix = "".join(target.suffixes[-1:])
    return target.with_name(f".{target.stem}.tmp-{os.getpid()}-{secrets.token_hex(4)}{suffix}")


def _check_target(target: Path) -> None:
    if target.is_dir():
        raise OutputError(f"{target} is a folder, not a file; remove or rename it, or choose another output path")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(
            f"cannot write {target}: {target.parent} is a file, not a folder; choose another output path"
        ) from None
    except OSError as exc:
        raise OutputError(
            f"cannot create the folder {target.parent} ({exc.strerror}); choose a folder you can write to"
        ) from exc


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``, on error deleted.

    Use it for writers that take a file name (``GeoDataFrame.to_file``, ``folium.Map.save``)::

        with atomic_path("isochrones.gpkg") as tmp:
            iso.to_file(tmp, layer="isochrones", driver="GPKG")

    Raises
    ------
    OutputError
        If ``path`` is a folder or its folder cannot be created or written.
    """
    target = Path(path)
    _check_target(target)
    tmp = _temp_name(target)
    try:
        yield tmp
        if not tmp.exists():
            return
        os.replace(tmp, target)
    except IsADirectoryError as exc:
        raise OutputError(f"cannot write {target}: it is a folder; remove or rename it") from exc
    except PermissionError as exc:
        raise OutputError(f"cannot write {target}: permission denied; choose a folder you can write to") from exc
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def _open_new(path: Path, mode: str = "w", **kwargs: Any):
    """Open a new file honouring the umask (``tempfile`` would make it 0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    return os.fdopen(fd, mode, **kwargs)


def write_text(text: str, path: str | Path) -> Path:
    """Write UTF-8 text atomically (temporary file beside ``path``, then ``os.replace``)."""
    target = Path(path)
    with atomic_path(target) as tmp, _open_new(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    return target


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars, paths, NA and non-finite floats turned into JSON values (NaN -> null)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if np.isfinite(v) else None
    if isinstance(value, Path):
        return str(value)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (str, int, bool)):
        return value
    return str(value)


def write_json(data: Any, path: str | Path) -> Path:
    """Write ``data`` as indented JSON atomically (numpy values converted; NaN and inf as null)."""
    text = json.dumps(jsonable(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return write_text(text, path)


def write_csv(df: pd.DataFrame, path: str | Path, *, index: bool = False, **to_csv: Any) -> Path:
    """The one CSV writer: cells neutralised (:func:`neutralise_frame`), written atomically.

    Lines end with CRLF (RFC 4180), so a cell holding a bare carriage return is quoted and cannot break
    a row in a spreadsheet.

    Parameters
    ----------
    df : DataFrame
        A ``geometry`` column is written as WKT text; pass ``df.drop(columns="geometry")`` to leave it out.
    path : str or Path
    index : bool
        Write the index (default False).
    **to_csv
        Passed to :meth:`pandas.DataFrame.to_csv` (e.g. ``float_format``).

    Returns
    -------
    Path
    """
    target = Path(path)
    frame = neutralise_frame(pd.DataFrame(df))
    if index:
        frame.index = pd.Index([neutralise_cell(v) for v in frame.index], name=frame.index.name)
    with atomic_path(target) as tmp, _open_new(tmp, "w", encoding="utf-8", newline="") as f:
        frame.to_csv(f, index=index, **{"lineterminator": "\r\n", **to_csv})
    return target


def sha256_file(path: str | Path) -> str:
    """SHA-256 (hex) of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------------
# Inputs are never outputs
# ------------------------------------------------------------------------------------------------
def _input_paths(inputs: Iterable[Any]) -> list[Path]:
    """Every input as a real path (globs expanded; None skipped)."""
    import glob

    out: list[Path] = []
    for item in inputs:
        if item is None:
            continue
        if isinstance(item, (list, tuple, set)):
            out.extend(_input_paths(item))
            continue
        text = str(item)
        matches = glob.glob(text) if any(ch in text for ch in "*?[") else [text]
        out.extend(Path(os.path.realpath(m)) for m in matches)
    return out


def _same(a: Path, b: Path) -> bool:
    if a == b:
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_not_input(out: str | Path, inputs: Iterable[Any], folder: bool) -> None:
    """Refuse an output path that is an input, or (for a folder) contains one.

    Parameters
    ----------
    out : str or Path
        The ``--out`` path.
    inputs : iterable
        Input files, folders or glob patterns (None is skipped).
    folder : bool
        True when ``out`` is a folder of outputs: an input anywhere inside it is refused too.

    Raises
    ------
    OutputError
        Naming the input and what to do.
    """
    target = Path(os.path.realpath(out))
    for inp in _input_paths(inputs):
        inside = folder and target in inp.parents
        if _same(inp, target) or inside:
            what = "is" if not inside else "contains"
            raise OutputError(
                f"--out {out} {what} the input {inp}; writing there would destroy it. "
                "Choose another output " + ("folder" if folder else "file")
            )


# ------------------------------------------------------------------------------------------------
# The manifest of what geo-response wrote
# ------------------------------------------------------------------------------------------------
def read_manifest(folder: str | Path) -> dict[str, dict]:
    """Files geo-response wrote in ``folder``: relative path -> ``{"sha256", "bytes"}`` ({} when none).

    A damaged manifest counts as none (nothing there is then taken as ours).
    """
    path = Path(folder) / MANIFEST_NAME
    try:
        files = json.loads(path.read_text(encoding="utf-8")).get("files", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return files if isinstance(files, dict) else {}


def _write_manifest(folder: Path, files: dict[str, dict]) -> None:
    write_json(
        {
            "tool": "geo-response",
            "note": "files written by geo-response, with their SHA-256; "
            "geo-response replaces only these (unchanged) unless --overwrite is given",
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": dict(sorted(files.items())),
        },
        folder / MANIFEST_NAME,
    )


def _ours(path: Path, manifest: dict[str, dict], rel: str) -> bool:
    """True when ``path`` is a file geo-response wrote (listed, same SHA-256) and is not a link."""
    entry = manifest.get(rel)
    if not isinstance(entry, dict) or path.is_symlink() or not path.is_file():
        return False
    return entry.get("sha256") == sha256_file(path)


def _entry(path: Path) -> dict:
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size}


def _not_ours_error(paths: list[Path], where: str) -> OutputError:
    shown = ", ".join(str(p) for p in paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    verbs = ("exists", "was", "it") if len(paths) == 1 else ("exist", "were", "them")
    return OutputError(
        f"{shown} already {verbs[0]} and {verbs[1]} not written by geo-response (or changed "
        f"since); nothing was written. Pass --overwrite to replace {verbs[2]}, or choose another "
        f"{where}"
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _failure_note(exc: BaseException | None, message: str) -> None:
    logger.warning(message)
    if exc is not None and hasattr(exc, "add_note"):
        exc.add_note(message)


# ------------------------------------------------------------------------------------------------
# Transactions
# ------------------------------------------------------------------------------------------------
def _relative(name: str | Path) -> str:
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts or rel.name == MANIFEST_NAME:
        raise OutputError(f"output name {name!s} must be a plain relative path inside the output folder")
    return rel.as_posix()


class OutputFolder:
    """A transaction for a folder of outputs: all files appear together at the end, or none do.

    Parameters
    ----------
    folder : str or Path
        The ``--out`` folder (created when missing; an existing file is refused).
    inputs : iterable, optional
        Input files, folders or globs of the run: an ``--out`` that is or contains one is refused.
    overwrite : bool
        Replace existing files that geo-response did not write (or that were changed since). Default: refuse.
    expected : iterable of str, optional
        Names the run will write, checked when the transaction opens (before any slow work) as well as
        at the end.

    Examples
    --------
    In a workflow::

        with OutputFolder(out_dir, inputs=[incidents_path], overwrite=overwrite) as out:
            write_csv(ledger, out.path("ledger.csv"))
            write_json(summary, out.path("summary.json"))
            sub = out.folder("ncmg")            # a nested run writes into sub / "ledger.csv" ...
        # here every file is in place and listed in out_dir/.geo-response-manifest.json

    On an error inside the block nothing in ``out_dir`` changes, the temporary folder is deleted and the
    exception gets a note saying so (``exc.__notes__``; also logged as a warning).
    """

    def __init__(
        self, folder: str | Path, inputs: Iterable[Any] = (), overwrite: bool = False, expected: Iterable[str] = ()
    ) -> None:
        self.target = Path(os.path.abspath(folder))  # "--out ." has a real name and parent
        self.inputs = list(inputs)
        self.overwrite = overwrite
        self.expected = [_relative(n) for n in expected]
        self.tmp: Path | None = None
        self.written: dict[str, dict] = {}

    # -- opening ---------------------------------------------------------------------------------
    def _check(self) -> None:
        t = self.target
        if t.exists() and not t.is_dir():
            raise OutputError(f"--out {t} is a file, not a folder; give a folder path (it is created if missing)")
        check_not_input(t, self.inputs, folder=True)
        self._conflicts(self.expected)

    def _conflicts(self, names: Iterable[str]) -> None:
        manifest = read_manifest(self.target) if self.target.is_dir() else {}
        clash = []
        for rel in names:
            dest = self.target / rel
            if dest.is_dir() and not dest.is_symlink():
                raise OutputError(
                    f"{dest} is a folder where the output file {rel} goes; remove or rename it (nothing was written)"
                )
            if (dest.exists() or dest.is_symlink()) and not self.overwrite and not _ours(dest, manifest, rel):
                clash.append(dest)
        if clash:
            raise _not_ours_error(clash, "--out folder")

    def __enter__(self) -> OutputFolder:
        import tempfile

        self._check()
        parent = self.target.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            try:
                self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.tmp-", dir=parent))
            except PermissionError:
                if not self.target.is_dir():
                    raise
                # a writable folder in a read-only parent: stage the files inside it (still renamed at the end)
                self.tmp = Path(tempfile.mkdtemp(prefix=".geo-response.tmp-", dir=self.target))
        except FileExistsError:
            raise OutputError(f"--out {self.target}: {parent} is a file, not a folder; choose another --out") from None
        except OSError as exc:
            raise OutputError(
                f"cannot write in {parent} ({exc.strerror}); choose an --out folder you can write to"
            ) from exc
        return self

    # -- during the run --------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        """The temporary folder itself, for writers that take a folder (``write_siting(run, out.root)``)."""
        if self.tmp is None:
            raise OutputError("OutputFolder.root is for use inside 'with OutputFolder(...) as out:'")
        return self.tmp

    def path(self, name: str | Path) -> Path:
        """Where to write the output ``name`` (relative): a path in the temporary folder."""
        if self.tmp is None:
            raise OutputError("OutputFolder.path() is for use inside 'with OutputFolder(...) as out:'")
        rel = _relative(name)
        dest = self.target / rel
        if dest.is_dir() and not dest.is_symlink():
            raise OutputError(
                f"{dest} is a folder where the output file {rel} goes; remove or rename it (nothing was written)"
            )
        p = self.tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def folder(self, name: str | Path) -> Path:
        """A sub-folder of the outputs (in the temporary folder) for a nested run to write into."""
        if self.tmp is None:
            raise OutputError("OutputFolder.folder() is for use inside 'with OutputFolder(...) as out:'")
        p = self.tmp / _relative(name)
        p.mkdir(parents=True, exist_ok=True)
        return p

    # -- closing ---------------------------------------------------------------------------------
    def _files(self) -> list[str]:
        tmp = self.root
        return sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file() and p.name != MANIFEST_NAME)

    def _commit(self) -> None:
        names = self._files()
        self._conflicts(names)
        new = {rel: _entry(self.tmp / rel) for rel in names}
        if not self.target.exists():
            _write_manifest(self.tmp, new)
            os.chmod(self.tmp, 0o777 & ~_umask())
            os.rename(self.tmp, self.target)
            self.written = new
            return
        old = read_manifest(self.target)
        for rel in old:  # files of the previous run that this run does not write: remove, or runs mix
            dest = self.target / rel
            if rel not in new and _ours(dest, old, rel):
                dest.unlink()
        for rel in names:
            dest = self.target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.tmp / rel, dest)
        _write_manifest(self.target, new)
        self.written = new

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if exc_type is None:
                try:
                    self._commit()
                except OSError as err:
                    if isinstance(err, OutputError):
                        raise
                    raise OutputError(
                        f"cannot move the outputs into {self.target} ({err}); the previous outputs there are untouched"
                    ) from err
            else:
                what = (
                    "the previous outputs there are untouched" if self.target.exists() else "no output folder was made"
                )
                _failure_note(exc, f"the run failed, so nothing was written to {self.target}: {what}")
        finally:
            if self.tmp is not None and self.tmp.exists():
                shutil.rmtree(self.tmp, ignore_errors=True)
        return False


class OutputFile:
    """A transaction for one output file (and companions such as ``<out>.json``).

    Parameters
    ----------
    path : str or Path
        The ``--out`` file: a travel-times CSV, an isochrones GeoPackage, a map's HTML.
    inputs : iterable, optional
        Input files of the run: an ``--out`` that is one of them is refused.
    overwrite : bool
        Replace an existing file geo-response did not write (recognised by the manifest of its folder).
    companions : iterable of str
        Suffixes of files written beside it, e.g. ``(".json",)`` for ``<out>.json``.

    Examples
    --------
    ::

        with OutputFile(out, inputs=[points_csv], overwrite=overwrite, companions=(".json",)) as f:
            write_csv(table, f.path)
            write_json(summary, f.companion(".json"))
        # or, for writers that need the real suffix: iso.to_file(f.path, driver="GPKG")

    Nothing is replaced unless the block succeeds (each file is renamed into place at the end).
    """

    def __init__(
        self, path: str | Path, inputs: Iterable[Any] = (), overwrite: bool = False, companions: Iterable[str] = ()
    ) -> None:
        self.target = Path(path)
        self.inputs = list(inputs)
        self.overwrite = overwrite
        self.companions = list(companions)
        self._temps: dict[Path, Path] = {}

    def _targets(self) -> list[Path]:
        return [self.target] + [Path(str(self.target) + s) for s in self.companions]

    def __enter__(self) -> OutputFile:
        for t in self._targets():
            check_not_input(t, self.inputs, folder=False)
            _check_target(t)
        folder = self.target.parent
        manifest = read_manifest(folder)
        clash = [
            t
            for t in self._targets()
            if (t.exists() or t.is_symlink()) and not self.overwrite and not _ours(t, manifest, t.name)
        ]
        if clash:
            raise _not_ours_error(clash, "--out file")
        for t in self._targets():
            self._temps[t] = _temp_name(t)
        try:
            for tmp in self._temps.values():  # an unwritable folder fails here, before the run
                _open_new(tmp).close()
                tmp.unlink()
        except OSError as exc:
            raise OutputError(f"cannot write in {folder} ({exc.strerror}); choose an --out you can write to") from exc
        return self

    @property
    def path(self) -> Path:
        """The temporary path to write the main file to (same suffix as the target)."""
        return self._temps[self.target]

    def companion(self, suffix: str) -> Path:
        """The temporary path of the companion ``<out><suffix>`` (declared in ``companions``)."""
        return self._temps[Path(str(self.target) + suffix)]

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if exc_type is None:
                manifest = read_manifest(self.target.parent)
                for target, tmp in self._temps.items():
                    if tmp.exists():
                        os.replace(tmp, target)
                        manifest[target.name] = _entry(target)
                _write_manifest(self.target.parent, manifest)
            else:
                _failure_note(
                    exc,
                    f"the run failed, so {self.target} was not written"
                    + (" (the previous file is untouched)" if self.target.exists() else ""),
                )
        finally:
            for tmp in self._temps.values():
                if tmp.is_dir():
                    shutil.rmtree(tmp, ignore_errors=True)
                else:
                    tmp.unlink(missing_ok=True)
        return False
