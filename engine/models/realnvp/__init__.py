"""The RealNVP family: a normalising flow of affine coupling layers over dequantised
pixels, with an exact density and an exact latent code (its pixels, couplings, flow,
files, training and runners).

The registry imports `engine.models.realnvp.runners` on the first RealNVP job.
"""
