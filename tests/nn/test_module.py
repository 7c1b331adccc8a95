"""Module and Parameter: registration, traversal, modes, gradients, repr, containers."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


class TwoLayerNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 3)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Scale(nn.Module):
    def __init__(self):
        super().__init__()
        self.s = nn.Parameter([2.0])
        self.register_buffer("calls", np.array(0))

    def forward(self, x):
        return x * self.s


# ----- Parameter -----


def test_parameter_is_a_leaf_tensor_that_requires_grad():
    p = nn.Parameter([[1.0, 2.0]])
    assert isinstance(p, cr.Tensor)
    assert p.requires_grad and p.is_leaf and p.gate is None
    assert p.dtype == np.float32 and p.shape == (1, 2)


def test_parameter_keeps_float64_arrays_and_copies_data():
    a = np.ones(3)
    p = nn.Parameter(a)
    assert p.dtype == np.float64
    a[0] = 5.0
    assert p.data[0] == 1.0


def test_parameter_from_tensor_and_dtype():
    p = nn.Parameter(cr.tensor([1.0, 2.0]), dtype="float64")
    assert p.dtype == np.float64 and p.requires_grad


def test_parameter_rejects_integer_data():
    with pytest.raises(TypeError, match="floating point"):
        nn.Parameter([1, 2, 3])


def test_parameter_can_be_frozen():
    p = nn.Parameter([1.0], requires_grad=False)
    assert not p.requires_grad
    assert "requires_grad=False" in repr(p)


def test_parameter_repr():
    assert repr(nn.Parameter([1.0, 2.0])) == "Parameter([1., 2.], dtype=float32)"
    p = nn.Parameter([1.0])
    p.name = "w"
    assert repr(p) == "Parameter([1.], dtype=float32, name='w')"


def test_parameter_gets_gradient():
    p = nn.Parameter([1.0, -2.0])
    (p * p).sum().backward()
    np.testing.assert_array_equal(p.grad.data, [2.0, -4.0])


# ----- registration -----


def test_attributes_register_parameters_modules_and_buffers():
    m = Scale()
    assert list(m._parameters) == ["s"]
    assert list(m._buffers) == ["calls"]
    assert isinstance(m.calls, cr.Tensor)
    assert m.s is m._parameters["s"]
    net = TwoLayerNet()
    assert list(net._modules) == ["fc1", "act", "fc2"]
    assert "fc1" not in net.__dict__


def test_plain_attributes_are_not_registered():
    m = nn.Module()
    m.rate = 0.5
    m.t = cr.tensor([1.0], requires_grad=True)  # a plain Tensor is not a parameter
    m.layers = [nn.Linear(2, 2)]  # nor is a list of modules (use ModuleList)
    assert list(m.parameters()) == []
    assert m.rate == 0.5


def test_reassigning_keeps_the_order():
    net = TwoLayerNet()
    new = nn.Linear(4, 3)
    net.fc1 = new
    assert list(net._modules) == ["fc1", "act", "fc2"]
    assert net.fc1 is new


def test_assigning_none_to_a_parameter_keeps_the_slot():
    m = Scale()
    m.s = None
    assert m.s is None and "s" in m._parameters
    assert list(m.parameters()) == []


def test_assigning_a_tensor_to_a_parameter_name_raises():
    m = Scale()
    with pytest.raises(TypeError, match="Parameter or None expected"):
        m.s = cr.tensor([1.0])
    net = TwoLayerNet()
    with pytest.raises(TypeError, match="Module or None expected"):
        net.fc1 = 3


def test_assigning_a_buffer_wraps_arrays():
    m = Scale()
    m.calls = np.array(7)
    assert isinstance(m.calls, cr.Tensor) and m.calls.item() == 7
    with pytest.raises(TypeError, match="buffer 'calls'"):
        m.calls = "seven"


def test_assigning_before_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter([1.0])

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Broken()


def test_delattr_unregisters():
    net = TwoLayerNet()
    del net.fc2
    assert list(net._modules) == ["fc1", "act"]
    with pytest.raises(AttributeError):
        net.fc2


def test_missing_attribute_error_names_the_module():
    with pytest.raises(AttributeError, match="'TwoLayerNet' object has no attribute 'fc3'"):
        TwoLayerNet().fc3


def test_register_checks_names_and_types():
    m = nn.Module()
    with pytest.raises(KeyError, match="contain no '.'"):
        m.register_parameter("a.b", None)
    with pytest.raises(KeyError, match="non-empty"):
        m.register_buffer("", np.zeros(1))
    with pytest.raises(TypeError, match="must be a Parameter"):
        m.register_parameter("w", cr.tensor([1.0]))
    with pytest.raises(TypeError, match="must be a Module"):
        m.add_module("f", lambda x: x)
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("forward", np.zeros(1))


def test_dir_lists_registered_names():
    assert {"fc1", "fc2", "act"} <= set(dir(TwoLayerNet()))


# ----- traversal -----


def test_named_parameters_are_dotted_and_ordered():
    net = TwoLayerNet()
    names = [name for name, _ in net.named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [p.shape for p in net.parameters()] == [(3, 4), (3,), (2, 3), (2,)]
    own = [name for name, _ in Scale().named_parameters(recurse=False)]
    assert own == ["s"]


def test_nested_names_and_prefix():
    outer = nn.Sequential(TwoLayerNet(), nn.Linear(2, 2))
    names = [name for name, _ in outer.named_parameters(prefix="model")]
    assert names[:2] == ["model.0.fc1.weight", "model.0.fc1.bias"]
    assert names[-1] == "model.1.bias"


def test_shared_parameters_and_modules_are_listed_once():
    fc = nn.Linear(3, 3)
    net = nn.Sequential(fc, nn.ReLU(), fc)
    assert [name for name, _ in net.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(net.modules())) == 3  # Sequential, Linear, ReLU
    other = nn.Linear(3, 3)
    other.weight = fc.weight
    pair = nn.Sequential(fc, other)
    assert [name for name, _ in pair.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    assert pair.num_parameters() == 9 + 3 + 3


def test_parameter_names_are_set_to_dotted_paths():
    net = TwoLayerNet()
    list(net.fc1.parameters())  # the submodule alone first: short names
    assert net.fc1.weight.name == "weight"
    list(net.parameters())  # then the whole model qualifies them
    assert [p.name for p in net.parameters()] == [
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
    ]
    list(net.fc1.parameters())  # a submodule listing never shortens them back
    assert net.fc1.weight.name == "fc1.weight"


def test_user_parameter_names_are_kept_or_qualified():
    m = Scale()
    m.s.name = "gain"
    list(m.parameters())
    assert m.s.name == "gain"
    m2 = Scale()
    m2.s.name = "s"
    wrapper = nn.Sequential(m2)
    list(wrapper.parameters())
    assert m2.s.name == "0.s"


def test_children_and_modules():
    net = TwoLayerNet()
    assert [name for name, _ in net.named_children()] == ["fc1", "act", "fc2"]
    assert list(net.children()) == [net.fc1, net.act, net.fc2]
    names = [name for name, _ in nn.Sequential(net).named_modules()]
    assert names == ["", "0", "0.fc1", "0.act", "0.fc2"]
    assert list(net.modules())[0] is net


def test_buffers_are_not_parameters():
    m = Scale()
    assert [name for name, _ in m.named_buffers()] == ["calls"]
    assert all(p is not m.calls for p in m.parameters())
    bn = nn.Sequential(nn.BatchNorm1d(3))
    assert [n for n, _ in bn.named_buffers()] == [
        "0.running_mean",
        "0.running_var",
        "0.num_batches_tracked",
    ]


def test_deep_module_tree_needs_no_recursion():
    net = nn.Linear(1, 1)
    for _ in range(3000):
        net = nn.Sequential(net)
    assert len(list(net.parameters())) == 2
    assert len(net.state_dict()) == 2


# ----- modes, gradients, casting -----


def test_train_and_eval_recurse_and_return_self():
    net = nn.Sequential(TwoLayerNet(), nn.Dropout())
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert net.train() is net
    assert all(m.training for m in net.modules())
    net.train(False)
    assert not net[0].fc1.training
    with pytest.raises(ValueError, match="bool"):
        net.train("yes")


def test_zero_grad_sets_grads_to_none():
    net = TwoLayerNet()
    net(cr.randn(5, 4)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_zero_grad_can_zero_in_place():
    net = TwoLayerNet()
    net(cr.randn(5, 4)).sum().backward()
    arrays = [p.grad.data for p in net.parameters()]
    net.zero_grad(set_to_none=False)
    for p, array in zip(net.parameters(), arrays):
        assert p.grad.shape == p.shape and not p.grad.data.any()
        assert p.grad.data is array


def test_gradients_accumulate_until_zero_grad():
    m = Scale()
    x = cr.tensor([3.0])
    m(x).sum().backward()
    m(x).sum().backward()
    assert m.s.grad.item() == 6.0


def test_requires_grad_freezes():
    net = TwoLayerNet()
    net.fc1.requires_grad_(False)
    assert net.num_parameters(trainable_only=True) == 3 * 2 + 2
    assert net.num_parameters() == 4 * 3 + 3 + 3 * 2 + 2
    out = net(cr.randn(2, 4)).sum()
    out.backward()
    assert net.fc1.weight.grad is None and net.fc2.weight.grad is not None


def test_to_double_keeps_parameter_objects_and_integer_buffers():
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    params = list(net.parameters())
    net(cr.randn(4, 3)).sum().backward()
    assert net.double() is net
    assert all(a is b for a, b in zip(net.parameters(), params))
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in params)
    assert net[1].running_mean.dtype == np.float64
    assert net[1].num_batches_tracked.dtype == np.int64
    assert net.float()[0].weight.dtype == np.float32
    with pytest.raises(TypeError, match="floating"):
        net.to("int32")


def test_apply_visits_children_first():
    net = TwoLayerNet()
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "ReLU", "Linear", "TwoLayerNet"]


def test_call_runs_forward_and_base_forward_raises():
    net = TwoLayerNet()
    x = cr.randn(2, 4)
    np.testing.assert_array_equal(net(x).data, net.forward(x).data)
    with pytest.raises(NotImplementedError, match="Module.forward"):
        nn.Module()(x)


# ----- repr -----


def test_repr_is_nested_like_pytorch():
    net = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Sequential(nn.Linear(256, 10), nn.LogSoftmax(dim=1))
    )
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(in_features=784, out_features=256, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Linear(in_features=256, out_features=10, bias=True)\n"
        "    (1): LogSoftmax(dim=1)\n"
        "  )\n"
        ")"
    )
    assert repr(TwoLayerNet()) == (
        "TwoLayerNet(\n"
        "  (fc1): Linear(in_features=4, out_features=3, bias=True)\n"
        "  (act): ReLU()\n"
        "  (fc2): Linear(in_features=3, out_features=2, bias=True)\n"
        ")"
    )


def test_repr_of_every_layer():
    cases = {
        nn.Linear(3, 2, bias=False): "Linear(in_features=3, out_features=2, bias=False)",
        nn.Maxout(3, 2): "Maxout(in_features=3, out_features=2, pieces=2, bias=True)",
        nn.Flatten(): "Flatten(start_dim=1, end_dim=-1)",
        nn.Identity(): "Identity()",
        nn.LeakyReLU(): "LeakyReLU(negative_slope=0.01)",
        nn.ELU(): "ELU(alpha=1.0)",
        nn.Sigmoid(): "Sigmoid()",
        nn.Tanh(): "Tanh()",
        nn.Softplus(): "Softplus(beta=1.0, threshold=20.0)",
        nn.Softmax(): "Softmax(dim=-1)",
        nn.Dropout(0.2): "Dropout(p=0.2)",
        nn.LayerNorm((2, 3)): "LayerNorm((2, 3), eps=1e-05, elementwise_affine=True)",
        nn.CrossEntropyLoss(): "CrossEntropyLoss()",
        nn.MSELoss(reduction="sum"): "MSELoss(reduction='sum')",
        nn.SVMLoss(): "SVMLoss(margin=1.0)",
        nn.HuberLoss(delta=2.0): "HuberLoss(delta=2.0)",
    }
    for module, text in cases.items():
        assert repr(module) == text


def test_repr_with_extra_and_children():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def extra_repr(self):
            return "width=2"

    assert repr(Block()) == (
        "Block(\n  width=2\n  (fc): Linear(in_features=2, out_features=2, bias=True)\n)"
    )


# ----- containers -----


def test_sequential_chains_indexes_and_appends():
    a, b, c = nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)
    net = nn.Sequential(a, b)
    assert net.append(c) is net
    assert len(net) == 3 and list(net) == [a, b, c]
    assert net[0] is a and net[-1] is c
    x = cr.randn(5, 4)
    np.testing.assert_array_equal(net(x).data, c(b(a(x))).data)
    head = net[1:]
    assert isinstance(head, nn.Sequential) and list(head._modules) == ["1", "2"]
    with pytest.raises(IndexError, match="out of range for 3"):
        net[3]


def test_sequential_from_a_dict_and_type_check():
    net = nn.Sequential({"fc": nn.Linear(2, 2), "act": nn.Tanh()})
    assert [name for name, _ in net.named_parameters()] == ["fc.weight", "fc.bias"]
    assert net.act is net[1]
    with pytest.raises(TypeError, match="must be a Module"):
        nn.Sequential(nn.Linear(2, 2), cr.relu)


def test_module_list_registers_its_modules():
    layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    layers.append(nn.Linear(2, 1))
    layers.extend([nn.ReLU()])
    assert len(layers) == 4
    assert [n for n, _ in layers.named_parameters()][-2:] == ["2.weight", "2.bias"]
    new = nn.Linear(2, 2)
    layers[-4] = new
    assert layers[0] is new and list(layers._modules) == ["0", "1", "2", "3"]
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    with pytest.raises(IndexError):
        layers[4]
    with pytest.raises(NotImplementedError):
        layers(cr.zeros(2))
