"""MindSpore 2.x's higher-order derivatives (tutorial "Advanced Automatic Differentiation",
high-order derivation): `mindspore.grad` nested, on a network and on a function.

sin' = cos, sin'' = -sin, sin''' = -cos; a function of two inputs differentiated twice; a
gradient of a gradient mixed with `ops.GradOperation`; `value_and_grad` of a gradient.
Run it with `cellc run examples/higher_order_2x.py`, or with MindSpore: the same values.
"""

import mindspore as ms
import numpy as np
from mindspore import Tensor, nn, ops


class Net(nn.Cell):
    """sin(x)"""

    def __init__(self):
        super().__init__()
        self.sin = ops.Sin()

    def construct(self, x):
        out = self.sin(x)
        return out


x_train = Tensor(np.array([3.1415926]), dtype=ms.float32)
net = Net()

# Second order: d2/dx2 sin(x) = -sin(x), about 0 at pi
firstgrad = ms.grad(net)
secondgrad = ms.grad(firstgrad)
output = secondgrad(x_train)
print("sin'' at pi:", np.around(output.asnumpy(), decimals=2))

# Third order: -cos(x), 1 at pi
thirdgrad = ms.grad(secondgrad)
print("sin''' at pi:", np.around(thirdgrad(x_train).asnumpy(), decimals=2))

# At several points
x = Tensor(np.array([0.0, 0.5, 1.0, 2.0]), ms.float32)
print("sin' :", np.around(ms.grad(net)(x).asnumpy(), decimals=4))
print("sin'':", np.around(ms.grad(ms.grad(net))(x).asnumpy(), decimals=4))
print("sin''':", np.around(ms.grad(ms.grad(ms.grad(net)))(x).asnumpy(), decimals=4))


# A function of two inputs: f = x^2 * y; df/dx = 2xy, d2f/dx2 = 2y, d/dy (df/dx) = 2x
def f(x, y):
    return x * x * y


x = Tensor(np.array([1.0, 2.0]), ms.float32)
y = Tensor(np.array([3.0, -1.0]), ms.float32)
dfdx = ms.grad(f, 0)
print("d2f/dx2:", ms.grad(dfdx, 0)(x, y).asnumpy())
print("d2f/dxdy:", ms.grad(dfdx, 1)(x, y).asnumpy())
print("both:", [g.asnumpy() for g in ms.grad(dfdx, (0, 1))(x, y)])

# Mixed with GradOperation: GradOperation of mindspore.grad
print("GradOperation of grad:", ops.GradOperation()(ms.grad(net))(x_train).asnumpy().round(2))

# value_and_grad of a gradient: (sin', sin'')
value, gradient = ms.value_and_grad(ms.grad(net))(x_train)
print("value_and_grad of grad:", value.asnumpy().round(2), gradient.asnumpy().round(2))
