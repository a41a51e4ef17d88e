"""A PyTorch HTTP server with the shape of gradlab's API, for `scripts/bench-http-peer.ts`.

What a PyTorch user would put behind the same two routes, with the standard library's HTTP server
(HTTP/1.1 keep-alive, one request at a time) and the same tfjs models (tfjs_model.py):

- POST /v1/models/{name}/classify  {"image": pixels [H][W] or [H][W][C], "topK"?}
  -> {"model", "predictions": [{"label", "index", "probability"}]}
- POST /v1/models/{name}/explain   {"image": ..., "method": "gradient", "target"?}
  -> {"method", "target": {"index", "label"}, "prediction": {...}, "map": {"shape", "data"}, "png"}
  (map: d log p(target | x) / dx, row-major HWC floats; png: a base64 grey heat map of |map|).

Usage: python3 http_peer.py PORT name=model_dir [name=model_dir ...]; prints "listening PORT".
"""
import base64
import json
import struct
import sys
import zlib
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import torch

from tfjs_model import TfjsNet

models = {}
labels = {}


def png_grey(values):
    """A greyscale PNG of a 2-D float array scaled to 0-255 (zlib only: no imaging library)."""
    h, w = values.shape
    top = float(np.abs(values).max()) or 1.0
    pixels = (np.abs(values) / top * 255).astype(np.uint8)
    raw = b"".join(b"\x00" + pixels[r].tobytes() for r in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def as_batch(image):
    x = np.asarray(image, dtype=np.float32)
    if x.ndim == 2:
        x = x[:, :, None]
    return torch.from_numpy(x.transpose(2, 0, 1)[None].copy())


def prediction(name, probs, k):
    top = torch.topk(probs, k)
    return [{"label": labels[name][i], "index": int(i), "probability": float(p)}
            for p, i in zip(top.values.tolist(), top.indices.tolist())]


def classify(name, body):
    with torch.inference_mode():
        probs = torch.softmax(models[name](as_batch(body["image"])), 1)[0]
    return {"model": name, "predictions": prediction(name, probs, int(body.get("topK", 5)))}


def explain(name, body):
    if body.get("method", "gradient") != "gradient":
        raise ValueError("only method 'gradient'")
    x = as_batch(body["image"]).requires_grad_(True)
    log_probs = torch.log_softmax(models[name](x), 1)[0]
    target = int(body["target"]) if "target" in body else int(log_probs.argmax())
    (grad,) = torch.autograd.grad(log_probs[target], x)
    grad_map = grad[0].permute(1, 2, 0).contiguous().numpy()
    top = prediction(name, log_probs.detach().exp(), 1)[0]
    return {
        "method": "gradient",
        "target": {"index": target, "label": labels[name][target]},
        "prediction": top,
        "map": {"shape": list(grad_map.shape), "data": grad_map.reshape(-1).tolist()},
        "png": base64.b64encode(png_grey(np.abs(grad_map).max(axis=2))).decode(),
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        parts = self.path.strip("/").split("/")
        try:
            if len(parts) != 4 or parts[:2] != ["v1", "models"] or parts[2] not in models:
                raise KeyError(self.path)
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            answer = {"classify": classify, "explain": explain}[parts[3]](parts[2], body)
            status = 200
        except Exception as err:  # a bad request, answered like gradlab's errors
            answer, status = {"error": {"message": f"{type(err).__name__}: {err}"}}, 400
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def main():
    torch.set_num_threads(2)
    port = int(sys.argv[1])
    for spec in sys.argv[2:]:
        name, folder = spec.split("=", 1)
        models[name] = TfjsNet(folder).eval()
        with open(f"{folder}/manifest.json") as f:
            labels[name] = [str(label) for label in json.load(f)["labels"]]
    server = HTTPServer(("127.0.0.1", port), Handler)
    print(f"listening {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
