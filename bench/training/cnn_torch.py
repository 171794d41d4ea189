"""The bench's CNN in PyTorch on CPU: same layers, optimizer, batch size and data as cnn-throughput.js.

Prints one JSON object. Usage: python3 cnn_torch.py SAMPLES BATCH THREADS MAX_SECONDS
"""
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

DATA_DIR = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def read_idx(name):
    with gzip.open(os.path.join(DATA_DIR, name), "rb") as f:
        data = f.read()
    rank = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(shape)


def main():
    samples, batch, threads, max_seconds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    images = read_idx("train-images-idx3-ubyte.gz")[:samples].astype(np.float32) / 255.0
    labels = read_idx("train-labels-idx1-ubyte.gz")[:samples].astype(np.int64)
    x = torch.from_numpy(images).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(labels)
    # The cnn template with its defaults: valid 3x3 convolutions, 2x2 max pooling, dropout 0.25 before the output.
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step(start):
        xb, yb = x[start : start + batch], y[start : start + batch]
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        return loss.item(), len(yb)

    step(0)  # warm-up, as the tfjs side does
    done, loss, t0, c0 = 0, float("nan"), time.perf_counter(), time.process_time()
    for start in range(0, samples, batch):
        loss, n = step(start)
        done += n
        if time.perf_counter() - t0 > max_seconds:
            break
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({
        "runtime": "pytorch", "version": torch.__version__, "backend": "cpu", "threads": threads, "batchSize": batch,
        "samples": done, "seconds": round(wall, 3), "samplesPerSecond": round(done / wall, 1),
        "samplesPerCpuSecond": round(done / cpu, 1), "loss": round(loss, 4),
    }))


if __name__ == "__main__":
    main()
