"""The HTML report: one self-contained page plus its tables as CSV files.

:func:`build_report` (pure) computes a :class:`Report` from a dataset and plans;
:func:`write_report` writes it atomically under a lock. ``salesanalytics report`` on the
command line (:mod:`salesanalytics.cli_report`) does both. See ``docs/report.md``.
"""

from .build import Report, ReportOptions, Section, build_report
from .write import LOCK_NAME, REPORT_NAME, LockHeld, report_lock, write_report

__all__ = [
    "LOCK_NAME",
    "REPORT_NAME",
    "LockHeld",
    "Report",
    "ReportOptions",
    "Section",
    "build_report",
    "report_lock",
    "write_report",
]
