"""Daily usage follows the platform account, not the internal user (#16 finding 3).

Credits were counted by `users.id`, so `unlink` (the detached account becomes a new user) or `forgetme` (the user
is deleted) gave the same account a fresh daily allowance. Each ledger row now also names the account that spent
it, as a keyed digest of platform and account id, and `forgetme` leaves behind only `quota_carryover`: per account
digest and quota day, the credits used, kept until that day ends. The key is random per database, so a digest
cannot be matched against a list of known account ids without it.
"""

import secrets

import sqlite_utils


def apply(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE quota_ledger ADD COLUMN account_sha256 TEXT")
    db.table("quota_ledger").create_index(["account_sha256", "period"])
    # Which account spent a row is as fixed as its amount: only `user_id` may change (a merge, migration 9).
    db.execute("DROP TRIGGER quota_ledger_append_only")
    db.execute(
        "CREATE TRIGGER quota_ledger_append_only BEFORE UPDATE OF id, job_id, kind, credits, period, created_at, note,"
        " account_sha256 ON quota_ledger BEGIN SELECT RAISE(ABORT, 'the quota ledger is append-only'); END"
    )
    db.execute(
        """CREATE TABLE quota_carryover (
             account_sha256 TEXT NOT NULL,
             period TEXT NOT NULL,
             credits_used INTEGER NOT NULL,
             PRIMARY KEY (account_sha256, period)
           )"""
    )
    db.table("quota_carryover").create_index(["period"])
    db.execute("CREATE TABLE quota_account_key (id INTEGER PRIMARY KEY CHECK (id = 1), key TEXT NOT NULL)")
    db.execute("INSERT INTO quota_account_key (id, key) VALUES (1, ?)", [secrets.token_hex(32)])
