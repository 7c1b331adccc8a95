"""Datasets and loaders: `Dataset`, `TensorDataset`, `DataLoader`, splits, and the data sets.

The 8x8 handwritten digits ship inside the package (`load_digits`, `digits_split`), so a
network trains with no download. MNIST and CIFAR-10 are read from local files in their
standard formats (`load_mnist`, `load_cifar10`). Loaders return NumPy arrays: images in the
default float dtype (float32) scaled to [0, 1], labels int64; `DataLoader` batches them
into Tensors.

    >>> import chainrule as cr
    >>> from chainrule.data import DataLoader, TensorDataset, digits_split
    >>> x_train, y_train, x_test, y_test = digits_split()
    >>> loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True, seed=0)
    >>> x, y = next(iter(loader))
    >>> x.shape, y.dtype
    ((64, 64), dtype('int64'))
"""

from chainrule.data.cifar import CIFAR10_CLASSES, load_cifar10
from chainrule.data.dataset import Dataset, Subset, TensorDataset, random_split, train_val_split
from chainrule.data.digits import digits_split, load_digits
from chainrule.data.files import DataFormatError, DatasetNotFoundError
from chainrule.data.loader import DataLoader
from chainrule.data.mnist import load_mnist

__all__ = [
    "Dataset", "TensorDataset", "Subset", "DataLoader", "random_split", "train_val_split",
    "load_digits", "digits_split", "load_mnist", "load_cifar10", "CIFAR10_CLASSES",
    "DataFormatError", "DatasetNotFoundError",
]  # fmt: skip
