"""The first schema: people, jobs, clips, the outbox, cameos, the quota ledger and audit events."""

import sqlite_utils


def apply(db: sqlite_utils.Database) -> None:
    # A person, however many platform accounts they use.
    db.table("users").create(
        {"id": str, "display_name": str, "is_admin": int, "created_at": str, "deleted_at": str},
        pk="id",
        not_null={"display_name", "created_at"},
        defaults={"is_admin": 0},
    )
    # A platform account (telegram user 123, discord user 456, web account "ana") mapped to a user.
    db.table("identities").create(
        {"id": int, "platform": str, "platform_user_id": str, "user_id": str, "display_name": str, "created_at": str},
        pk="id",
        foreign_keys=[("user_id", "users", "id")],
        not_null={"platform", "platform_user_id", "user_id"},
    )
    db.table("identities").create_index(["platform", "platform_user_id"], unique=True)

    db.table("jobs").create(
        {
            "id": str,
            "user_id": str,
            "kind": str,  # generate | remix | extend | stitch
            "prompt": str,
            "params": str,  # JSON: seconds, width, height, seed, source clip ids, cameo handles
            "origin": str,  # JSON: the Place the request came from; results go back there
            "requester": str,  # JSON: the Actor as the platform described them
            "state": str,  # queued | running | encoding | done | failed | cancelled
            "cost": int,
            "period": str,  # the quota day its credits were reserved from
            "clip_id": str,
            "error": str,
            "attempts": int,
            "created_at": str,
            "started_at": str,
            "finished_at": str,
        },
        pk="id",
        foreign_keys=[("user_id", "users", "id")],
        not_null={"user_id", "kind", "state", "created_at"},
        defaults={"attempts": 0, "cost": 0},
    )
    db.table("jobs").create_index(["state", "created_at"])
    db.table("jobs").create_index(["user_id", "state"])

    db.table("clips").create(
        {
            "id": str,
            "job_id": str,
            "user_id": str,
            "parent_clip_id": str,  # the clip this one remixes or extends: the lineage
            "kind": str,
            "prompt": str,
            "backend": str,
            "media_sha256": str,
            "size_bytes": int,
            "width": int,
            "height": int,
            "fps": float,
            "seconds": float,
            "state": str,  # JSON: the generator's state, what makes remix and extend possible
            "metadata": str,  # JSON: what the generator reported (words not used, sizes rounded...)
            "created_at": str,
            "deleted_at": str,
        },
        pk="id",
        foreign_keys=[("job_id", "jobs", "id"), ("user_id", "users", "id"), ("parent_clip_id", "clips", "id")],
        not_null={"user_id", "kind", "created_at"},
    )
    db.table("clips").create_index(["parent_clip_id"])
    db.table("clips").create_index(["job_id"], unique=True)

    # The outbox: one row per message a platform adapter must post; written in the same transaction
    # as the clip, so a finished clip is delivered once even if the service dies right after.
    db.table("deliveries").create(
        {
            "id": int,
            "job_id": str,
            "clip_id": str,
            "kind": str,  # clip | notice
            "platform": str,
            "destination": str,  # JSON Place
            "payload": str,  # JSON: what the adapter needs to render the message
            "state": str,  # pending | sent | failed | withdrawn
            "attempts": int,
            "next_attempt_at": str,
            "message_id": str,  # the platform's id of the posted message
            "thread_id": str,  # a thread the adapter opened for it (Discord)
            "error": str,
            "created_at": str,
            "sent_at": str,
        },
        pk="id",
        foreign_keys=[("job_id", "jobs", "id"), ("clip_id", "clips", "id")],
        not_null={"kind", "platform", "destination", "state", "created_at"},
        defaults={"attempts": 0},
    )
    db.table("deliveries").create_index(["platform", "state"])
    db.table("deliveries").create_index(["clip_id"])
    db.execute(
        "CREATE UNIQUE INDEX deliveries_once ON deliveries(job_id, kind, platform, destination)"
        " WHERE job_id IS NOT NULL"
    )

    db.table("cameos").create(
        {
            "id": str,
            "owner_user_id": str,
            "handle": str,
            "display_name": str,
            "preferences": str,
            "visibility": str,  # me | approved | community | everyone
            "community": str,  # JSON Place scope for "community"
            "face_sha256": str,
            "voice_sha256": str,
            "created_at": str,
            "revoked_at": str,
        },
        pk="id",
        foreign_keys=[("owner_user_id", "users", "id")],
        not_null={"owner_user_id", "handle", "visibility", "created_at"},
    )
    db.table("cameos").create_index(["handle"], unique=True)
    db.table("cameo_grants").create(
        {"cameo_id": str, "user_id": str, "created_at": str},
        pk=("cameo_id", "user_id"),
        foreign_keys=[("cameo_id", "cameos", "id"), ("user_id", "users", "id")],
    )

    # Append-only: reserve (negative credits), commit (0, marks the reservation spent), refund
    # (positive, cancels the reservation), grant (positive, an admin's gift). Never updated in place.
    db.table("quota_ledger").create(
        {
            "id": int,
            "user_id": str,
            "job_id": str,
            "kind": str,
            "credits": int,
            "period": str,
            "created_at": str,
            "note": str,
        },
        pk="id",
        foreign_keys=[("user_id", "users", "id")],
        not_null={"user_id", "kind", "credits", "period", "created_at"},
    )
    db.table("quota_ledger").create_index(["user_id", "period"])
    db.execute("CREATE UNIQUE INDEX quota_ledger_once ON quota_ledger(job_id, kind) WHERE job_id IS NOT NULL")
    db.execute(
        "CREATE TRIGGER quota_ledger_append_only BEFORE UPDATE ON quota_ledger "
        "BEGIN SELECT RAISE(ABORT, 'the quota ledger is append-only'); END"
    )

    # Daily allowances that differ from the default: by platform, guild/chat and role ('' = any).
    db.table("quota_overrides").create(
        {"platform": str, "guild_id": str, "role": str, "daily_credits": int, "updated_at": str},
        pk=("platform", "guild_id", "role"),
    )

    db.table("audit_events").create(
        {"id": int, "at": str, "kind": str, "user_id": str, "job_id": str, "clip_id": str, "detail": str},
        pk="id",
        not_null={"at", "kind"},
    )
    db.table("audit_events").create_index(["kind", "at"])
