"""Trains the digits model and writes everything the Rust tests compare against.

A small neural network (scikit-learn's MLPClassifier) learns scikit-learn's bundled 8x8 digits.
Writes, next to this file:
  model.onnx                 the model: input `input` float[N,64] (0..16), outputs `label`
                             int64[N] and `probabilities` float[N,10]
  metrics.json               held-out accuracy
  fixtures/heldout.json      the held-out set with ONNX Runtime's outputs for it
  fixtures/images/*.png      one held-out digit per class, drawn 32x32 as a camera would see it
  fixtures/images.json       ONNX Runtime's outputs for those images, read as the contract reads them

Run: "$(scripts/setup-python)/bin/python" examples/models/digits/make_model.py
"""

import json
import pathlib

import numpy as np
import onnxruntime
from PIL import Image
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

HERE = pathlib.Path(__file__).parent
SEED = 0
SCALE = 4  # Images are drawn 32x32: each feature becomes a 4x4 block.


def main():
    digits = load_digits()
    x = digits.data.astype(np.float32)
    y = digits.target
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=SEED, stratify=y
    )
    model = MLPClassifier(hidden_layer_sizes=(64,), max_iter=1000, random_state=SEED)
    model.fit(x_train, y_train)

    onx = to_onnx(
        model,
        initial_types=[("input", FloatTensorType([None, 64]))],
        options={id(model): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    (HERE / "model.onnx").write_bytes(onx.SerializeToString())

    session = onnxruntime.InferenceSession(str(HERE / "model.onnx"))
    labels, probabilities = session.run(["label", "probabilities"], {"input": x_test})
    accuracy = float((probabilities.argmax(axis=1) == y_test).mean())
    write_json(
        HERE / "metrics.json",
        {
            "model": "MLPClassifier(hidden_layer_sizes=(64,))",
            "train_size": len(x_train),
            "heldout_size": len(x_test),
            "heldout_accuracy": round(accuracy, 6),
        },
    )
    write_json(
        HERE / "fixtures/heldout.json",
        {
            "features": x_test.astype(int).tolist(),
            "labels": y_test.tolist(),
            "onnxruntime": {"label": labels.tolist(), "probabilities": probabilities.tolist()},
        },
    )

    images = []
    for digit in range(10):
        index = int(np.flatnonzero(y_test == digit)[0])
        name = f"digit-{digit}.png"
        grey = draw(x_test[index])
        Image.fromarray(grey).save(HERE / "fixtures/images" / name)
        features = read_like_the_contract(grey)
        label, probs = session.run(["label", "probabilities"], {"input": features[None, :]})
        images.append(
            {
                "file": name,
                "truth": digit,
                "features": features.tolist(),
                "onnxruntime": {"label": int(label[0]), "probabilities": probs[0].tolist()},
            }
        )
    write_json(HERE / "fixtures/images.json", images)
    print(f"digits: held-out accuracy {accuracy:.4f} on {len(x_test)} images")


def draw(features):
    """Dark ink on white paper, each feature a SCALE x SCALE block of one grey level."""
    cells = features.reshape(8, 8)
    grey = np.round(255.0 - cells * 255.0 / 16.0).astype(np.uint8)
    return np.kron(grey, np.ones((SCALE, SCALE), dtype=np.uint8))


def read_like_the_contract(grey):
    """The contract's preprocessing: block averages, ink (dark on light) scaled to 0..16."""
    blocks = grey.astype(np.float32).reshape(8, SCALE, 8, SCALE).mean(axis=(1, 3)) / 255.0
    return ((1.0 - blocks) * 16.0).reshape(64).astype(np.float32)


def write_json(path, value):
    path.write_text(json.dumps(value, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
