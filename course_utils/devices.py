"""Models follow the device: the training helpers place a model on the device they are given, and check it.

`place(net, device)` is the one place where fit, evaluate, predict and the notebooks' prediction helpers move a
model (training, segmentation, patches). Tests play a second device on the CPU (tests/standin_device.py) to find
the tensors and modules a notebook leaves behind, without a GPU.
"""
import torch


def same_device(actual, wanted):
    """True when device `actual` is `wanted`: an index-free `wanted` ('cuda', 'cpu') matches any index of its
    type, an indexed one only that index."""
    actual, wanted = torch.device(actual), torch.device(wanted)
    return actual.type == wanted.type and (wanted.index is None or actual.index == wanted.index)


def check_on_device(net, device, who="training"):
    """Raise a clear error when a parameter, buffer or plain tensor attribute of `net` is not on `device`."""
    for name, t in list(net.named_parameters()) + list(net.named_buffers()):
        if not same_device(t.device, device):
            raise RuntimeError(f"{who}: {name} of {type(net).__name__} is on {t.device}, not on {device}")
    for module_name, module in net.named_modules():
        for attr, value in vars(module).items():
            if isinstance(value, torch.Tensor) and value.dim() > 0 and not same_device(value.device, device):
                where = f"{module_name}.{attr}" if module_name else attr
                raise RuntimeError(
                    f"{who}: {type(module).__name__} keeps the tensor attribute '{where}' on {value.device}, "
                    f"so moving the model to {device} leaves it behind; register it with "
                    f"self.register_buffer('{attr}', tensor) in __init__")


def place(net, device, who="training"):
    """Move `net` to `device` in place (its parameters keep their identity, so optimisers stay valid); check it."""
    net.to(device)
    check_on_device(net, device, who)
    return net
