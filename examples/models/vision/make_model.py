"""Makes the vision model: a small convolutional network on 224x224 RGB images with fixed random
weights. It is for throughput work (what the host adds around a model with real convolutions);
its answers mean nothing.

Writes, next to this file:
  model.onnx             input `input` float[N,3,224,224] (normalised RGB), output
                         `probabilities` float[N,10]
  fixtures/random.json   three seeded inputs, given as the seed and the RGB bytes' shape, with
                         ONNX Runtime's outputs for them

Run: "$(scripts/setup-python)/bin/python" examples/models/vision/make_model.py
"""

import json
import pathlib

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

HERE = pathlib.Path(__file__).parent
SEED = 0
CLASSES = 10
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def main():
    rng = np.random.default_rng(SEED)
    nodes, weights = [], []
    channels, previous = 3, "input"
    for i, width in enumerate([16, 32, 64]):
        w = f"conv{i}.weight"
        b = f"conv{i}.bias"
        fan_in = channels * 9
        weights.append(he(rng, (width, channels, 3, 3), fan_in, w))
        weights.append(numpy_helper.from_array(np.zeros(width, dtype=np.float32), b))
        nodes.append(
            helper.make_node(
                "Conv", [previous, w, b], [f"conv{i}"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]
            )
        )
        nodes.append(helper.make_node("Relu", [f"conv{i}"], [f"relu{i}"]))
        channels, previous = width, f"relu{i}"
    nodes.append(helper.make_node("GlobalAveragePool", [previous], ["pooled"]))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["flat"], axis=1))
    weights.append(he(rng, (CLASSES, channels), channels, "fc.weight"))
    weights.append(numpy_helper.from_array(np.zeros(CLASSES, dtype=np.float32), "fc.bias"))
    nodes.append(helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], transB=1))
    nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1))

    graph = helper.make_graph(
        nodes,
        "vision",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", CLASSES])],
        initializer=weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="trellis")
    model.ir_version = 8
    onnx.checker.check_model(model)
    (HERE / "model.onnx").write_bytes(model.SerializeToString())

    session = onnxruntime.InferenceSession(str(HERE / "model.onnx"))
    cases = []
    for seed in range(3):
        rgb = random_image(seed)
        (probabilities,) = session.run(["probabilities"], {"input": normalise(rgb)[None]})
        cases.append({"seed": seed, "onnxruntime": {"probabilities": probabilities[0].tolist()}})
    (HERE / "fixtures/random.json").write_text(json.dumps(cases, separators=(",", ":")) + "\n")
    print(f"vision: {len(model.SerializeToString())} bytes")


def he(rng, shape, fan_in, name):
    values = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape).astype(np.float32)
    return numpy_helper.from_array(values, name)


def random_image(seed):
    """224x224 RGB bytes, row by row: the same generator the Rust tests use (xorshift32)."""
    state = seed * 2654435761 % 2**32 or 1
    out = np.empty(224 * 224 * 3, dtype=np.uint8)
    for i in range(out.size):
        state ^= (state << 13) & 0xFFFFFFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFFFFFF
        out[i] = state & 0xFF
    return out.reshape(224, 224, 3)


def normalise(rgb):
    """The contract's preprocessing: HWC bytes to CHW floats, ImageNet mean and deviation."""
    return ((rgb.astype(np.float32) / 255.0 - MEAN) / STD).transpose(2, 0, 1).copy()


if __name__ == "__main__":
    main()
