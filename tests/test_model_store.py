"""Which version the stand-in server serves, as files appear under its base path."""

import os

import pytest

from tfx_seqgen.serving.model_store import AVAILABLE, END, LoadedVersion, ModelNotFound, ModelStore


def write_version(base, version, complete=True):
    path = base / str(version)
    (path / "variables").mkdir(parents=True)
    if complete:
        (path / "saved_model.pb").write_bytes(b"graph")
    return path


def fake_loader(broken=()):
    loaded = []

    def load(version, path):
        if version in broken:
            raise ValueError(f"cannot parse {path}")
        loaded.append(version)
        return LoadedVersion(version, path, {}, {}, None)

    load.loaded = loaded
    return load


def states(store):
    return {s.version: s.state for s in store.statuses()}


def test_serves_the_newest_complete_version_and_ignores_the_rest(tmp_path):
    write_version(tmp_path, 1)
    write_version(tmp_path, 2)
    write_version(tmp_path, 3, complete=False)  # still being written
    (tmp_path / ".staging-abc").mkdir()
    store = ModelStore("lcd", str(tmp_path), loader=fake_loader())
    store.poll()
    assert store.get().version == 2 and store.get(2).version == 2
    assert states(store) == {2: AVAILABLE}
    (tmp_path / "3" / "saved_model.pb").write_bytes(b"graph")
    store.poll()
    assert store.get().version == 3
    assert states(store) == {2: END, 3: AVAILABLE}


def test_a_version_that_fails_to_load_is_reported_and_the_old_one_keeps_serving(tmp_path):
    write_version(tmp_path, 1)
    loader = fake_loader(broken={2})
    store = ModelStore("lcd", str(tmp_path), loader=loader)
    store.poll()
    write_version(tmp_path, 2)
    store.poll()
    store.poll()  # not retried
    assert store.get().version == 1 and loader.loaded == [1]
    status = {s.version: s for s in store.statuses()}
    assert status[2].state == END and "cannot parse" in status[2].error


def test_removing_the_newest_version_falls_back_to_the_previous_one(tmp_path):
    write_version(tmp_path, 1)
    newest = write_version(tmp_path, 2)
    store = ModelStore("lcd", str(tmp_path), loader=fake_loader())
    store.poll()
    for root, _, files in os.walk(newest, topdown=False):
        for name in files:
            os.remove(os.path.join(root, name))
        os.rmdir(root)
    store.poll()
    assert store.get().version == 1


def test_nothing_loaded_yet_is_not_found_naming_the_request(tmp_path):
    store = ModelStore("lcd", str(tmp_path / "not-yet"), loader=fake_loader())
    store.poll()
    with pytest.raises(ModelNotFound, match=r"Servable not found for request: Latest\(lcd\)"):
        store.get()
    write_version(tmp_path / "not-yet", 5)
    store.poll()
    with pytest.raises(ModelNotFound, match=r"Specific\(lcd, 4\)"):
        store.get(4)
