"""The PyTorch side of `npm run bench:peer` (driven by scripts/bench-peer.ts).

A long-lived process that answers one JSON command per stdin line with one JSON line on stdout, so
the driver can interleave gradlab and PyTorch runs of the same work. It loads tfjs model folders
as PyTorch modules (tfjs_model.py), reads input batches that the driver writes as raw float32 NHWC
files, and runs the same work gradlab does, written the way a PyTorch user would:

- forward: softmax(model(x)) under inference_mode.
- gradient: d/dx of sum_i log_softmax(model(x))[i, target_i] (gradlab's `gradient` method, score
  'logprob').
- guided: the same through the model with every ReLU replaced by the guided ReLU.
- pgd: what gradlab's runAttack does for PGD (L-inf, random start, steps of `step_size`): the clean
  prediction (labels), `steps` steps on the summed cross-entropy, then predictions of the
  adversarial batch and of its 8-bit quantised copy.

With PEER_CHANNELS_LAST=1 in the environment, models and inputs are kept in channels-last memory
(NHWC strides; `torch.channels_last`), which oneDNN's convolutions read without reordering.

Commands: {"cmd": "load", "name", "dir"}, {"cmd": "input", "name", "path", "shape": [N, H, W, C]},
{"cmd": "threads", "n"}, {"cmd": "check", "model", "input", "targets", "out", "guided"} (writes
logits, and gradient and guided maps in NHWC order for the scores 'logit' and 'logprob'), {"cmd": "time", "model", "input", "work", "targets",
"epsilon", "step_size", "steps", "seed"} -> {"ms": ...}, {"cmd": "quit"}.
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from tfjs_model import TfjsNet

models = {}
inputs = {}
CHANNELS_LAST = os.environ.get("PEER_CHANNELS_LAST") == "1"
MEMORY_FORMAT = torch.channels_last if CHANNELS_LAST else torch.contiguous_format


def class_score_sum(logits, targets, score="logprob"):
    values = torch.log_softmax(logits, 1) if score == "logprob" else logits
    return values.gather(1, targets[:, None]).sum()


def input_gradient(model, x, targets, guided=False, score="logprob"):
    model.guided = guided
    try:
        x = x.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(class_score_sum(model(x), targets, score), x)
    finally:
        model.guided = False
    return grad


def pgd(model, x0, epsilon, step_size, steps, seed):
    with torch.no_grad():  # not inference_mode: the labels are saved by the loss's backward
        labels = model(x0).argmax(1)
    generator = torch.Generator().manual_seed(seed)
    x = (x0 + torch.empty_like(x0).uniform_(-epsilon, epsilon, generator=generator)).clamp(0, 1)
    for _ in range(steps):
        x.requires_grad_(True)
        loss = F.cross_entropy(model(x), labels, reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
        with torch.no_grad():
            x = x + step_size * grad.sign()
            x = torch.min(torch.max(x, x0 - epsilon), x0 + epsilon).clamp(0, 1)
    with torch.inference_mode():
        adversarial = torch.softmax(model(x), 1)
        quantised = torch.softmax(model(torch.round(x * 255) / 255), 1)
    return adversarial.argmax(1), quantised.argmax(1)


def nhwc(t):
    return t.detach().permute(0, 2, 3, 1).contiguous().numpy()


def handle(msg):
    cmd = msg["cmd"]
    if cmd == "load":
        models[msg["name"]] = TfjsNet(msg["dir"]).to(memory_format=MEMORY_FORMAT)
        return {"ok": True}
    if cmd == "threads":
        torch.set_num_threads(int(msg["n"]))
        return {"threads": torch.get_num_threads()}
    if cmd == "input":
        n, h, w, c = msg["shape"]
        data = np.fromfile(msg["path"], dtype=np.float32).reshape(n, h, w, c)
        inputs[msg["name"]] = torch.from_numpy(data.transpose(0, 3, 1, 2).copy()).contiguous(memory_format=MEMORY_FORMAT)
        return {"ok": True}
    model = models[msg["model"]]
    x = inputs[msg["input"]]
    if cmd == "check":
        targets = torch.tensor(msg["targets"], dtype=torch.long)
        with torch.inference_mode():
            logits = model(x)
        out = {"logits": logits.numpy()}
        for score in ("logit", "logprob"):
            out[f"gradient-{score}"] = nhwc(input_gradient(model, x, targets, score=score))
            if msg.get("guided"):
                out[f"guided-{score}"] = nhwc(input_gradient(model, x, targets, guided=True, score=score))
        for key, value in out.items():
            value.astype(np.float32).tofile(f"{msg['out']}.{key}.f32")
        return {"written": sorted(out)}
    if cmd == "time":
        work = msg["work"]
        targets = torch.tensor(msg.get("targets", []), dtype=torch.long)
        start = time.perf_counter()
        if work == "forward":
            with torch.inference_mode():
                torch.softmax(model(x), 1).numpy()
        elif work == "gradient":
            input_gradient(model, x, targets).numpy()
        elif work == "guided":
            input_gradient(model, x, targets, guided=True).numpy()
        elif work == "pgd":
            pgd(model, x, msg["epsilon"], msg["step_size"], msg["steps"], msg.get("seed", 0))
        else:
            raise ValueError(f"unknown work '{work}'")
        return {"ms": (time.perf_counter() - start) * 1000}
    raise ValueError(f"unknown command '{cmd}'")


def main():
    torch.set_num_threads(2)
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        if msg["cmd"] == "quit":
            break
        try:
            reply = handle(msg)
        except Exception as err:  # reported to the driver, which stops with the message
            reply = {"error": f"{type(err).__name__}: {err}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
