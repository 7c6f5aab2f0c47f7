"""The base class of a model contract. A module that subclasses it is the contract."""

_defined = []


class Contract:
    """Turns an app's input into the model's tensors, and the model's tensors into an answer."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _defined.append(cls)

    def preprocess(self, value):
        """A plain Python value (number, list, str, bytes, dict) -> a list of `Tensor`s."""
        raise NotImplementedError("the contract does not define preprocess")

    def postprocess(self, tensors):
        """The model's output `Tensor`s -> the answer, a plain Python value."""
        raise NotImplementedError("the contract does not define postprocess")
