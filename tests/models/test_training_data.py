"""The Trainer's data: the same batches for the same seed, from memory or streamed."""

import types

import numpy as np
import pytest
import tensorflow as tf

from tfx_seqgen.models.training_config import TrainingConfig
from tfx_seqgen.models.training_data import TrainingData

SPEC = {
    "x": tf.io.FixedLenFeature([3], tf.float32),
    "row": tf.io.FixedLenFeature([1], tf.int64),
}


def write_split(folder, name: str, rows: range, files: int) -> None:
    """`rows` as tf.Examples in `files` gzipped files: x = (row, row + 0.5, -row)."""
    split = folder / f"Split-{name}"
    split.mkdir(parents=True)
    options = tf.io.TFRecordOptions(compression_type="GZIP")
    for index, part in enumerate(np.array_split(np.asarray(rows), files)):
        path = str(split / f"transformed_examples-{index:05d}-of-{files:05d}.gz")
        with tf.io.TFRecordWriter(path, options) as writer:
            for row in part:
                features = {
                    "x": tf.train.Feature(
                        float_list=tf.train.FloatList(value=[row, row + 0.5, -row])
                    ),
                    "row": tf.train.Feature(int64_list=tf.train.Int64List(value=[row])),
                }
                example = tf.train.Example(features=tf.train.Features(feature=features))
                writer.write(example.SerializeToString())


@pytest.fixture
def examples(tmp_path):
    write_split(tmp_path, "train", range(300), files=3)
    write_split(tmp_path, "eval", range(1000, 1050), files=1)
    return types.SimpleNamespace(
        train_files=[str(tmp_path / "Split-train" / "*")],
        eval_files=[str(tmp_path / "Split-eval" / "*")],
    )


class _Transform:
    def transformed_feature_spec(self):
        return dict(SPEC)


def data(examples, **config) -> TrainingData:
    settings = {"task": "lcd", "model": {}, "batch_size": 32, "seed": 5, **config}
    return TrainingData(examples, _Transform(), TrainingConfig(**settings))


def epochs(dataset, count: int = 2) -> list:
    """The `row` of every example, batch by batch, over `count` passes."""
    return [[batch["row"][:, 0].numpy().tolist() for batch in dataset] for _ in range(count)]


def as_is(features):
    return features


def test_a_split_that_fits_the_buffer_streams_in_the_batches_it_has_in_memory(examples):
    keep_odd = lambda f: tf.equal(f["row"][:, 0] % 2, 1)  # noqa: E731
    for keep, rows in ((None, 300), (keep_odd, 150)):
        memory = data(examples, cache_data=True).dataset("train", True, as_is, keep)
        stream = data(examples, cache_data=False).dataset("train", True, as_is, keep)
        from_memory, streamed = epochs(memory), epochs(stream)
        assert streamed == from_memory
        first, second = from_memory
        assert (
            sorted(sum(first, []))
            == sorted(sum(second, []))
            == sorted(r for r in range(300) if keep is None or r % 2)
        )
        assert first != second  # each epoch is shuffled anew
        assert len(sum(first, [])) == rows and [len(b) for b in first[:-1]] == [32] * (rows // 32)


def test_streamed_rows_are_parsed_as_written_and_eval_keeps_file_order(examples):
    stream = data(examples, cache_data=False).dataset("eval", False, as_is)
    batches = list(stream.as_numpy_iterator())
    rows = np.concatenate([b["row"][:, 0] for b in batches])
    x = np.concatenate([b["x"] for b in batches])
    np.testing.assert_array_equal(rows, np.arange(1000, 1050))
    np.testing.assert_array_equal(x, np.stack([rows, rows + 0.5, -rows], axis=1))


def test_another_seed_or_a_smaller_buffer_gives_another_order(examples):
    streamed = epochs(data(examples, cache_data=False).dataset("train", True, as_is), 1)
    other_seed = epochs(data(examples, cache_data=False, seed=6).dataset("train", True, as_is), 1)
    small = data(examples, cache_data=False, shuffle_buffer=10).dataset("train", True, as_is)
    assert other_seed != streamed and epochs(small, 1) != streamed
    # A buffer of 10 rows moves no row more than 9 places ahead of where it is read
    # (the three files are read interleaved: rows 0, 100, 200, 1, 101, ...).
    read = sum(epochs(data(examples, cache_data=False).dataset("train", False, as_is), 1)[0], [])
    assert read[:4] == [0, 100, 200, 1]
    place = {row: index for index, row in enumerate(read)}
    order = sum(epochs(small, 1)[0], [])
    assert all(position >= place[row] - 9 for position, row in enumerate(order))


def test_a_split_without_files_is_named(examples, tmp_path):
    examples.eval_files = [str(tmp_path / "Split-missing" / "*")]
    with pytest.raises(ValueError, match="no transformed examples for split 'eval'"):
        data(examples, cache_data=False).dataset("eval", False, as_is)


@pytest.mark.parametrize("cache_data", [True, False])
def test_steps_per_epoch_caps_training_batches_not_eval(examples, cache_data):
    full = epochs(data(examples, cache_data=cache_data).dataset("train", True, as_is))
    capped_data = data(examples, cache_data=cache_data, steps_per_epoch=3)
    capped = epochs(capped_data.dataset("train", True, as_is))
    # Each epoch takes the first 3 batches of that epoch's shuffle.
    assert capped == [epoch[:3] for epoch in full]
    assert capped[0] != capped[1]
    assert len(sum(epochs(capped_data.dataset("eval", False, as_is), 1)[0], [])) == 50


def test_a_split_over_cache_max_rows_streams_and_one_at_the_limit_is_held(examples, caplog):
    # A buffer of 10 rows orders the split differently from a whole-split shuffle,
    # so the order tells which path the batches came from.
    def first_epoch(**config):
        return epochs(data(examples, shuffle_buffer=10, **config).dataset("train", True, as_is), 1)

    held, streamed = first_epoch(cache_data=True), first_epoch(cache_data=False)
    assert held != streamed
    assert first_epoch(cache_data=True, cache_max_rows=300) == held
    assert first_epoch(cache_data=True, cache_max_rows=299) == streamed
    assert "more than cache_max_rows=299 rows" in caplog.text
    # The eval split (50 rows) stays in memory under the same limit.
    limited = data(examples, cache_data=True, cache_max_rows=299)
    assert limited.features("eval")["row"][:, 0].tolist() == list(range(1000, 1050))
    assert limited.features("train") is None
