"""The file store: the same bytes once, whole files only, and files kept by earlier versions still found."""
import hashlib
import threading

from helpdesk.core.storage import BlobStore


def test_the_same_bytes_are_stored_once_under_their_hash(tmp_path):
    store = BlobStore(tmp_path)
    first, again = store.put(b"acta del ple"), store.put(b"acta del ple")
    assert first == again == hashlib.sha256(b"acta del ple").hexdigest()
    assert store.read(first) == b"acta del ple"
    assert [path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*") if path.is_file()] == \
        [f"{first[:2]}/{first}"]


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
