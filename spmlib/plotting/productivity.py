"""Charts of the productivity analyses; each takes a compute function's output and ``ax=None``, returns the Axes."""

__all__: list[str] = []
