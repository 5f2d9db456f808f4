import numpy as np

from tfx_seqgen.components import random_streams


def test_values_are_uniform_in_unit_interval():
    u = random_streams.uniform(seed=1, split="train", indices=np.arange(20_000), draws=5)
    assert u.shape == (20_000, 5)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01
    # Ten equal bins each get about a tenth of the draws.
    counts = np.histogram(u, bins=10, range=(0, 1))[0] / u.size
    assert np.all(np.abs(counts - 0.1) < 0.01)


def test_each_value_depends_only_on_its_address():
    whole = random_streams.uniform(7, "train", np.arange(100), draws=3)
    part = random_streams.uniform(7, "train", np.arange(40, 60), draws=3)
    np.testing.assert_array_equal(whole[40:60], part)
    # Asking for more draws leaves the first ones unchanged.
    more = random_streams.uniform(7, "train", np.arange(100), draws=6)
    np.testing.assert_array_equal(whole, more[:, :3])


def test_seeds_and_splits_give_unrelated_streams():
    base = random_streams.uniform(7, "train", np.arange(1000), draws=2)
    other_seed = random_streams.uniform(8, "train", np.arange(1000), draws=2)
    other_split = random_streams.uniform(7, "eval", np.arange(1000), draws=2)
    for other in (other_seed, other_split):
        assert not np.any(base == other)
        assert abs(np.corrcoef(base.ravel(), other.ravel())[0, 1]) < 0.1
