"""Remember whether a delivery's earlier post may have reached the platform.

A post can land while its answer is lost: a timeout after the upload, a dropped connection, a crash
between the platform's reply and `delivery_sent`. Retrying such a post blindly shows the clip twice.
`posting` is set while an attempt is in flight; a claim that finds it still set (the adapter died) or an
attempt that ended without a clear answer sets `in_doubt`, which the next claim hands to the adapter so it
can look before posting again (or post in a way the platform de-duplicates).
"""

import sqlite_utils


def apply(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE deliveries ADD COLUMN posting INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE deliveries ADD COLUMN in_doubt INTEGER NOT NULL DEFAULT 0")
