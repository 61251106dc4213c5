"""A sweep's results: ONE SQLite file, RESULTS/results.sqlite, one row a trial.

Only the driver writes it (the trials return their results), so there is one writer. A row
is written when its trial ends, in one transaction: a sweep killed midway keeps every
finished trial, and its restart runs only the others.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from hadamhw.errors import HadamhwError

FILE = "results.sqlite"
# (column, SQL type, where its value comes from in a trial's record)
NUMBERS = (("lut_eq", "INTEGER", "lut_equivalents"), ("luts", "INTEGER", "luts"),
           ("ffs", "INTEGER", "ffs"), ("ram_bits", "INTEGER", "memory_bits"),
           ("fmax_mhz", "REAL", "fmax_mhz"), ("steps_per_second", "REAL", "steps_per_second"),
           ("cycles_per_step", "INTEGER", "cycles_per_step"))
COLUMNS = ("key", "ordinal", "label", "status", "reason", *(c for c, _, _ in NUMBERS),
           "seconds", "finished_at", "params", "tools", "provenance", "record")
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS trials (key TEXT PRIMARY KEY, ordinal INTEGER, label TEXT,
    status TEXT, reason TEXT, {", ".join(f"{c} {t}" for c, t, _ in NUMBERS)},
    seconds REAL, finished_at TEXT, params TEXT, tools TEXT, provenance TEXT, record TEXT);
"""
JSON_COLUMNS = ("params", "tools", "provenance", "record")


class SweepStore:
    """RESULTS/results.sqlite: the spec it ran (meta) and one row a finished trial."""

    def __init__(self, folder: str | Path, *, create: bool = True) -> None:
        self.folder = Path(folder)
        self.path = self.folder / FILE
        if not create and not self.path.is_file():
            raise HadamhwError(f"{self.folder}: no {FILE} (not a sweep's results folder)")
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path)
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise HadamhwError(f"{self.path}: not a sweep results database ({exc})") from None

    def close(self) -> None:
        self.db.close()

    def set_meta(self, name: str, value: str) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))

    def meta(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def finished(self) -> frozenset[str]:
        return frozenset(k for (k,) in self.db.execute("SELECT key FROM trials"))

    def add(self, result: dict, trial: dict, ordinal: int,
            provenance: dict | None = None) -> None:
        """Store one trial's result (a later result of the same key replaces it)."""
        record = result.get("record") or {}
        numbers = [record.get(source) for _, _, source in NUMBERS]
        params = {k: trial[k] for k in ("model", "generate", "fpga", "verify", "chosen")
                  if k in trial}
        row = (result["key"], ordinal, result["label"], result["status"], result["reason"],
               *numbers, result.get("seconds"), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               json.dumps(params, sort_keys=True), json.dumps(result.get("tools") or {}),
               json.dumps(provenance or {}, sort_keys=True), json.dumps(record, sort_keys=True))
        with self.db:
            self.db.execute(f"INSERT OR REPLACE INTO trials VALUES ({', '.join('?' * len(row))})",
                            row)

    def rows(self) -> list[dict]:
        """Every trial, in spec order; JSON columns decoded."""
        cursor = self.db.execute(f"SELECT {', '.join(COLUMNS)} FROM trials "
                                 "ORDER BY ordinal, label")
        return [decode(dict(zip(COLUMNS, row, strict=True))) for row in cursor]

    def failed(self) -> list[dict]:
        return [row for row in self.rows() if row["status"] != "ok"]

    def write_csv(self, path: str | Path) -> None:
        """Every trial's columns as CSV (parameters and tool versions as JSON text)."""
        columns = [c for c in COLUMNS if c != "record"]
        with Path(path).open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            for row in self.rows():
                writer.writerow([cell(row[c], c in JSON_COLUMNS) for c in columns])


def decode(row: dict) -> dict:
    for column in JSON_COLUMNS:
        row[column] = json.loads(row[column] or "{}")
    return row


def cell(value, as_json: bool) -> str:
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True) if as_json else str(value)


def import_rows(store: SweepStore, rows: Iterable[dict], source: str,
                origin: dict | None = None) -> int:
    """Rows of a committed export (docs/sweeps/NAME.json) as finished trials, each with its
    provenance (the export's `origin`: command, source, date; the row's own over it); an
    imported row's key is `imported-` and the digest of its content."""
    import hashlib

    count = 0
    for ordinal, row in enumerate(rows):
        text = json.dumps(row, sort_keys=True)
        key = "imported-" + hashlib.sha256(text.encode()).hexdigest()[:24]
        result = {"key": key, "label": row["label"], "status": row.get("status", "ok"),
                  "reason": row.get("reason", ""), "record": row["record"],
                  "seconds": row.get("seconds"), "tools": row.get("tools")}
        provenance = {"imported_from": source, **(origin or {}), **row.get("provenance", {})}
        store.add(result, {"model": {"name": row["label"]}}, ordinal, provenance)
        count += 1
    return count
