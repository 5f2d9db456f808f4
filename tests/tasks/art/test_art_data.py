import re

import numpy as np
import pytest

from tfx_seqgen.components import InvalidParameterError
from tfx_seqgen.tasks.art.data import ArtDataset


def decode(arrays):
    queries = [q.decode("ascii") for q in arrays["query"].ravel()]
    return queries, arrays["target"].ravel()


def test_defaults_are_the_papers():
    data = ArtDataset()
    assert data.num_pairs == 4 and data.alphabet == "abcdefghijklmnopqrstuvwxyz"
    assert data.split_sizes() == {"train": 100_000, "eval": 20_000}


@pytest.mark.parametrize(
    "num_pairs,alphabet", [(4, "abcdefghijklmnopqrstuvwxyz"), (3, "xyZ"), (1, "q")]
)
def test_records_follow_the_task_rules(num_pairs, alphabet):
    data = ArtDataset(num_pairs=num_pairs, alphabet=alphabet)
    queries, targets = decode(data.arrays("train", 0, 2000))
    pattern = re.compile(rf"^(?:[{alphabet}][0-9]){{{num_pairs}}}\?\?[{alphabet}]$")
    for query, target in zip(queries, targets, strict=True):
        assert pattern.match(query), query
        letters, digits = query[0 : 2 * num_pairs : 2], query[1 : 2 * num_pairs : 2]
        assert len(set(letters)) == num_pairs  # letters without replacement
        asked = query[-1]
        assert asked in letters
        assert target == int(digits[letters.index(asked)])


def test_every_letter_and_digit_appears_and_draws_are_balanced():
    queries, targets = decode(ArtDataset().arrays("train", 0, 20_000))
    letters = "".join(q[0:8:2] for q in queries)
    counts = np.array([letters.count(c) for c in "abcdefghijklmnopqrstuvwxyz"])
    assert counts.min() > 0.9 * counts.mean()  # 'z' included, no letter starved
    digit_counts = np.bincount(targets, minlength=10)
    assert digit_counts.min() > 0.9 * digit_counts.mean()
    # The query is equally often each of the four pairs.
    positions = np.bincount([q[0:8:2].index(q[-1]) for q in queries], minlength=4)
    assert positions.min() > 0.9 * positions.mean()


def test_digits_repeat_within_a_record_since_drawn_with_replacement():
    queries, _ = decode(ArtDataset().arrays("train", 0, 2000))
    assert any(len(set(q[1:8:2])) < 4 for q in queries)


def test_records_do_not_depend_on_how_a_split_is_cut():
    data = ArtDataset()
    whole = data.arrays("eval", 0, 90)["query"]
    pieces = np.concatenate([data.arrays("eval", a, b)["query"] for a, b in [(0, 10), (10, 90)]])
    np.testing.assert_array_equal(whole, pieces)


def test_seed_changes_the_data():
    first, _ = decode(ArtDataset(seed=3).arrays("train", 0, 200))
    again, _ = decode(ArtDataset(seed=3).arrays("train", 0, 200))
    other, _ = decode(ArtDataset(seed=4).arrays("train", 0, 200))
    assert first == again
    assert sum(a != b for a, b in zip(first, other, strict=True)) > 190


INVALID = [
    ("num_pairs", 0),
    ("num_pairs", 27),  # more pairs than letters
    ("alphabet", ""),
    ("alphabet", "abca"),
    ("alphabet", "ab1"),
    ("alphabet", "ab?"),
    ("alphabet", "aé"),
    ("alphabet", ["a", "b"]),
    ("train_count", 0),
    ("eval_count", -1),
    ("eval_count", 1.0),
    ("seed", -3),
    ("shard_size", 0),
]


@pytest.mark.parametrize("name,value", INVALID)
def test_invalid_parameters_name_the_parameter_and_value(name, value):
    with pytest.raises(InvalidParameterError) as raised:
        ArtDataset(**{name: value})
    assert raised.value.name == name
    assert f"{name}={value!r}" in str(raised.value) and "allowed:" in str(raised.value)
