"""Using a trained task's model: predictions on new images (``predictor``) and pictures of
them (``draw``). Nothing is imported here, so ``import autolearn.serving`` stays cheap; torch
loads with ``autolearn.serving.predictor``."""
