"""Platform handles (a Telegram @username) -> the account behind each, through the core's methods."""

from __future__ import annotations

from pathlib import Path

from tests.support import running_core


async def test_a_handle_taken_over_by_another_account_moves_to_the_newest_one(tmp_path: Path) -> None:
    async with running_core(tmp_path) as core:
        await core.remember_handle("telegram", "@Bo_The_Builder", "111")
        assert await core.user_for_handle("telegram", "bo_the_builder") == "111"
        assert await core.user_for_handle("telegram", "@BO_THE_BUILDER") == "111"  # "@" and case do not matter

        # Account 111 gave the name up and account 222 took it: a mention now names 222.
        await core.remember_handle("telegram", "bo_the_builder", "222")
        assert await core.user_for_handle("telegram", "bo_the_builder") == "222"
        rows = await core.db.read(lambda db: list(db.query("SELECT * FROM platform_handles")))
        assert [(r["handle"], r["platform_user_id"]) for r in rows] == [("bo_the_builder", "222")]

        # Handles are per platform.
        assert await core.user_for_handle("discord", "bo_the_builder") is None
        assert await core.user_for_handle("telegram", "nobody_seen") is None


async def test_a_renamed_account_loses_its_old_handle(tmp_path: Path) -> None:
    async with running_core(tmp_path) as core:
        await core.remember_handle("telegram", "ana_old", "333")
        await core.remember_handle("telegram", "ana_new", "333")
        # Telegram frees the old name: it must not keep naming Ana once someone else may hold it.
        assert await core.user_for_handle("telegram", "ana_old") is None
        assert await core.user_for_handle("telegram", "ana_new") == "333"


async def test_handles_outlive_a_restart(tmp_path: Path) -> None:
    async with running_core(tmp_path) as core:
        await core.remember_handle("telegram", "cy", "444")
    async with running_core(tmp_path) as core:  # the same data folder: the same database, a new process state
        assert await core.user_for_handle("telegram", "cy") == "444"
