"""Write a :class:`~.build.Report` safely: a lock, a temporary folder, then renames.

* :func:`report_lock` makes ``OUT/.salesanalytics-report.lock`` with ``O_CREAT | O_EXCL``
  and writes the PID into it. A lock whose process is dead (stale) is taken over; a live one
  raises :class:`LockHeld` (the command exits 2).
* :func:`write_report` writes the page and every CSV file into a temporary folder inside
  ``OUT`` (same file system), then renames each file into place (``os.replace``, atomic), the
  HTML page last. A run that fails or is killed before the renames leaves every previous
  file untouched; the temporary folder is removed on failure, and one left by a killed run
  is removed by the next run.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..io.write import write_csv_atomic
from ..quality import DataError
from .build import Report

__all__ = ["LOCK_NAME", "REPORT_NAME", "TMP_PREFIX", "LockHeld", "report_lock", "write_report"]

REPORT_NAME = "report.html"
LOCK_NAME = ".salesanalytics-report.lock"
TMP_PREFIX = ".salesanalytics-report-tmp-"
MANIFEST_NAME = ".salesanalytics-report.files"
"""Names of the files the last run wrote (so tables a new run no longer makes are removed)."""
YOUNG_LOCK_SECONDS = 30.0
"""A lock file without a readable PID is treated as being written until it is this old."""


class LockHeld(DataError):
    """Another report run holds the lock of the output folder."""


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError as exc:  # pragma: no cover - other platforms
        return exc.errno != errno.ESRCH
    return True


def _holder(lock: Path) -> int | None:
    """The PID in the lock file, or None when it cannot be read (yet)."""
    try:
        text = lock.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _is_stale(lock: Path) -> bool:
    pid = _holder(lock)
    if pid is not None:
        return not _pid_alive(pid)
    try:
        age = time.time() - lock.stat().st_mtime
    except FileNotFoundError:
        return True
    return age > YOUNG_LOCK_SECONDS


def _held(lock: Path) -> LockHeld:
    pid = _holder(lock)
    who = f"process {pid}" if pid is not None else "another process"
    return LockHeld(
        f"another report run ({who}) is writing to {lock.parent}; wait for it to finish, "
        f"or remove {lock} if that process is gone"
    )


@contextmanager
def report_lock(out: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the output folder's lock for the duration of the ``with`` block.

    Raises
    ------
    LockHeld
        Another live process holds the lock.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as out:
    ...     with report_lock(out) as lock:
    ...         print(lock.name, lock.read_text() == str(os.getpid()))
    ...     lock.exists()
    .salesanalytics-report.lock True
    False
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_NAME
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if not _is_stale(lock):
                raise _held(lock) from None
            # take over: move the stale file aside atomically (only one taker wins), check
            # that what was moved is still the stale lock, then try to create again
            aside = folder / f"{LOCK_NAME}.stale-{os.getpid()}"
            try:
                os.replace(lock, aside)
            except FileNotFoundError:
                continue
            if not _is_stale(aside):  # a new lock appeared in between: put it back
                try:
                    os.link(aside, lock)
                finally:
                    aside.unlink(missing_ok=True)
                raise _held(lock) from None
            aside.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(str(os.getpid()))
        break
    else:
        raise _held(lock)
    try:
        yield lock
    finally:
        if _holder(lock) == os.getpid():
            lock.unlink(missing_ok=True)


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def remove_leftovers(out: str | os.PathLike[str]) -> list[Path]:
    """Remove temporary folders left in ``out`` by killed runs (call it under the lock)."""
    gone = []
    for path in Path(out).glob(f"{TMP_PREFIX}*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            gone.append(path)
    return gone


def write_report(
    report: Report, out: str | os.PathLike[str], *, plotly_js: str | None = None
) -> list[Path]:
    """Write ``report.html`` and one CSV file per table into ``out``, atomically per file.

    Everything is written into a temporary folder in ``out`` first; only when all files are
    complete are they renamed into place (CSV files first, the page last). Tables are written
    by :func:`salesanalytics.io.write.write_csv_atomic`: UTF-8, text cells that a spreadsheet
    would run as formulas prefixed with ``'``.

    Returns
    -------
    list of Path
        The files written, the page first.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    page = report.html(plotly_js)  # render before touching the folder: a bug leaves no trace
    tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=folder))
    try:
        names = []
        for name, frame in report.tables.items():
            write_csv_atomic(frame, tmp / f"{name}.csv")
            names.append(f"{name}.csv")
        _write_text(tmp / REPORT_NAME, page)
        _write_text(tmp / MANIFEST_NAME, "\n".join([REPORT_NAME, *names]) + "\n")
        previous = _manifest(folder)
        for name in [*names, MANIFEST_NAME, REPORT_NAME]:
            os.replace(tmp / name, folder / name)
        for name in previous - {REPORT_NAME, *names}:
            (folder / name).unlink(missing_ok=True)  # tables this run no longer makes
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [folder / REPORT_NAME, *(folder / n for n in names)]


def _manifest(folder: Path) -> set[str]:
    try:
        lines = (folder / MANIFEST_NAME).read_text(encoding="utf-8").splitlines()
    except OSError:
        return set()
    return {n for n in lines if n.endswith(".csv") and "/" not in n and not n.startswith(".")}
