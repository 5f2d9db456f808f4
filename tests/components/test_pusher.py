"""Publishing a SavedModel into TF Serving's layout, all at once."""

import os

import pytest

from tests.helpers import run_concurrently
from tfx_seqgen.components import pusher
from tfx_seqgen.components.pusher import publish, versions


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "model"
    (path / "variables").mkdir(parents=True)
    (path / "variables" / "variables.index").write_bytes(b"index")
    (path / "saved_model.pb").write_bytes(b"graph")
    return str(path)


def test_each_push_is_a_new_higher_version_holding_the_whole_model(model, tmp_path):
    base = str(tmp_path / "serving" / "lcd")
    first, second = publish(model, base), publish(model, base)
    assert second > first  # even within one second
    assert versions(base) == [first, second]
    assert sorted(os.listdir(base)) == [str(first), str(second)]  # no staging left
    for version in (first, second):
        root = os.path.join(base, str(version))
        assert open(os.path.join(root, "saved_model.pb"), "rb").read() == b"graph"
        assert os.path.exists(os.path.join(root, "variables", "variables.index"))


def test_versions_stay_above_a_newer_existing_one(model, tmp_path):
    base = tmp_path / "serving"
    (base / "99999999999").mkdir(parents=True)
    (base / "notes").mkdir()  # not a version: ignored
    assert publish(model, str(base)) == 100000000000


def test_concurrent_pushes_get_distinct_versions(model, tmp_path):
    base = str(tmp_path / "serving")
    pushed, errors = [], []

    def push():
        try:
            pushed.append(publish(model, base))
        except Exception as error:  # reported below
            errors.append(error)

    run_concurrently([push] * 6)
    assert not errors
    assert sorted(pushed) == versions(base) and len(set(pushed)) == 6


def test_a_directory_without_a_saved_model_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no saved_model.pb"):
        publish(str(tmp_path / "missing"), str(tmp_path / "serving"))
    assert not os.path.exists(tmp_path / "serving")


def test_a_copy_failing_halfway_leaves_no_version_and_no_staging(model, tmp_path, monkeypatch):
    def copy_then_fail(source, destination, **kwargs):
        os.makedirs(destination)
        open(os.path.join(destination, "saved_model.pb"), "wb").close()
        raise OSError("disk full")

    monkeypatch.setattr(pusher.io_utils, "copy_dir", copy_then_fail)
    base = tmp_path / "serving"
    with pytest.raises(OSError, match="disk full"):
        publish(model, str(base))
    assert os.listdir(base) == []
