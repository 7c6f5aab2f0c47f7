"""Trains the comfort model for the smart-classroom app and writes its reference outputs.

Readings of temperature (deg C), relative humidity (%) and occupancy (people) become one of three
actions: 0 = off, 1 = fan, 2 = cool. The training data is synthetic: a felt temperature that rises
with humidity above 50 % and with every person in the room, thresholds at 24 and 27.5 deg C, and
3 % of labels flipped as noise. A random forest (trees, so ONNX's TreeEnsembleClassifier) learns it.
Writes model.onnx (input `input` float[N,3]; outputs `label` int64[N], `probabilities`
float[N,3]), metrics.json and fixtures/heldout.json next to this file.

Run: "$(scripts/setup-python)/bin/python" examples/models/comfort/make_model.py
"""

import json
import pathlib

import numpy as np
import onnxruntime
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

HERE = pathlib.Path(__file__).parent
SEED = 0
SAMPLES = 3000


def felt_temperature(temperature, humidity, occupancy):
    return temperature + 0.05 * np.maximum(humidity - 50.0, 0.0) + 0.08 * occupancy


def main():
    rng = np.random.default_rng(SEED)
    temperature = rng.uniform(14.0, 36.0, SAMPLES)
    humidity = rng.uniform(20.0, 90.0, SAMPLES)
    occupancy = rng.integers(0, 41, SAMPLES).astype(float)
    felt = felt_temperature(temperature, humidity, occupancy)
    action = np.digitize(felt, [24.0, 27.5])
    noisy = rng.random(SAMPLES) < 0.03
    action[noisy] = rng.integers(0, 3, noisy.sum())

    x = np.column_stack([temperature, humidity, occupancy]).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        x, action, test_size=0.25, random_state=SEED, stratify=action
    )
    model = RandomForestClassifier(n_estimators=25, max_depth=8, random_state=SEED)
    model.fit(x_train, y_train)

    onx = to_onnx(
        model,
        initial_types=[("input", FloatTensorType([None, 3]))],
        options={id(model): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    (HERE / "model.onnx").write_bytes(onx.SerializeToString())

    session = onnxruntime.InferenceSession(str(HERE / "model.onnx"))
    labels, probabilities = session.run(["label", "probabilities"], {"input": x_test})
    predicted = probabilities.argmax(axis=1)
    write_json(
        HERE / "metrics.json",
        {
            "model": "RandomForestClassifier(n_estimators=25, max_depth=8)",
            "train_size": len(x_train),
            "heldout_size": len(x_test),
            "heldout_accuracy": round(float(accuracy_score(y_test, predicted)), 6),
            "heldout_macro_f1": round(float(f1_score(y_test, predicted, average="macro")), 6),
            "label_noise": 0.03,
        },
    )
    write_json(
        HERE / "fixtures/heldout.json",
        {
            "features": x_test.tolist(),
            "labels": y_test.tolist(),
            "onnxruntime": {"label": labels.tolist(), "probabilities": probabilities.tolist()},
        },
    )
    print(f"comfort: held-out accuracy {accuracy_score(y_test, predicted):.4f} on {len(x_test)} rows")


def write_json(path, value):
    path.write_text(json.dumps(value, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
