"""The optimiser's errors, in a module without heavy imports, so that the API can map
them to answers without loading torch or ONNX Runtime at start-up."""

from __future__ import annotations


class OptimizeError(RuntimeError):
    """An optimisation that cannot start: no model, unusable data, an engine missing."""


class ProfileError(ValueError):
    """A profile that cannot run here (or anywhere), with what to choose instead."""


class ExportError(ValueError):
    """A model this exporter cannot turn into a graph, with what to do instead."""


class ExportFormatError(ValueError):
    """An unknown export format, naming the known ones."""
