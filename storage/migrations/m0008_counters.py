"""Counters that only go up: refusals by reason, and the generation time of finished jobs.

`/metrics` used to derive these from audit rows and jobs, which `forgetme` deletes, so a Prometheus
counter could go down; deriving them also read whole tables on every scrape. One row per counter and
label, bumped in the transaction that records what it counts (`core.ops.counters`).

They start at zero here rather than from the rows still left: Prometheus reads the drop at the
upgrade as a counter reset, as it does after a restart.

The index on `jobs.finished_at` lets the busy ratio read only the jobs of its last few minutes.
"""

import sqlite_utils


def apply(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE counters (
             name TEXT NOT NULL,
             label TEXT NOT NULL DEFAULT '',
             value REAL NOT NULL DEFAULT 0,
             PRIMARY KEY (name, label)
           )"""
    )
    db.table("jobs").create_index(["finished_at"])
