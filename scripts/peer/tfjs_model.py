"""Builds a PyTorch module from a TensorFlow.js Layers model folder (model.json + weight shards).

The PyTorch peer of gradlab's benchmark (scripts/bench-peer.ts) needs the same network with the
same weights. This reads the tfjs topology (Sequential, or a functional Model whose layers each
have one inbound node) and the float32 weights, and builds the network the way a PyTorch user
would write it: NCHW tensors, nn.Conv2d / nn.BatchNorm2d / nn.Linear, a symmetric ZeroPadding2D
folded into the padding of the conv or max-pool after it, the first Dense after a Flatten with its
rows permuted to NCHW flattening order (so no transpose runs at inference).

Layers supported: InputLayer, Conv2D, DepthwiseConv2D, Dense, BatchNormalization, Activation,
ReLU, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, ZeroPadding2D, Flatten, Dropout,
Add. Activations: linear, relu, relu6, softmax. ReLUs can be swapped for the guided-backprop ReLU.
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class GuidedReLU(torch.autograd.Function):
    """ReLU forward; backward passes dy only where x > 0 and dy > 0 (Springenberg et al. 2015)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        return dy * ((x > 0) & (dy > 0)).to(dy.dtype)


def _read_weights(model_dir, manifest):
    weights = {}
    for group in manifest:
        data = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            if spec.get("dtype", "float32") != "float32" or "quantization" in spec:
                raise ValueError(f"weight {spec['name']}: only unquantised float32 weights are supported")
            count = int(np.prod(spec["shape"])) if spec["shape"] else 1
            weights[spec["name"]] = np.frombuffer(data, np.float32, count, offset).reshape(spec["shape"]).copy()
            offset += 4 * count
    return weights


def _pair(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


def _same_padding(kernel, stride, dilation):
    """tfjs 'same' as symmetric padding; only where tfjs pads symmetrically (1x1, or stride 1 and odd extent)."""
    pads = []
    for k, s, d in zip(kernel, stride, dilation):
        extent = (k - 1) * d + 1
        if extent == 1:
            pads.append(0)  # a 1x1 window never pads, whatever the stride
            continue
        if s != 1 or extent % 2 == 0:
            raise ValueError("'same' padding with stride > 1 or an even kernel pads asymmetrically; "
                             "use ZeroPadding2D + 'valid' in the tfjs model")
        pads.append(extent // 2)
    return tuple(pads)


class TfjsNet(nn.Module):
    """The tfjs Layers network as a PyTorch module; forward takes NCHW, returns the model output."""

    def __init__(self, model_dir):
        super().__init__()
        with open(os.path.join(model_dir, "model.json")) as f:
            model_json = json.load(f)
        weights = _read_weights(model_dir, model_json["weightsManifest"])
        topology = model_json["modelTopology"]
        topology = topology.get("model_config", topology)
        config = topology["config"]
        layer_configs = config["layers"] if isinstance(config, dict) else config
        self.guided = False
        self.steps = []  # (name, kind, module or params, input names)
        self.mods = nn.ModuleDict()
        sequential = topology["class_name"] == "Sequential"

        # Wire the graph: each layer's inputs by name (Sequential: the previous layer).
        graph = []
        previous = "__input__"
        for lc in layer_configs:
            cls, cfg = lc["class_name"], lc["config"]
            name = cfg["name"]
            if cls == "InputLayer":
                previous = name
                graph.append((name, cls, cfg, []))
                continue
            if sequential:
                inputs = [previous]
            else:
                nodes = lc["inbound_nodes"]
                if len(nodes) != 1:
                    raise ValueError(f"layer {name}: shared layers are not supported")
                inputs = [entry[0] for entry in nodes[0]]
            graph.append((name, cls, cfg, inputs))
            previous = name
        if sequential:
            input_name = "__input__" if graph[0][1] != "InputLayer" else graph[0][0]
            output_name = previous
            first = next(lc for lc in layer_configs)
            shape = first["config"].get("batch_input_shape") or first["config"].get("batchInputShape")
        else:
            input_name = config["input_layers"][0][0]
            output_name = config["output_layers"][0][0]
            shape = next(lc["config"]["batch_input_shape"] for lc in layer_configs if lc["config"]["name"] == input_name)
        self.input_name, self.output_name = input_name, output_name
        consumers = {}
        for name, _, _, inputs in graph:
            for i in inputs:
                consumers.setdefault(i, []).append(name)

        # Build modules in graph order, tracking NCHW shapes with a dummy forward.
        h, w, c = shape[1:]
        shapes = {input_name: (c, h, w)}
        pending_pad = {}  # consumer name -> symmetric padding folded from a ZeroPadding2D
        flatten_of = {}  # Flatten layer name -> its input (C, H, W)
        by_name = {g[0]: g for g in graph}
        for name, cls, cfg, inputs in graph:
            if cls == "InputLayer":
                continue
            in_shape = shapes[inputs[0]]
            act = cfg.get("activation", "linear")
            if cls == "ZeroPadding2D":
                p = cfg["padding"]
                if isinstance(p, int):
                    top = bottom = left = right = p
                elif isinstance(p[0], int):
                    top, bottom, left, right = p[0], p[0], p[1], p[1]
                else:
                    (top, bottom), (left, right) = p
                users = consumers.get(name, [])
                foldable = (len(users) == 1 and top == bottom and left == right
                            and by_name[users[0]][1] in ("Conv2D", "DepthwiseConv2D", "MaxPooling2D")
                            and by_name[users[0]][2].get("padding") == "valid")
                if foldable:
                    pending_pad[users[0]] = (top, left)
                    self._add(name, "alias", None, inputs)
                    shapes[name] = in_shape
                else:
                    self._add(name, "pad", (left, right, top, bottom), inputs)
                    shapes[name] = (in_shape[0], in_shape[1] + top + bottom, in_shape[2] + left + right)
                continue
            if cls in ("Conv2D", "DepthwiseConv2D"):
                k = _pair(cfg["kernel_size"])
                s = _pair(cfg["strides"])
                d = _pair(cfg.get("dilation_rate", 1))
                pad = pending_pad.get(name, (0, 0)) if cfg["padding"] == "valid" else _same_padding(k, s, d)
                if cls == "Conv2D":
                    kernel = weights[f"{name}/kernel"]  # [kh, kw, in, out]
                    mod = nn.Conv2d(kernel.shape[2], kernel.shape[3], k, s, pad, d, bias=cfg["use_bias"])
                    mod.weight.data = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy())
                else:
                    kernel = weights[f"{name}/depthwise_kernel"]  # [kh, kw, C, M]
                    ch, mult = kernel.shape[2], kernel.shape[3]
                    mod = nn.Conv2d(ch, ch * mult, k, s, pad, d, groups=ch, bias=cfg["use_bias"])
                    mod.weight.data = torch.from_numpy(kernel.reshape(k[0], k[1], ch * mult, 1).transpose(2, 3, 0, 1).copy())
                if cfg["use_bias"]:
                    mod.bias.data = torch.from_numpy(weights[f"{name}/bias"])
                self._add(name, "module", mod, inputs, act)
            elif cls == "Dense":
                kernel = weights[f"{name}/kernel"]  # [in, out]
                src = inputs[0]
                if src in flatten_of:  # rows in NHWC flattening order -> NCHW order
                    fc, fh, fw = flatten_of[src]
                    kernel = kernel.reshape(fh, fw, fc, -1).transpose(2, 0, 1, 3).reshape(fc * fh * fw, -1)
                mod = nn.Linear(kernel.shape[0], kernel.shape[1], bias=cfg["use_bias"])
                mod.weight.data = torch.from_numpy(kernel.T.copy())
                if cfg["use_bias"]:
                    mod.bias.data = torch.from_numpy(weights[f"{name}/bias"])
                self._add(name, "module", mod, inputs, act)
            elif cls == "BatchNormalization":
                ch = in_shape[0]
                mod = nn.BatchNorm2d(ch, eps=cfg["epsilon"])
                if cfg.get("scale", True):
                    mod.weight.data = torch.from_numpy(weights[f"{name}/gamma"])
                if cfg.get("center", True):
                    mod.bias.data = torch.from_numpy(weights[f"{name}/beta"])
                mod.running_mean.data = torch.from_numpy(weights[f"{name}/moving_mean"])
                mod.running_var.data = torch.from_numpy(weights[f"{name}/moving_variance"])
                self._add(name, "module", mod, inputs)
            elif cls == "Activation":
                self._add(name, "act", None, inputs, act)
            elif cls == "ReLU":
                max_value = cfg.get("max_value")
                self._add(name, "act", None, inputs, "relu6" if max_value == 6 else "relu")
                if max_value not in (None, 6):
                    raise ValueError(f"layer {name}: ReLU max_value {max_value} is not supported")
            elif cls == "MaxPooling2D":
                pad = pending_pad.get(name, (0, 0)) if cfg["padding"] == "valid" else \
                    _same_padding(_pair(cfg["pool_size"]), _pair(cfg["strides"]), (1, 1))
                self._add(name, "module", nn.MaxPool2d(_pair(cfg["pool_size"]), _pair(cfg["strides"]), pad), inputs)
            elif cls == "AveragePooling2D":
                if cfg["padding"] != "valid":
                    raise ValueError(f"layer {name}: only 'valid' average pooling is supported")
                self._add(name, "module", nn.AvgPool2d(_pair(cfg["pool_size"]), _pair(cfg["strides"])), inputs)
            elif cls == "GlobalAveragePooling2D":
                self._add(name, "gap", None, inputs)
            elif cls == "Flatten":
                flatten_of[name] = in_shape
                self._add(name, "flatten", None, inputs)
            elif cls == "Dropout":
                self._add(name, "alias", None, inputs)
            elif cls == "Add":
                self._add(name, "add", None, inputs)
            else:
                raise ValueError(f"layer {name}: {cls} is not supported by the PyTorch peer")
            shapes[name] = self._infer_shape(name, [shapes[i] for i in inputs])
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    def _add(self, name, kind, module, inputs, act="linear"):
        key = name.replace(".", "_")
        if isinstance(module, nn.Module):
            module.eval()  # before the shape probe: a training-mode BatchNorm would update its statistics
            self.mods[key] = module
        self.steps.append((name, kind, key if isinstance(module, nn.Module) else module, inputs, act))

    def _infer_shape(self, name, in_shapes):
        step = next(s for s in self.steps if s[0] == name)
        with torch.no_grad():
            xs = [torch.zeros(1, *s) for s in in_shapes]
            y = self._run_step(step, xs)
        return tuple(y.shape[1:])

    def _activation(self, x, act):
        if act in ("linear", None):
            return x
        if act == "relu":
            return GuidedReLU.apply(x) if self.guided else F.relu(x)
        if act == "relu6":
            return F.relu6(x)
        if act == "softmax":
            return F.softmax(x, dim=1)
        raise ValueError(f"activation {act} is not supported by the PyTorch peer")

    def _run_step(self, step, xs):
        _, kind, mod, _, act = step
        if kind == "module":
            return self._activation(self.mods[mod](xs[0]), act)
        if kind == "act":
            return self._activation(xs[0], act)
        if kind == "alias":
            return xs[0]
        if kind == "pad":
            return F.pad(xs[0], mod)
        if kind == "gap":
            return xs[0].mean((2, 3))
        if kind == "flatten":
            return torch.flatten(xs[0], 1)
        if kind == "add":
            out = xs[0]
            for x in xs[1:]:
                out = out + x
            return out
        raise AssertionError(kind)

    def forward(self, x):
        values = {self.input_name: x}
        for step in self.steps:
            values[step[0]] = self._run_step(step, [values[i] for i in step[3]])
        return values[self.output_name]
