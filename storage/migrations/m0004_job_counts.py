"""Jobs counted by state, kept by triggers: admission asks "how many are queued?" in O(1).

Counting the `jobs` index took ~0.5 ms with 10,000 jobs queued, half of admission's time in the
writer thread; the triggers keep one row per state in step with every insert, update and delete.
"""

import sqlite_utils


def apply(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE job_counts (state TEXT PRIMARY KEY, n INTEGER NOT NULL)")
    db.execute("INSERT INTO job_counts (state, n) SELECT state, COUNT(*) FROM jobs GROUP BY state")
    db.execute(
        """CREATE TRIGGER job_counts_insert AFTER INSERT ON jobs BEGIN
             INSERT INTO job_counts (state, n) VALUES (NEW.state, 1)
               ON CONFLICT (state) DO UPDATE SET n = n + 1;
           END"""
    )
    db.execute(
        """CREATE TRIGGER job_counts_update AFTER UPDATE OF state ON jobs WHEN OLD.state IS NOT NEW.state BEGIN
             UPDATE job_counts SET n = n - 1 WHERE state = OLD.state;
             INSERT INTO job_counts (state, n) VALUES (NEW.state, 1)
               ON CONFLICT (state) DO UPDATE SET n = n + 1;
           END"""
    )
    db.execute(
        """CREATE TRIGGER job_counts_delete AFTER DELETE ON jobs BEGIN
             UPDATE job_counts SET n = n - 1 WHERE state = OLD.state;
           END"""
    )
