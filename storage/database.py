"""SQLite in WAL mode through sqlite-utils, with one writer thread so async callers never block.

Writes are queued to a single thread that owns the write connection. It takes every write waiting
in the queue, runs each in its own savepoint inside one transaction and commits once (group
commit): each caller's future resolves only after the commit that holds its change is durable, and
one failing write rolls back only itself. Reads run on a second thread with its own connection;
WAL lets them proceed while a commit is being synced.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from storage.migrations import apply_migrations

T = TypeVar("T")
Operation = Callable[[sqlite_utils.Database], T]

# The most writes folded into one transaction: bounds the latency a queue burst adds to its last write.
MAX_BATCH = 256


class DatabaseClosed(Exception):
    """The database was closed before the operation ran."""


@dataclass
class _Pending:
    """One queued operation and where its result goes: a thread's Future, or an event loop's future."""

    fn: Callable[[sqlite_utils.Database], Any]
    future: Future[Any] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    async_future: asyncio.Future[Any] | None = None

    def start(self) -> bool:
        """False when the caller gave up before the operation began (it is then skipped)."""
        if self.future is not None:
            return self.future.set_running_or_notify_cancel()
        return self.async_future is not None and not self.async_future.cancelled()


def _settle(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    """On the event loop: hand each waiting coroutine its result."""
    for future, result, error in outcomes:
        if future.cancelled():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


def connect(path: Path | str) -> sqlite_utils.Database:
    """Open one connection with the settings every connection of ours uses."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk when it returns, so a crash after we told a user "queued" loses nothing.
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=30000")
    return db


class Database:
    """The service's database: migrated at open, one writer thread, one reader thread."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writes: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._reads: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        writer = connect(self.path)
        apply_migrations(writer)
        self._writer_thread = threading.Thread(target=self._write_loop, args=(writer,), name="sorabox-db-writer")
        self._reader_thread = threading.Thread(
            target=self._read_loop, args=(connect(self.path),), name="sorabox-db-reader"
        )
        self._closed = False
        self._writer_thread.daemon = True
        self._reader_thread.daemon = True
        self._writer_thread.start()
        self._reader_thread.start()

    # -- public API -------------------------------------------------------------------------------

    async def write(self, fn: Operation[T]) -> T:
        """Run `fn(db)` in the writer thread inside a transaction; returns after it is committed."""
        if self._closed:
            raise DatabaseClosed("the database is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._writes.put(_Pending(fn, loop=loop, async_future=future))
        return await future

    async def read(self, fn: Operation[T]) -> T:
        """Run `fn(db)` on the reader connection; sees every write that has been committed."""
        return await asyncio.wrap_future(self._submit(self._reads, fn))

    def submit_write(self, fn: Operation[T]) -> Future[T]:
        return self._submit(self._writes, fn)

    def write_sync(self, fn: Operation[T]) -> T:
        """For synchronous callers (the CLI, tests): the same writer, waited on."""
        return self.submit_write(fn).result()

    def read_sync(self, fn: Operation[T]) -> T:
        return self._submit(self._reads, fn).result()

    def close(self) -> None:
        """Finish queued operations, then stop both threads and close their connections."""
        if self._closed:
            return
        self._closed = True
        self._writes.put(None)
        self._reads.put(None)
        self._writer_thread.join()
        self._reader_thread.join()

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    # -- threads ----------------------------------------------------------------------------------

    def _submit(self, q: queue.SimpleQueue[_Pending | None], fn: Operation[T]) -> Future[T]:
        if self._closed:
            raise DatabaseClosed("the database is closed")
        future: Future[T] = Future()
        q.put(_Pending(fn, future=future))
        return future

    def _read_loop(self, db: sqlite_utils.Database) -> None:
        try:
            while (item := self._reads.get()) is not None:
                assert item.future is not None
                if not item.future.set_running_or_notify_cancel():
                    continue
                try:
                    item.future.set_result(item.fn(db))
                except BaseException as exc:
                    item.future.set_exception(exc)
        finally:
            db.close()

    def _write_loop(self, db: sqlite_utils.Database) -> None:
        stopping = False
        try:
            while not stopping:
                first = self._writes.get()
                if first is None:
                    break
                batch = [first]
                while len(batch) < MAX_BATCH:
                    try:
                        item = self._writes.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stopping = True
                        break
                    batch.append(item)
                self._run_batch(db, batch)
        finally:
            db.close()

    def _run_batch(self, db: sqlite_utils.Database, batch: list[_Pending]) -> None:
        outcomes: list[tuple[_Pending, Any, BaseException | None]] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            for item in batch:
                if not item.start():
                    continue
                db.execute("SAVEPOINT op")
                try:
                    result = item.fn(db)
                except BaseException as exc:
                    db.execute("ROLLBACK TO op")
                    db.execute("RELEASE op")
                    outcomes.append((item, None, exc))
                else:
                    db.execute("RELEASE op")
                    outcomes.append((item, result, None))
            db.execute("COMMIT")
        except BaseException as exc:
            # The commit itself failed (disk full, I/O error): nothing in this batch is durable.
            if db.conn.in_transaction:
                db.execute("ROLLBACK")
            outcomes = [(item, None, exc) for item in batch]
        self._deliver(outcomes)

    @staticmethod
    def _deliver(outcomes: list[tuple[_Pending, Any, BaseException | None]]) -> None:
        # One wake-up per event loop per batch: waking a loop is a write to its self-pipe, which cost
        # more than the admission itself when done once per operation.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]] = {}
        for item, result, error in outcomes:
            if item.future is not None:
                if not item.future.done():
                    if error is not None:
                        item.future.set_exception(error)
                    else:
                        item.future.set_result(result)
            elif item.loop is not None and item.async_future is not None:
                by_loop.setdefault(item.loop, []).append((item.async_future, result, error))
        for loop, settled in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, settled)
            except RuntimeError:
                pass  # that event loop is closed: nobody is waiting any more


def insert(db: sqlite_utils.Database, table: str, row: dict[str, Any]) -> int:
    """INSERT one row with plain SQL: admission is a hot path, and Table.insert introspects the schema each call."""
    columns = ", ".join(f"[{c}]" for c in row)
    marks = ", ".join("?" for _ in row)
    cursor = db.execute(f"INSERT INTO [{table}] ({columns}) VALUES ({marks})", list(row.values()))
    return int(cursor.lastrowid or 0)


def one(db: sqlite_utils.Database, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> dict[str, Any] | None:
    """The first row of a query as a dict, or None.

    Straight on the connection: sqlite-utils' query() wraps each SELECT in a savepoint, which costs
    more than the small indexed reads on the admission path.
    """
    cursor = db.conn.execute(sql, params)
    row = cursor.fetchone()
    if row is None:
        return None
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}
