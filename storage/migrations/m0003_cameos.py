"""Cameos: reference media and check results, where each clip used whom, owners' private chats, forget requests."""

import sqlite_utils


def apply(db: sqlite_utils.Database) -> None:
    cameos = db.table("cameos")
    cameos.add_column("reference_sha256", str)  # the uploaded reference video, kept until the cameo is deleted
    cameos.add_column("voice_sample_rate", int)
    cameos.add_column("checks", str)  # JSON: what the likeness checks measured (face frames, speech seconds)
    cameos.add_column("updated_at", str)
    cameos.create_index(["owner_user_id"])

    # One row per (clip, cameo): what `cameo clips` lists and what a forget request follows.
    db.table("cameo_uses").create(
        {
            "id": int,
            "cameo_id": str,
            "owner_user_id": str,
            "job_id": str,
            "clip_id": str,
            "user_id": str,  # who made the clip
            "created_at": str,
        },
        pk="id",
        # No foreign keys: the row is written in the finishing transaction before the clip row, and it
        # outlives a deleted cameo so that remixes of the clip still find a cameo they may not use.
        not_null={"cameo_id", "owner_user_id", "clip_id", "created_at"},
    )
    db.table("cameo_uses").create_index(["cameo_id"])
    db.table("cameo_uses").create_index(["clip_id"])
    db.table("cameo_uses").create_index(["owner_user_id"])

    # Where to reach a person privately on each platform (the private chat they last used with us):
    # notices about their cameo go there.
    db.table("private_places").create(
        {"user_id": str, "platform": str, "place": str, "platform_user_id": str, "updated_at": str},
        pk=("user_id", "platform"),
        foreign_keys=[("user_id", "users", "id")],
        not_null={"place", "updated_at"},
    )

    # `forgetme` asks; `forgetme confirm` within a few minutes acts.
    db.table("forget_requests").create(
        {"user_id": str, "requested_by": str, "requested_at": str},
        pk="user_id",
        not_null={"requested_at"},
    )
