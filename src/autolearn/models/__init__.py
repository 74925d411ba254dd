"""Models: the zoo of backbones with their pretrained weights, and the task heads built on them.

Submodules import torch/timm lazily, so importing this package stays cheap for the CLI.
"""
