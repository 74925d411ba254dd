"""The data center: import, validate, version and read datasets.

Formats (``formats/``) turn a folder into labelled raw items; ``service`` validates
them, stores the images content-addressed in the object store, writes a manifest
and records an immutable, numbered version in the database. ``samples/`` builds
the built-in sample datasets and ``split`` makes reproducible validation splits.
"""
