"""Model optimisation (the form's "model optimization"), export and the accuracy gate.

``export`` (ONNX with metadata, TorchScript), ``detection_graph`` (one-stage detectors as
a batched graph + torchvision's selection rules on the host), ``quantize`` (static INT8
QDQ with calibration images), ``profiles`` (target × level → engine, and why),
``parity`` (the accuracy gate on the validation split), ``bench`` (latency and
throughput), ``service`` (optimise or export a task's model, write the report).
"""
