"""autolearn: self-hosted AutoML for computer vision.

Kept import-light on purpose: the CLI and API must answer quickly, so heavy
libraries (torch, timm) are imported only inside the functions that need them.
"""

__version__ = "0.1.0"
