"""LuoJiaNET's autograd notebook (luojianet_ms), as one script, in LuoJiaNET's spelling:
`nn.Module` with `call` mixed with `nn.Cell` with `construct`, as the notebook mixes them.

Run it unchanged with `cellc run examples/autograd_luojianet.py`. The notebook's stop-gradient
cell calls `super(Net, self)` inside `MyNet` and then runs the earlier classes; this script is
the intended program (`super(MyNet, self)`, `GradMyNetWrtX(MyNet())`).
"""

import numpy as np
import luojianet_ms.nn as nn
import luojianet_ms.ops as ops
from luojianet_ms import Tensor
from luojianet_ms import ParameterTuple, Parameter
from luojianet_ms import dtype as mstype
from luojianet_ms.ops import stop_gradient


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.matmul = ops.MatMul()
        self.z = Parameter(Tensor(np.array([1.0], np.float32)), name='z')  # z为输入变量

    def call(self, x, y):
        x = x * self.z
        out = self.matmul(x, y)
        return out


class GradNetWrtX(nn.Module):
    def __init__(self, net):
        super(GradNetWrtX, self).__init__()
        self.net = net
        self.grad_op = ops.GradOperation()

    def call(self, x, y):
        gradient_function = self.grad_op(self.net)
        return gradient_function(x, y)


x = Tensor([[0.8, 0.6, 0.2], [1.8, 1.3, 1.1]], dtype=mstype.float32)
y = Tensor([[0.11, 3.3, 1.1], [1.1, 0.2, 1.4], [1.1, 2.2, 0.3]], dtype=mstype.float32)
output = GradNetWrtX(Net())(x, y)
print(output)


class GradNetWrtWeight(nn.Cell):
    def __init__(self, net):
        super(GradNetWrtWeight, self).__init__()
        self.net = net
        self.params = ParameterTuple(net.trainable_params())
        self.grad_op = ops.GradOperation(get_by_list=True)

    def construct(self, x, y):
        gradient_function = self.grad_op(self.net, self.params)
        return gradient_function(x, y)


output = GradNetWrtWeight(Net())(x, y)
print(output)


class MyNet(nn.Module):
    def __init__(self):
        super(MyNet, self).__init__()
        self.matmul = ops.MatMul()

    def call(self, x, y):
        out1 = self.matmul(x, y)
        out2 = self.matmul(x, y)
        out2 = stop_gradient(out2)
        out = out1 + out2
        return out


class GradMyNetWrtX(nn.Module):
    def __init__(self, net):
        super(GradMyNetWrtX, self).__init__()
        self.net = net
        self.grad_op = ops.GradOperation()

    def call(self, x, y):
        gradient_function = self.grad_op(self.net)
        return gradient_function(x, y)


output = GradMyNetWrtX(MyNet())(x, y)
print(output)
