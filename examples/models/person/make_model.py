"""Trains the person model for the intruder alarm and writes everything the tests compare against.

Is there a person in this frame? The frames are synthetic, drawn here from fixed seeds: 48x48
grey scenes at a door (a lit or dark background with a gradient and sensor noise, sometimes a
door frame, sometimes furniture: boxes, cabinets, balls, tables, poles), half of them with a
person-like silhouette (head, torso, legs, sometimes arms) of random size, place and contrast.
A small neural network (scikit-learn's MLPClassifier) learns them from 24x24 block averages,
standardised per frame so the lighting does not matter.

Writes, next to this file:
  model.onnx            input `input` float[N,576] (a standardised 24x24 frame, row by row),
                        outputs `label` int64[N] (1 = person) and `probabilities` float[N,2]
  metrics.json          held-out accuracy, precision and recall
  fixtures/frames/*.png held-out frames as the camera sends them: the first of each kind of scene
  fixtures/frames.json  each frame's truth and ONNX Runtime's outputs for it, read as the
                        contract reads it

Run: "$(scripts/setup-python)/bin/python" examples/models/person/make_model.py
"""

import json
import pathlib

import numpy as np
import onnxruntime
from PIL import Image
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.metrics import precision_score, recall_score
from sklearn.neural_network import MLPClassifier

HERE = pathlib.Path(__file__).parent
SEED = 0
FRAME = 48  # The camera's frames are FRAME x FRAME.
SIDE = 24  # The model sees SIDE x SIDE block averages.
TRAIN, HELDOUT = 16000, 2000
# Kinds of empty scene; a scene with a person also gets furniture at random.
EMPTY_KINDS = ["empty", "noise", "box", "cabinet", "ball", "table", "pole"]


def main():
    train_x, train_y, _ = scenes(np.random.default_rng(SEED), TRAIN)
    test_x, test_y, test_kinds = scenes(np.random.default_rng(SEED + 1), HELDOUT)
    model = MLPClassifier(hidden_layer_sizes=(48,), max_iter=500, random_state=SEED)
    model.fit(features(train_x), train_y)

    onx = to_onnx(
        model,
        initial_types=[("input", FloatTensorType([None, SIDE * SIDE]))],
        options={id(model): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    (HERE / "model.onnx").write_bytes(onx.SerializeToString())

    session = onnxruntime.InferenceSession(str(HERE / "model.onnx"))
    _, probabilities = session.run(["label", "probabilities"], {"input": features(test_x)})
    predicted = probabilities.argmax(axis=1)
    accuracy = float((predicted == test_y).mean())
    write_json(
        HERE / "metrics.json",
        {
            "model": "MLPClassifier(hidden_layer_sizes=(48,))",
            "train_size": TRAIN,
            "heldout_size": HELDOUT,
            "heldout_accuracy": round(accuracy, 6),
            "heldout_precision": round(float(precision_score(test_y, predicted)), 6),
            "heldout_recall": round(float(recall_score(test_y, predicted)), 6),
        },
    )

    # The first held-out frame of each kind, people and empty scenes in turn.
    frames_dir = HERE / "fixtures/frames"
    frames_dir.mkdir(parents=True, exist_ok=True)
    for old in frames_dir.glob("*.png"):
        old.unlink()
    picks = []
    for kind in EMPTY_KINDS:
        picks.append(int(np.flatnonzero((test_y == 1) & (test_kinds == kind))[0]))
        picks.append(int(np.flatnonzero((test_y == 0) & (test_kinds == kind))[0]))
    frames = []
    for number, index in enumerate(picks, start=1):
        person = bool(test_y[index])
        name = f"{number:02}-{'person' if person else 'no-person'}-{test_kinds[index]}.png"
        image = Image.fromarray(test_x[index])
        # Some cameras send colour: every fourth frame is RGB, to exercise that decoding.
        if number % 4 == 0:
            image = image.convert("RGB")
        image.save(frames_dir / name)
        grey = read_like_the_contract(frames_dir / name)
        label, probs = session.run(["label", "probabilities"], {"input": grey[None, :]})
        frames.append(
            {
                "file": name,
                "person": person,
                "features": [round(float(v), 7) for v in grey],
                "onnxruntime": {"label": int(label[0]), "probabilities": probs[0].tolist()},
            }
        )
    write_json(HERE / "fixtures/frames.json", frames)
    right = sum(f["onnxruntime"]["label"] == int(f["person"]) for f in frames)
    print(f"person: held-out accuracy {accuracy:.4f} on {HELDOUT} frames; {right}/{len(frames)} fixture frames right")


def scenes(rng, count):
    """`count` frames (uint8, FRAME x FRAME), whether each shows a person, and its kind."""
    frames = np.empty((count, FRAME, FRAME), dtype=np.uint8)
    labels = np.zeros(count, dtype=np.int64)
    kinds = np.empty(count, dtype=object)
    for i in range(count):
        person = i % 2 == 1
        kind = EMPTY_KINDS[rng.integers(len(EMPTY_KINDS))]
        frames[i] = scene(rng, kind, person)
        labels[i] = int(person)
        kinds[i] = kind
    return frames, labels, kinds


def scene(rng, kind, person):
    ys, xs = np.mgrid[0:FRAME, 0:FRAME].astype(np.float64)
    level = rng.uniform(50, 210)
    angle = rng.uniform(0, 2 * np.pi)
    image = level + rng.uniform(0, 40) * ((np.cos(angle) * xs + np.sin(angle) * ys) / FRAME - 0.5)
    if rng.random() < 0.5:
        door(rng, image)
    if kind != "empty" and kind != "noise":
        furniture(rng, image, kind, level)
    if person:
        silhouette(rng, image, xs, ys, level)
    sigma = rng.uniform(12, 24) if kind == "noise" else rng.uniform(1, 8)
    image += rng.normal(0, sigma, image.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def contrast(rng, level):
    """A grey level that stands out from `level`, darker or lighter."""
    delta = rng.uniform(45, 100)
    return level - delta if (level > 130 or rng.random() < 0.5) and level - delta > 0 else level + delta


def fill(image, top, bottom, left, right, value):
    top, bottom = max(int(top), 0), min(int(bottom), FRAME)
    left, right = max(int(left), 0), min(int(right), FRAME)
    if top < bottom and left < right:
        image[top:bottom, left:right] = value


def door(rng, image):
    """A door frame: an outline a little darker or lighter than the wall."""
    left = rng.integers(4, 20)
    width = rng.integers(16, 26)
    top = rng.integers(2, 10)
    shade = image.mean() + rng.choice([-1, 1]) * rng.uniform(15, 35)
    fill(image, top, FRAME, left, left + 2, shade)
    fill(image, top, FRAME, left + width, left + width + 2, shade)
    fill(image, top, top + 2, left, left + width + 2, shade)


def furniture(rng, image, kind, level):
    value = contrast(rng, level)
    x, y = rng.integers(0, FRAME - 8), rng.integers(FRAME // 3, FRAME - 6)
    if kind == "box":
        fill(image, y, y + rng.integers(6, 16), x, x + rng.integers(8, 20), value)
    elif kind == "cabinet":  # Tall and as wide as a person, but without a head or legs.
        height = rng.integers(20, 40)
        fill(image, FRAME - height - rng.integers(0, 4), FRAME, x, x + rng.integers(8, 14), value)
    elif kind == "ball":
        radius = rng.uniform(2.5, 7)
        ys, xs = np.mgrid[0:FRAME, 0:FRAME]
        image[(xs - x) ** 2 + (ys - y) ** 2 <= radius**2] = value
    elif kind == "table":
        top = rng.integers(FRAME // 2, FRAME - 12)
        width = rng.integers(14, 30)
        fill(image, top, top + 3, x, x + width, value)
        fill(image, top, FRAME, x, x + 2, value)
        fill(image, top, FRAME, x + width - 2, x + width, value)
    elif kind == "pole":
        fill(image, rng.integers(0, 20), FRAME, x, x + rng.integers(1, 4), value)


def silhouette(rng, image, xs, ys, level):
    """A standing person: head, shoulders and torso, two legs, sometimes arms; `height` pixels
    tall with their feet near the bottom of the frame."""
    value = contrast(rng, level)
    height = rng.uniform(26, 44)
    head = height * rng.uniform(0.075, 0.09)
    cx = rng.uniform(head + 6, FRAME - head - 6)
    feet = rng.uniform(FRAME - 4, FRAME + 2)
    top = feet - height
    head_y = top + head
    image[(xs - cx) ** 2 + ((ys - head_y) / 1.15) ** 2 <= head**2] = value
    shoulders = head * rng.uniform(2.0, 2.6)
    torso_top = head_y + head * 1.1
    hips = top + height * 0.55
    # Shoulders wider than hips: a trapezoid.
    for row in range(max(int(torso_top), 0), min(int(hips), FRAME)):
        t = (row - torso_top) / max(hips - torso_top, 1)
        half = shoulders * (1 - 0.25 * t)
        fill(image, row, row + 1, cx - half, cx + half, value)
    leg = max(head * 0.7, 1.2)
    gap = head * rng.uniform(0.2, 0.8)
    fill(image, hips, feet, cx - gap - leg, cx - gap, value)
    fill(image, hips, feet, cx + gap, cx + gap + leg, value)
    if rng.random() < 0.6:
        arm = max(head * 0.5, 1.0)
        bottom = hips + height * rng.uniform(-0.05, 0.1)
        fill(image, torso_top, bottom, cx - shoulders - arm, cx - shoulders, value)
        fill(image, torso_top, bottom, cx + shoulders, cx + shoulders + arm, value)


def features(frames):
    """Frames (uint8) as the model's inputs; the same as `read_like_the_contract`."""
    grey = frames.astype(np.float64) / 255.0
    blocks = grey.reshape(len(frames), SIDE, FRAME // SIDE, SIDE, FRAME // SIDE).mean(axis=(2, 4))
    flat = blocks.reshape(len(frames), SIDE * SIDE)
    return standardise(flat).astype(np.float32)


def standardise(flat):
    mean = flat.mean(axis=-1, keepdims=True)
    std = np.maximum(flat.std(axis=-1, keepdims=True), 1.0 / 255.0)
    return (flat - mean) / std


def read_like_the_contract(path):
    """The contract's preprocessing of a PNG file: luma, block averages, standardised."""
    image = Image.open(path)
    pixels = np.asarray(image, dtype=np.float64)
    if pixels.ndim == 3:
        pixels = pixels[..., 0] * 0.299 + pixels[..., 1] * 0.587 + pixels[..., 2] * 0.114
    grey = pixels / 255.0
    height, width = grey.shape
    blocks = np.empty((SIDE, SIDE))
    for row in range(SIDE):
        for col in range(SIDE):
            rows = slice(row * height // SIDE, (row + 1) * height // SIDE)
            cols = slice(col * width // SIDE, (col + 1) * width // SIDE)
            blocks[row, col] = grey[rows, cols].mean()
    return standardise(blocks.reshape(SIDE * SIDE)).astype(np.float32)


def write_json(path, value):
    path.write_text(json.dumps(value, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
