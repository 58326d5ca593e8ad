"""The GAN family: a generator against a discriminator (DCGAN-style training).

The registry imports `engine.models.gan.runners` on the first GAN job; that registers
the sample, decode and train runners.
"""
