"""LeNet-5, written as MindSpore's LeNet tutorial writes it, trained with compiled gradients on
the handwritten digits that scikit-learn ships (no download): 8x8 images upscaled to 32x32.

    cellc run examples/lenet_digits.py [EPOCHS]    (or: python examples/lenet_digits.py)

Prints each epoch's loss, the test accuracy and the time per training step. Every training
step is one native call: forward, backward and the Momentum update of every weight.
"""

import sys
import time

import numpy as np
from sklearn.datasets import load_digits

import cellc as mindspore
from cellc import Tensor, nn
from cellc.initializer import Normal


class LeNet5(nn.Cell):
    def __init__(self, num_class=10, num_channel=1):
        super(LeNet5, self).__init__()  # noqa: UP008 (as MindSpore's tutorial writes it)
        self.conv1 = nn.Conv2d(num_channel, 6, 5, pad_mode="valid")
        self.conv2 = nn.Conv2d(6, 16, 5, pad_mode="valid")
        self.fc1 = nn.Dense(16 * 5 * 5, 120, weight_init=Normal(0.02))
        self.fc2 = nn.Dense(120, 84, weight_init=Normal(0.02))
        self.fc3 = nn.Dense(84, num_class, weight_init=Normal(0.02))
        self.relu = nn.ReLU()
        self.max_pool2d = nn.MaxPool2d(kernel_size=2, stride=2)
        self.flatten = nn.Flatten()

    def construct(self, x):
        x = self.max_pool2d(self.relu(self.conv1(x)))
        x = self.max_pool2d(self.relu(self.conv2(x)))
        x = self.flatten(x)
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        x = self.fc3(x)
        return x


def digits(batch_size):
    """Train and test batches: images (N, 1, 32, 32) normalized to mean 0 and deviation 1
    (as MindSpore's MNIST pipeline does with vision.Normalize), labels int32."""
    data = load_digits()
    images = np.kron(data.images / 16.0, np.ones((4, 4))).astype(np.float32)[:, None]
    images = (images - images.mean()) / images.std()
    labels = data.target.astype(np.int32)
    order = np.random.default_rng(0).permutation(len(labels))
    split = int(0.8 * len(labels))
    train, test = order[:split], order[split:]
    whole = (len(train) // batch_size) * batch_size  # static shapes: full batches only
    batches = [
        (images[train[i : i + batch_size]], labels[train[i : i + batch_size]])
        for i in range(0, whole, batch_size)
    ]
    return batches, (images[test], labels[test])


def main(epochs=12, batch_size=32):
    mindspore.set_seed(1)
    network = LeNet5()
    loss_fn = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    batches, (test_images, test_labels) = digits(batch_size)
    # one learning rate per step, decaying along a cosine from 0.03 (nn.cosine_decay_lr)
    lr = nn.cosine_decay_lr(0.0, 0.03, epochs * len(batches), len(batches), epochs)
    optimizer = nn.Momentum(network.trainable_params(), learning_rate=lr, momentum=0.9)
    train_step = nn.TrainOneStepCell(nn.WithLossCell(network, loss_fn), optimizer)

    steps, seconds = 0, 0.0
    for epoch in range(1, epochs + 1):
        losses = []
        for images, labels in batches:
            started = time.perf_counter()
            loss = train_step(Tensor(images), Tensor(labels))
            if steps:  # the first call compiles
                seconds += time.perf_counter() - started
            steps += 1
            losses.append(float(loss.asnumpy()))
        print(f"epoch: {epoch} loss: {np.mean(losses):.4f}")

    logits = network(Tensor(test_images)).asnumpy()
    accuracy = float((logits.argmax(axis=1) == test_labels).mean())
    print(f"test accuracy: {accuracy:.4f}")
    print(f"time per training step: {1000 * seconds / max(steps - 1, 1):.2f} ms")
    return accuracy


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 12)
