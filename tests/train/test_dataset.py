"""`mindspore.dataset` as scripts use it; expected values are what MindSpore 2.10 gives for the
same pipelines (its sharding pads by wrapping around)."""

import numpy as np
import pytest

import cellc.dataset as ds
from cellc import Tensor
from cellc import dtype as mstype

DATA = np.arange(10, dtype=np.float32).reshape(5, 2)
LABELS = np.arange(5, dtype=np.int32)


def numpy_slices(**kwargs):
    return ds.NumpySlicesDataset((DATA, LABELS), column_names=["x", "y"], shuffle=False, **kwargs)


def test_slices_batches_and_sizes():
    dataset = numpy_slices()
    assert dataset.get_dataset_size() == len(dataset) == 5
    assert dataset.get_col_names() == ["x", "y"]
    batches = list(dataset.batch(2).create_tuple_iterator())
    assert [x.shape for x, _ in batches] == [(2, 2), (2, 2), (1, 2)]
    assert isinstance(batches[0][0], Tensor) and batches[0][1].dtype == mstype.int32
    assert [y.asnumpy().tolist() for _, y in batches] == [[0, 1], [2, 3], [4]]
    assert dataset.batch(2).get_dataset_size() == 3
    assert dataset.batch(2, drop_remainder=True).get_dataset_size() == 2


def test_iterators():
    row = next(numpy_slices().create_dict_iterator(output_numpy=True))
    assert sorted(row) == ["x", "y"] and isinstance(row["x"], np.ndarray)
    assert [type(t).__name__ for t in numpy_slices()][:1] == ["list"]
    (only_y,) = next(numpy_slices().create_tuple_iterator(columns=["y"], output_numpy=True))
    assert only_y == 0


def test_column_names_of_each_source_kind():
    assert ds.NumpySlicesDataset(DATA, shuffle=False).get_col_names() == ["column_0"]
    assert ds.NumpySlicesDataset({"a": DATA, "b": LABELS}).get_col_names() == ["a", "b"]


def test_generator_sources():
    def generate():
        for i in range(3):
            yield np.array([i, i], np.float32), np.array(i, np.int64)

    dataset = ds.GeneratorDataset(generate, column_names=["a", "b"], shuffle=False)
    assert [(a.asnumpy().tolist(), b.asnumpy().item()) for a, b in dataset] == [
        ([0.0, 0.0], 0),
        ([1.0, 1.0], 1),
        ([2.0, 2.0], 2),
    ]
    assert dataset.get_dataset_size() == 3

    class Source:
        def __getitem__(self, i):
            return DATA[i], LABELS[i]

        def __len__(self):
            return 5

    indexed = ds.GeneratorDataset(Source(), ["x", "y"], shuffle=False)
    assert [t[1].asnumpy().item() for t in indexed] == [0, 1, 2, 3, 4]


def test_map_repeat_take_skip():
    doubled = numpy_slices().map(operations=lambda x: x * 2, input_columns=["x"])
    assert [t[0].asnumpy().tolist() for t in doubled][:2] == [[0.0, 2.0], [4.0, 6.0]]
    assert numpy_slices().repeat(2).get_dataset_size() == 10
    assert [t[1].asnumpy().item() for t in numpy_slices().skip(3)] == [3, 4]
    assert numpy_slices().take(2).get_dataset_size() == 2
    shapes = [t[0].shape for t in numpy_slices().batch(2).map(lambda x: x + 1, ["x"])]
    assert shapes == [(2, 2), (2, 2), (1, 2)]


@pytest.mark.parametrize(("shard", "expected"), [(0, [0, 2, 4]), (1, [1, 3, 0])])
def test_shards_pad_by_wrapping_around(shard, expected):
    dataset = numpy_slices(num_shards=2, shard_id=shard)
    assert [t[1].asnumpy().item() for t in dataset] == expected
    assert dataset.get_dataset_size() == 3


def test_shuffle_is_a_permutation_and_seeded():
    np.random.seed(3)
    first = [t[0].asnumpy().item() for t in ds.NumpySlicesDataset(LABELS, shuffle=True)]
    np.random.seed(3)
    again = [t[0].asnumpy().item() for t in ds.NumpySlicesDataset(LABELS, shuffle=True)]
    assert sorted(first) == [0, 1, 2, 3, 4] and first == again
    buffered = [t[1].asnumpy().item() for t in numpy_slices().shuffle(4)]
    assert sorted(buffered) == [0, 1, 2, 3, 4]


def test_vision_and_transforms():
    image = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    chw = ds.vision.HWC2CHW()(ds.vision.Rescale(1 / 255, 0)(image))
    assert chw.shape == (3, 2, 2) and chw.dtype == np.float32
    np.testing.assert_allclose(chw[1, 0, 1], 4 / 255)
    normalized = ds.vision.Normalize([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])(np.ones((1, 1, 3)))
    np.testing.assert_allclose(normalized.ravel(), [0.0, -0.5, -1.0])
    assert ds.vision.Resize((4, 4))(np.ones((2, 2), np.float32)).shape == (4, 4)
    assert ds.transforms.TypeCast(mstype.int32)(np.array([1.7])).dtype == np.int32
    assert ds.transforms.OneHot(3)(np.array([2])).tolist() == [[0.0, 0.0, 1.0]]


def test_mistakes_name_the_problem():
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        numpy_slices().batch(0)
    with pytest.raises(ValueError, match=r"input_columns \['z'\] are not in the dataset"):
        numpy_slices().map(lambda z: z, input_columns=["z"])
    with pytest.raises(ValueError, match="shard_id 2 is not in"):
        numpy_slices(num_shards=2, shard_id=2)
