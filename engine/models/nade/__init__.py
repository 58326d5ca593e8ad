"""The NADE family: a neural autoregressive distribution estimator over binarised
pixels (Larochelle & Murray 2011), with an exact likelihood (its network, pixels, files,
sampling, the Explore functions, training and runners).

The registry imports `engine.models.nade.runners` on the first NADE job.
"""
