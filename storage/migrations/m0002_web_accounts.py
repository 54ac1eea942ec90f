"""The web console: local accounts, one-time sign-in links, sessions, and chat threads with their messages."""

import sqlite_utils


def apply(db: sqlite_utils.Database) -> None:
    # A person who signs in to the web console; their id is the platform user id of platform "web".
    db.table("web_accounts").create(
        {
            "id": str,
            "name": str,
            "password_hash": str,  # NULL: signs in only through one-time links
            "is_admin": int,
            "created_at": str,
            "disabled_at": str,
        },
        pk="id",
        not_null={"name", "created_at"},
        defaults={"is_admin": 0},
    )
    db.execute("CREATE UNIQUE INDEX web_accounts_name ON web_accounts(name COLLATE NOCASE)")
    # Only the SHA-256 of a link's token is stored: a copy of the database signs nobody in.
    db.table("web_signin_links").create(
        {"token_sha256": str, "account_id": str, "created_at": str, "expires_at": str, "used_at": str},
        pk="token_sha256",
        foreign_keys=[("account_id", "web_accounts", "id")],
        not_null={"account_id", "created_at", "expires_at"},
    )
    db.table("web_sessions").create(
        {
            "id_sha256": str,
            "account_id": str,
            "csrf_token": str,
            "created_at": str,
            "expires_at": str,
            "ended_at": str,
        },
        pk="id_sha256",
        foreign_keys=[("account_id", "web_accounts", "id")],
        not_null={"account_id", "csrf_token", "created_at", "expires_at"},
    )
    db.table("web_sessions").create_index(["account_id"])

    # owner_account_id NULL: a shared thread every signed-in person sees; set: that person's private inbox
    # (its id is the account id), where notices to them land (someone used their cameo).
    db.table("web_threads").create(
        {"id": str, "title": str, "created_by": str, "created_at": str, "owner_account_id": str},
        pk="id",
        not_null={"title", "created_at"},
    )
    # Append-only chat history; a deleted clip's message keeps its row with deleted_at set.
    db.table("web_messages").create(
        {
            "id": int,
            "thread_id": str,
            "kind": str,  # text (a person) | reply (the service's answer) | clip | notice
            "account_id": str,
            "author": str,
            "text": str,
            "ok": int,
            "job_id": str,
            "clip_id": str,
            "reply_to": int,  # the message this one answers (a remix typed in a clip's reply box)
            "payload": str,  # JSON: what the delivery carried (caption, parent clip, sizes)
            "created_at": str,
            "deleted_at": str,
        },
        pk="id",
        foreign_keys=[("thread_id", "web_threads", "id")],
        not_null={"thread_id", "kind", "created_at"},
        defaults={"ok": 1},
    )
    db.table("web_messages").create_index(["thread_id", "id"])
    db.table("web_messages").create_index(["clip_id"])
