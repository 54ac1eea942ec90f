import hashlib

import pytest

from storage.media_store import MediaStore


def test_files_are_named_by_their_content(tmp_path):
    store = MediaStore(tmp_path)
    sha = store.put(b"hello")
    assert sha == hashlib.sha256(b"hello").hexdigest()
    assert store.read(sha) == b"hello"
    assert store.path(sha).parent.parent.name == sha[:2]


def test_storing_the_same_bytes_twice_keeps_one_file(tmp_path):
    store = MediaStore(tmp_path)
    assert store.put(b"x") == store.put(b"x")
    assert len(store.files()) == 1


def test_a_failed_write_leaves_no_file(tmp_path, monkeypatch):
    store = MediaStore(tmp_path)

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr("storage.media_store.os.fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        store.put(b"data")
    assert store.files() == []
    assert list(tmp_path.rglob(".tmp-*")) == []


def test_temporaries_left_by_a_crash_are_removed(tmp_path):
    store = MediaStore(tmp_path)
    sha = store.put(b"kept")
    leftover = store.path(sha).parent / ".tmp-abc.mp4"
    leftover.write_bytes(b"half")
    assert store.remove_temporaries() == 1
    assert not leftover.exists() and store.exists(sha)


def test_paths_refuse_anything_but_a_digest(tmp_path):
    with pytest.raises(ValueError):
        MediaStore(tmp_path).path("../../etc/passwd")


def test_delete_reports_whether_the_file_was_there(tmp_path):
    store = MediaStore(tmp_path)
    sha = store.put(b"gone")
    assert store.delete(sha) is True
    assert store.delete(sha) is False
