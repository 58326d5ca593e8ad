"""The RBM family: a Bernoulli–Bernoulli restricted Boltzmann machine over binarised
pixels, trained by contrastive divergence (its machine, AIS, pixels, files, training and
runners).

The registry imports `engine.models.rbm.runners` on the first RBM job.
"""
