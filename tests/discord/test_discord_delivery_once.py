"""A clip is posted once on Discord even when the answer to its post is lost: a connection cut after Discord made
the message, a 5xx that discord.py retries, a crash between the post and recording it. The real discord.py client
against the loopback fake Discord, which de-duplicates enforced nonces as Discord does."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from core.records import Delivery
from core.service import DELIVERY_LEASE_SECONDS, Sorabox, utcnow
from tests.discord.test_discord_adapter import PROMPT, answered, clip_posts, running_adapter
from tests.fakes.discord_server import FakeDiscord, fake_discord, no_real_network
from tests.support import ToneGenerator, running_core

__all__ = ["fake_discord", "no_real_network"]  # fixtures used by this module

POST_MESSAGE = r"^/channels/\d+/messages$"


async def deliveries(core: Sorabox) -> list[dict[str, Any]]:
    return await core.db.read(
        lambda db: list(db.query("SELECT state, message_id, thread_id, attempts, in_doubt FROM deliveries"))
    )


async def all_sent(core: Sorabox) -> list[dict[str, Any]]:
    for _ in range(400):
        rows = await deliveries(core)
        if rows and all(row["state"] == "sent" for row in rows):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"deliveries not all sent: {await deliveries(core)}")


async def finished_while_no_adapter_runs(fake: FakeDiscord, core: Sorabox, gate: threading.Event) -> None:
    async with running_adapter(fake, core):
        interaction = await fake.invoke_command("sora", user=fake.owner, prompt=PROMPT)
        await answered(fake, interaction, "queued")
    gate.set()
    for _ in range(400):
        if (await core.pending_delivery_counts()).get("discord"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the clip never reached the outbox")


async def claimed_by_a_process_that_died(fake: FakeDiscord, core: Sorabox, gate: threading.Event) -> Delivery:
    """A finished clip's delivery as a process left it when it died mid-post: claimed and marked posting."""
    await finished_while_no_adapter_runs(fake, core, gate)
    [claimed] = await core.claim_deliveries("discord", limit=1)
    await core.delivery_posting(claimed.id)
    return claimed


def after_the_lease(core: Sorabox) -> None:
    core.clock = lambda: utcnow() + timedelta(seconds=DELIVERY_LEASE_SECONDS + 1)


async def test_a_post_whose_answer_is_lost_is_found_in_the_channel_not_posted_again(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake = fake_discord
    async with running_core(tmp_path / "data", ToneGenerator(steps=2)) as core, running_adapter(fake, core):
        fake.lose_next_response("POST", POST_MESSAGE)  # Discord makes the message; the bot never hears so
        await fake.invoke_command("sora", user=fake.owner, prompt=PROMPT)
        [row] = await all_sent(core)
        await asyncio.sleep(0.5)  # a second post would come within the retry interval (0.2 s)
        [post] = clip_posts(fake, fake.general.id)
        thread = fake.thread_of(post)
        assert thread is not None
        assert row["message_id"] == str(post.id) and row["thread_id"] == str(thread.id)
        assert row["attempts"] == 2 and row["in_doubt"] == 1
        path = f"/channels/{fake.general.id}/messages"
        posts = [r.status for r in fake.requests if r.method == "POST" and r.path == path]
        assert posts == [0]  # the lost one only: the second attempt looked at the channel instead of posting


async def test_a_post_discord_py_retries_after_a_5xx_is_de_duplicated_by_its_nonce(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake = fake_discord
    async with running_core(tmp_path / "data", ToneGenerator(steps=2)) as core, running_adapter(fake, core):
        fake.lose_next_response("POST", POST_MESSAGE, status=502)  # made, then a proxy answers 502
        await fake.invoke_command("sora", user=fake.owner, prompt=PROMPT)
        [row] = await all_sent(core)
        [post] = clip_posts(fake, fake.general.id)
        assert row["message_id"] == str(post.id) and row["attempts"] == 1
        posts = [r for r in fake.requests if r.method == "POST" and r.path == f"/channels/{fake.general.id}/messages"]
        assert [r.status for r in posts] == [502, 200]
        assert posts[0].payload["nonce"] == posts[1].payload["nonce"]
        assert posts[1].payload["enforce_nonce"] is True


async def test_a_post_cut_off_by_a_crash_is_recorded_when_the_lease_runs_out_not_repeated(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake = fake_discord
    gate = threading.Event()
    async with running_core(tmp_path / "data", ToneGenerator(steps=2, gate=gate)) as core:
        # The process that died had also posted the clip (thread and all) before `delivery_sent`. The claim hides
        # it from the new adapter until the lease runs out.
        claimed = await claimed_by_a_process_that_died(fake, core, gate)
        async with running_adapter(fake, core) as adapter:
            message_id, thread_id = await adapter.delivery.post_clip(claimed)
            assert await adapter.deliver_pending() == 0  # still leased
            after_the_lease(core)
            [row] = await all_sent(core)
            assert await adapter.deliver_pending() == 0
        [post] = clip_posts(fake, fake.general.id)
        assert str(post.id) == message_id == row["message_id"]
        assert row["thread_id"] == thread_id == str(post.id)  # the thread opened from the message has its id


async def test_a_post_that_never_left_is_posted_normally_after_the_crash(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake = fake_discord
    gate = threading.Event()
    async with running_core(tmp_path / "data", ToneGenerator(steps=2, gate=gate)) as core:
        await claimed_by_a_process_that_died(fake, core, gate)  # before its request went out
        after_the_lease(core)
        async with running_adapter(fake, core):
            [row] = await all_sent(core)
        [post] = clip_posts(fake, fake.general.id)
        assert row["message_id"] == str(post.id) and row["in_doubt"] == 1
        assert fake.thread_of(post) is not None
