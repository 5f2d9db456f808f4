"""Which version the stand-in server serves, as files appear under its base path."""

import os

import pytest

from tfx_seqgen.serving.model_store import (
    AVAILABLE,
    END,
    LoadedVersion,
    ModelNotFound,
    ModelStore,
    UnknownLabel,
    VersionPolicy,
)


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


def test_latest_two_serves_the_two_newest_and_unloads_older_ones(tmp_path):
    for version in (1, 2, 3):
        write_version(tmp_path, version)
    store = ModelStore(
        "lcd", str(tmp_path), loader=fake_loader(), policy=VersionPolicy("latest", 2)
    )
    store.poll()
    assert states(store) == {2: AVAILABLE, 3: AVAILABLE}
    assert store.get().version == 3 and store.get(2).version == 2
    with pytest.raises(ModelNotFound, match=r"Specific\(lcd, 1\)"):
        store.get(1)
    write_version(tmp_path, 4)
    store.poll()
    assert states(store) == {2: END, 3: AVAILABLE, 4: AVAILABLE}


def test_all_and_specific_policies(tmp_path):
    for version in (1, 2, 3):
        write_version(tmp_path, version)
    every = ModelStore("lcd", str(tmp_path), loader=fake_loader(), policy=VersionPolicy("all"))
    every.poll()
    assert states(every) == {1: AVAILABLE, 2: AVAILABLE, 3: AVAILABLE}
    pinned = ModelStore(
        "lcd",
        str(tmp_path),
        loader=fake_loader(),
        policy=VersionPolicy("specific", versions=(1, 5)),
    )
    pinned.poll()
    assert states(pinned) == {1: AVAILABLE}  # 5 is not on disk (yet)
    assert pinned.get().version == 1  # the newest it serves, not the newest on disk


def test_labels_name_versions_and_a_new_config_moves_them(tmp_path):
    for version in (1, 2):
        write_version(tmp_path, version)
    store = ModelStore(
        "lcd",
        str(tmp_path),
        loader=fake_loader(),
        policy=VersionPolicy("all"),
        labels={"stable": 1, "canary": 2},
    )
    store.poll()
    assert store.get(label="stable").version == 1 and store.get(label="canary").version == 2
    with pytest.raises(UnknownLabel, match="Unrecognized servable version label: beta"):
        store.get(label="beta")
    store.configure(VersionPolicy("specific", versions=(2,)), {"stable": 2})
    store.poll()
    assert store.get(label="stable").version == 2
    assert states(store) == {1: END, 2: AVAILABLE}


def test_a_failed_load_is_tried_again_max_num_load_retries_times(tmp_path):
    """TF Serving's --max_num_load_retries: a load that fails twice, then works."""
    write_version(tmp_path, 1)
    attempts = []

    def flaky(version, path):
        attempts.append(version)
        if len(attempts) <= 2:
            raise OSError("the file system is not ready")
        return LoadedVersion(version, path, {}, {}, None)

    store = ModelStore("lcd", str(tmp_path), loader=flaky, load_retries=2, retry_seconds=0)
    store.poll()
    assert attempts == [1, 1, 1] and states(store) == {1: AVAILABLE}

    attempts.clear()
    impatient = ModelStore("art", str(tmp_path), loader=flaky, load_retries=1, retry_seconds=0)
    impatient.poll()
    assert attempts == [1, 1] and states(impatient) == {1: END}
    (status,) = impatient.statuses()
    assert status.error == "OSError: the file system is not ready"


def test_grpc_model_status_lists_the_newest_version_first_as_rest_does(tmp_path):
    """TF Serving's ServableStateMonitor keeps versions in std::greater order; both APIs
    print that order."""
    from tensorflow_serving.apis import get_model_status_pb2

    from tfx_seqgen.serving import json_responses, predict

    for version in (1, 2, 3):
        write_version(tmp_path, version)
    store = ModelStore("lcd", str(tmp_path), loader=fake_loader(), policy=VersionPolicy("all"))
    store.poll()
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "lcd"
    response = predict.model_status({"lcd": store}, request)
    assert [s.version for s in response.model_version_status] == [3, 2, 1]
    rest = json_responses.status_json(response)
    assert [s["version"] for s in rest["model_version_status"]] == ["3", "2", "1"]
