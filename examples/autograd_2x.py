"""MindSpore 2.x's "Automatic Differentiation" tutorial (beginner/autograd), as one script.

`mindspore.grad` and `mindspore.value_and_grad` on a function and on a network: gradients
with respect to chosen inputs (`grad_position`), auxiliary outputs (`has_aux`), stopping a
gradient (`ops.stop_gradient`) and the weights of a network (`weights`).

Two changes from the tutorial, so that its printed values can be checked: w and b come from a
seeded generator instead of `np.random.randn`, and the loss is binary cross-entropy with logits
written out with primitives (the same formula, `mean(max(z, 0) - z*y + log(1 + exp(-|z|)))`);
x and y are rows (1x5, 1x3) for `ops.MatMul`. Run it with `cellc run examples/autograd_2x.py`,
or with MindSpore: both print the same values.
"""

import mindspore
import numpy as np
from mindspore import Parameter, Tensor, nn, ops

np.set_printoptions(precision=5, suppress=True)

x = Tensor(np.ones((1, 5)), mindspore.float32)  # input tensor
y = Tensor(np.zeros((1, 3)), mindspore.float32)  # expected output
rng = np.random.default_rng(0)
w = Parameter(Tensor(rng.standard_normal((5, 3)), mindspore.float32), name="w")  # weight
b = Parameter(Tensor(rng.standard_normal(3), mindspore.float32), name="b")  # bias

matmul = ops.MatMul()
relu = ops.ReLU()
exp = ops.Exp()
log = ops.Log()
absolute = ops.Abs()
mean = ops.ReduceMean()


def binary_cross_entropy_with_logits(z, y):
    return mean(relu(z) - z * y + log(1 + exp(-absolute(z))))


# The function and its loss
def function(x, y, w, b):
    z = matmul(x, w) + b
    loss = binary_cross_entropy_with_logits(z, y)
    return loss


loss = function(x, y, w, b)
print("loss:", loss)

# Gradients with respect to w and b (inputs 2 and 3)
grad_fn = mindspore.grad(function, (2, 3))
grads = grad_fn(x, y, w, b)
print("grads:", grads)


# Auxiliary data: only the first output is differentiated, z is returned as it is
def function_with_logits(x, y, w, b):
    z = matmul(x, w) + b
    loss = binary_cross_entropy_with_logits(z, y)
    return loss, z


grad_fn = mindspore.grad(function_with_logits, (2, 3), has_aux=True)
grads, (z,) = grad_fn(x, y, w, b)
print("grads with aux:", grads)
print("z:", z)


# Stopping the gradient: the second output contributes nothing
def function_stop_gradient(x, y, w, b):
    z = matmul(x, w) + b
    loss = binary_cross_entropy_with_logits(z, y)
    return loss, ops.stop_gradient(z)


grad_fn = mindspore.grad(function_stop_gradient, (2, 3))
grads = grad_fn(x, y, w, b)
print("grads with stop_gradient:", grads)


# A network: the gradients of its weights with value_and_grad
class Network(nn.Cell):
    def __init__(self):
        super().__init__()
        self.w = w
        self.b = b

    def construct(self, x):
        z = matmul(x, self.w) + self.b
        return z


model = Network()


def forward_fn(x, y):
    z = model(x)
    loss = binary_cross_entropy_with_logits(z, y)
    return loss


grad_fn = mindspore.value_and_grad(forward_fn, None, weights=model.trainable_params())
loss, grads = grad_fn(x, y)
print("network loss:", loss)
print("network grads:", grads)
