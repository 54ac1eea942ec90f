import asyncio
import sqlite3
import time

import pytest

from storage.database import Database, connect, insert, one
from storage.migrations import all_migrations, applied, apply_migrations


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "s.db")
    yield database
    database.close()


def test_database_uses_wal_and_full_sync(db):
    assert db.read_sync(lambda d: one(d, "PRAGMA journal_mode")["journal_mode"]) == "wal"
    assert db.write_sync(lambda d: one(d, "PRAGMA synchronous")["synchronous"]) == 2  # FULL


def test_every_migration_is_applied_at_open(db):
    numbers = [m.number for m in all_migrations()]
    assert numbers == sorted(numbers) and numbers[0] == 1
    assert db.read_sync(applied) == set(numbers)
    tables = set(db.read_sync(lambda d: d.table_names()))
    expected = {"users", "identities", "jobs", "clips", "deliveries", "cameos", "cameo_grants", "quota_ledger"}
    assert expected | {"audit_events", "quota_overrides"} <= tables


def test_an_old_database_is_upgraded_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.db"
    old = connect(path)
    assert apply_migrations(old, upto=1) == [1]
    old.execute("INSERT INTO users (id, display_name, created_at) VALUES ('u1', 'Ana', '2026-01-01')")
    old.close()

    database = Database(path)
    try:
        assert database.read_sync(applied) == {m.number for m in all_migrations()}
        assert database.read_sync(lambda d: one(d, "SELECT display_name FROM users WHERE id = 'u1'")) == {
            "display_name": "Ana"
        }
    finally:
        database.close()
    # Opening again applies nothing twice.
    again = connect(path)
    assert apply_migrations(again) == []
    again.close()


async def test_concurrent_writes_are_all_committed_and_visible_to_reads(db):
    async def write(i):
        return await db.write(lambda d: insert(d, "audit_events", {"at": "t", "kind": f"k{i}"}))

    ids = await asyncio.gather(*(write(i) for i in range(500)))
    assert sorted(ids) == list(range(1, 501))
    assert await db.read(lambda d: one(d, "SELECT COUNT(*) AS n FROM audit_events")["n"]) == 500


async def test_a_failing_write_rolls_back_only_itself(db):
    def good(d):
        insert(d, "audit_events", {"at": "t", "kind": "good"})

    def bad(d):
        insert(d, "audit_events", {"at": "t", "kind": "half-done"})
        raise ValueError("boom")

    results = await asyncio.gather(db.write(good), db.write(bad), db.write(good), return_exceptions=True)
    assert isinstance(results[1], ValueError)
    kinds = await db.read(lambda d: [r["kind"] for r in d.query("SELECT kind FROM audit_events")])
    assert kinds == ["good", "good"]


async def test_constraint_violations_reach_the_caller(db):
    with pytest.raises(sqlite3.IntegrityError):
        await db.write(lambda d: insert(d, "audit_events", {"at": None, "kind": "x"}))


async def test_the_event_loop_keeps_running_during_slow_writes(db):
    def slow(d):
        time.sleep(0.3)  # a write that holds the writer thread
        insert(d, "audit_events", {"at": "t", "kind": "slow"})

    lags = []

    async def ticker():
        for _ in range(10):
            start = time.perf_counter()
            await asyncio.sleep(0.02)
            lags.append(time.perf_counter() - start - 0.02)

    await asyncio.gather(db.write(slow), ticker())
    assert max(lags) < 0.1


def test_quota_ledger_refuses_updates(db):
    def update(d):
        d.execute("INSERT INTO users (id, display_name, created_at) VALUES ('u', 'U', 't')")
        d.execute(
            "INSERT INTO quota_ledger (user_id, kind, credits, period, created_at) VALUES ('u', 'grant', 5, 'p', 't')"
        )
        d.execute("UPDATE quota_ledger SET credits = 500")

    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.write_sync(update)


def test_closed_database_refuses_work(tmp_path):
    from storage.database import DatabaseClosed

    database = Database(tmp_path / "c.db")
    database.close()
    with pytest.raises(DatabaseClosed):
        database.write_sync(lambda d: None)


def test_job_counts_follow_every_insert_update_and_delete(db):
    def work(d):
        d.execute("INSERT INTO users (id, display_name, created_at) VALUES ('u', 'U', 't')")
        for i in range(5):
            d.execute(
                "INSERT INTO jobs (id, user_id, kind, state, created_at) VALUES (?, 'u', 'generate', 'queued', 't')",
                [f"j{i}"],
            )
        d.execute("UPDATE jobs SET state = 'running' WHERE id IN ('j0', 'j1')")
        d.execute("UPDATE jobs SET state = 'done' WHERE id = 'j0'")
        d.execute("UPDATE jobs SET kind = 'remix' WHERE id = 'j2'")  # not a state change
        d.execute("DELETE FROM jobs WHERE id = 'j3'")
        counted = {r["state"]: r["n"] for r in d.query("SELECT state, n FROM job_counts WHERE n > 0")}
        actual = {r["state"]: r["n"] for r in d.query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")}
        return counted, actual

    counted, actual = db.write_sync(work)
    assert counted == actual == {"queued": 2, "running": 1, "done": 1}
