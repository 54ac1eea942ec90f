"""Wrong passwords are counted per client as well as per name, so nobody can lock someone else out.

Until now five wrong passwords for a name locked that name for everyone, `admin` included. Now they lock it only
for the client that typed them (a digest of its address), and a client that sprays many names is stopped too.
"""

import sqlite_utils


def apply(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE login_failures ADD COLUMN client_sha256 TEXT NOT NULL DEFAULT ''")
    db.table("login_failures").create_index(["client_sha256", "name_sha256", "failed_at"])
