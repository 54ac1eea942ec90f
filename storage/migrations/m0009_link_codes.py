"""Account linking: one-time link codes, wrong-code tries, and a ledger whose owner may change on a merge.

`link` hands a person a short code to type on their other account; only the SHA-256 of the code is
stored, so a copy of the database redeems nothing. Wrong tries are kept per account so that a restart
does not reset the limit that stops codes from being guessed.

Joining an account that already has history moves its quota ledger rows to the person's user. The ledger
stays append-only for what counts (amounts, kinds, periods, jobs); only `user_id` may now be updated.
"""

import sqlite_utils


def apply(db: sqlite_utils.Database) -> None:
    db.table("link_codes").create(
        {
            "code_sha256": str,
            "user_id": str,  # the person the redeeming account joins
            "platform": str,  # the account that asked: it cannot redeem its own code
            "platform_user_id": str,
            "created_at": str,
            "expires_at": str,
            "used_at": str,  # set once redeemed, or when the code was shown where others could see it
        },
        pk="code_sha256",
        foreign_keys=[("user_id", "users", "id")],
        not_null={"user_id", "platform", "platform_user_id", "created_at", "expires_at"},
    )
    db.table("link_codes").create_index(["user_id"])
    db.table("link_failures").create(
        {"id": int, "platform": str, "platform_user_id": str, "failed_at": str},
        pk="id",
        not_null={"platform", "platform_user_id", "failed_at"},
    )
    db.table("link_failures").create_index(["platform", "platform_user_id", "failed_at"])

    db.execute("DROP TRIGGER quota_ledger_append_only")
    db.execute(
        "CREATE TRIGGER quota_ledger_append_only BEFORE UPDATE OF id, job_id, kind, credits, period, created_at, note"
        " ON quota_ledger BEGIN SELECT RAISE(ABORT, 'the quota ledger is append-only'); END"
    )
