"""The file store: the same bytes once, whole files only (even when the disk is full or read-only), files
kept by earlier versions still found, and the check that compares the files with the rows."""
import hashlib
import os
import subprocess
import threading
from datetime import timedelta

import pytest

from helpdesk.core import storage
from helpdesk.core.models import utcnow
from helpdesk.core.storage import BlobStore, StorageError, check


def tmpfs_mounts():
    """Mount small tmpfs file systems (tests run as root): a real full disk, and read-only when remounted
    so — chmod would not stop root. Where mounting is not permitted the test is skipped, never in CI."""
    mounted = []

    def mount(path, size="256k"):
        path.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            reason = f"needs to mount a tmpfs (root in a container that allows it): {done.stderr.strip()}"
            if os.environ.get("CI"):
                pytest.fail(reason)
            pytest.skip(reason)
        mounted.append(path)
        return path

    yield mount
    for path in reversed(mounted):
        subprocess.run(["umount", str(path)], check=True)


@pytest.fixture
def tmpfs():
    yield from tmpfs_mounts()


def read_only(path):
    subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)


def files_under(root):
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def test_the_same_bytes_are_stored_once_under_their_hash(tmp_path):
    store = BlobStore(tmp_path)
    first, again = store.put(b"acta del ple"), store.put(b"acta del ple")
    assert first == again == hashlib.sha256(b"acta del ple").hexdigest()
    assert store.read(first) == b"acta del ple"
    assert files_under(tmp_path) == [f"{first[:2]}/{first}"]


def test_files_stored_in_the_earlier_two_level_layout_are_still_found(tmp_path):
    store = BlobStore(tmp_path)
    sha256 = hashlib.sha256(b"captura antiga").hexdigest()
    earlier = tmp_path / sha256[:2] / sha256[2:4] / sha256
    earlier.parent.mkdir(parents=True)
    earlier.write_bytes(b"captura antiga")
    assert store.read(sha256) == b"captura antiga"
    assert store.put(b"captura antiga") == sha256
    assert not (tmp_path / sha256[:2] / sha256).exists()  # not stored a second time


def test_writers_storing_the_same_file_at_once_leave_it_whole(tmp_path):
    store, data = BlobStore(tmp_path), b"x" * 2_000_000
    threads = [threading.Thread(target=store.put, args=(data,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sha256 = hashlib.sha256(data).hexdigest()
    assert store.read(sha256) == data
    assert [path.name for path in (tmp_path / sha256[:2]).iterdir()] == [sha256]  # no temporary file left over


def test_the_bytes_reach_the_disk_before_the_name_and_the_name_after_the_rename(tmp_path, monkeypatch):
    """What makes a power cut harmless cannot be cut here; the order of the system calls is what it rests on."""
    calls = []
    fsync, replace = os.fsync, os.replace
    monkeypatch.setattr(storage.os, "fsync", lambda handle: (calls.append(("fsync", os.path.realpath(
        f"/proc/self/fd/{handle}"))), fsync(handle))[1])
    monkeypatch.setattr(storage.os, "replace", lambda source, target: (calls.append(("rename", str(target))),
                                                                       replace(source, target))[1])
    sha256 = BlobStore(tmp_path).put(b"ordre del dia")
    root = os.path.realpath(tmp_path)
    folder, target = f"{root}/{sha256[:2]}", f"{root}/{sha256[:2]}/{sha256}"
    temporary = [path for kind, path in calls if kind == "fsync" and path.startswith(f"{folder}/.")]
    assert calls == [("fsync", root),  # the new folder's name, in the store's root
                     ("fsync", temporary[0]), ("rename", target), ("fsync", folder)]


def test_a_full_disk_leaves_no_temporary_file_and_nothing_under_the_hash(tmp_path, tmpfs):
    store = BlobStore(tmpfs(tmp_path / "attachments", size="256k"))
    too_big = os.urandom(300_000)
    with pytest.raises(StorageError) as raised:
        store.put(too_big)
    assert raised.value.reason == "full"
    assert "the file store is full (No space left on device" in raised.value.detail
    assert files_under(store.root) == []
    assert not store.path(hashlib.sha256(too_big).hexdigest()).exists()
    assert store.read(store.put(b"petit")) == b"petit"  # the space the failed write took is free again


def test_a_read_only_store_refuses_with_its_own_message_and_writes_nothing(tmp_path, tmpfs):
    store = BlobStore(tmpfs(tmp_path / "attachments"))
    kept = store.put(b"ja hi era")
    read_only(store.root)
    same_folder = next(data for number in range(100_000) if hashlib.sha256(
        data := f"nou {number}".encode()).hexdigest()[:2] == kept[:2])
    for data in (same_folder, b"nou"):  # into the folder that is there, and into one to be made
        with pytest.raises(StorageError) as raised:
            store.put(data)
        assert raised.value.reason == "read_only"
        assert "read-only" in str(raised.value.message)
    assert files_under(store.root) == [f"{kept[:2]}/{kept}"]
    assert store.put(b"ja hi era") == kept  # what is there is still found


def test_a_storage_error_crosses_processes_as_it_was(tmp_path):
    import pickle
    error = StorageError("full", "the file store is full (No space left on device: /srv)", "attachments")
    again = pickle.loads(pickle.dumps(error))
    assert (again.reason, again.detail, again.field, str(again.message)) == \
        ("full", error.detail, "attachments", str(error.message))


# --- the check -------------------------------------------------------------------------------------

def age(path, hours):
    moment = (utcnow() - timedelta(hours=hours)).timestamp()
    os.utime(path, (moment, moment))


def test_the_check_finds_files_with_no_row_and_rows_with_no_file(tmp_path):
    store = BlobStore(tmp_path)
    named, orphan = store.put(b"adjunt"), store.put(b"ningu el nomena")
    earlier = hashlib.sha256(b"de la versio anterior").hexdigest()
    (tmp_path / earlier[:2] / earlier[2:4]).mkdir(parents=True, exist_ok=True)
    (tmp_path / earlier[:2] / earlier[2:4] / earlier).write_bytes(b"de la versio anterior")
    gone = hashlib.sha256(b"esborrat").hexdigest()
    (tmp_path / "lost+found").mkdir()  # a mount's own folder is not the store's
    (tmp_path / "notes.txt").write_text("?")
    result = check(store, {named, earlier, gone}, utcnow())
    assert result.stored == 3
    assert result.unreferenced == sorted([tmp_path / orphan[:2] / orphan, tmp_path / "notes.txt"])
    assert result.missing == [gone]
    assert result.temporary == [] and not result.is_clean
    assert check(store, {named, earlier, orphan}, utcnow()).missing == []


def test_a_store_whose_files_all_have_rows_is_clean(tmp_path):
    store = BlobStore(tmp_path)
    hashes = {store.put(f"fitxer {number}".encode()) for number in range(300)}
    result = check(store, hashes, utcnow())
    assert result.is_clean and result.stored == 300
    assert check(BlobStore(tmp_path / "encara-no"), set(), utcnow()).is_clean  # no store yet: nothing to find


def test_only_temporary_files_older_than_an_hour_are_removed_and_only_when_asked(tmp_path):
    store = BlobStore(tmp_path)
    sha256 = store.put(b"sencer")
    left = tmp_path / sha256[:2] / f".{'a' * 64}.4242.1"  # a writer that died
    live = tmp_path / sha256[:2] / f".{'b' * 64}.4343.1"  # a writer at work
    left.write_bytes(b"mig")
    live.write_bytes(b"mig")
    age(left, hours=3)
    age(live, hours=0.5)
    listed = check(store, {sha256}, utcnow())
    assert [path for path, _age in listed.temporary] == [left, live]
    assert listed.removed == [] and left.exists() and not listed.is_clean
    swept = check(store, {sha256}, utcnow(), remove_temporary=True)
    assert [(path, round(age / timedelta(hours=1))) for path, age in swept.removed] == [(left, 3)]
    assert [path for path, _age in swept.temporary] == [live]
    assert not left.exists() and live.exists() and not swept.is_clean
    live.unlink()
    assert check(store, {sha256}, utcnow(), remove_temporary=True).is_clean
