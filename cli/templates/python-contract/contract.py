"""{{name}}: numbers in as one f32 tensor `input` of shape [1, n]; the model's f32 tensor
`output` back as numbers. Rename the tensors to match model.toml."""

from trellis import Contract, Tensor, output


class {{Type}}(Contract):
    def preprocess(self, value):
        numbers = value if isinstance(value, list) else [value]
        if not all(isinstance(n, (int, float)) for n in numbers):
            raise TypeError(f"expected a number or a list of numbers, got {value!r}")
        return [Tensor.from_list(numbers, shape=[1, len(numbers)], name="input")]

    def postprocess(self, tensors):
        return output(tensors, "output").to_list()
