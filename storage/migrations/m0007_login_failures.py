"""Wrong passwords at the web console's sign-in, kept so that a restart does not reset the lockout."""

import sqlite_utils


def apply(db: sqlite_utils.Database) -> None:
    db.table("login_failures").create(
        {
            "id": int,
            # SHA-256 of the name as typed, trimmed and lowercased: a password typed into the name field
            # by mistake must not land on disk in clear.
            "name_sha256": str,
            "failed_at": str,
        },
        pk="id",
        not_null={"name_sha256", "failed_at"},
    )
    # Counting one name's recent failures, and pruning everyone's old ones.
    db.table("login_failures").create_index(["name_sha256", "failed_at"])
    db.table("login_failures").create_index(["failed_at"])
