"""The GMM family: a Gaussian mixture over an image's pixels, fitted by EM (its pixels
model, files, training and runners).

The registry imports `engine.models.gmm.runners` on the first GMM job.
"""
