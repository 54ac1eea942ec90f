"""Requests survive a crash between a platform handing them over and the core admitting them.

`inbox` keeps each platform update (a Telegram update, a Discord interaction) as it arrived, until it has been
handled. A platform is told "received" only once the row is written, so a kill in between loses nothing; on the
next start the unhandled rows are handled. `jobs.request_key` names the request a job was made for: admitting
the same request again (a re-delivered update, a replayed inbox row) finds that job instead of making another.
"""

import sqlite_utils


def apply(db: sqlite_utils.Database) -> None:
    db.table("inbox").create(
        {
            "platform": str,
            "request_key": str,  # unique per platform: "update:<update_id>", "interaction:<id>"
            "payload": str,  # the update as the platform sent it (JSON)
            "received_at": str,
            "handled_at": str,  # NULL until the request was answered (a job, or a refusal)
        },
        pk=("platform", "request_key"),
        not_null={"platform", "request_key", "payload", "received_at"},
    )
    db.execute("CREATE INDEX inbox_unhandled ON inbox(platform, received_at) WHERE handled_at IS NULL")
    db.execute("ALTER TABLE jobs ADD COLUMN request_key TEXT")
    db.execute("CREATE UNIQUE INDEX jobs_request_key ON jobs(request_key) WHERE request_key IS NOT NULL")
