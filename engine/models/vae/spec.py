"""The VAE family as data (engine.api.families reads it; no torch here)."""

from engine.api.families import FamilySpec, Likelihood
from engine.api.kinds import Task
from engine.api.sample_options import LatentSampleOptions

SPEC = FamilySpec(
    id="vae",
    title="VAE",
    about=(
        "A <b>variational autoencoder</b> squeezes each image into a few numbers (its "
        "<i>latent</i> code) and rebuilds it from them. Sampling decodes random latent codes, "
        "drawn from a mixture fitted to where the training images landed (a plain standard "
        "normal leaves holes between them): every seed is a new image."
    ),
    idea=(
        "Learn an encoder and a decoder together by maximising a lower bound on the "
        "likelihood, made differentiable by reparameterising the random latent code."
    ),
    year=2013,
    paper="Kingma & Welling, “Auto-Encoding Variational Bayes” (ICLR 2014; arXiv 2013)",
    likelihood=Likelihood("bound", "binarised pixels (ELBO, the N(0, I) prior)"),
    tasks=(
        Task.SAMPLE,
        Task.DECODE,
        Task.INTERPOLATE,
        Task.SEED_LATENT,
        Task.LATENT_AXES,
        Task.ARITHMETIC,
        Task.RECONSTRUCT,
        Task.TRAIN,
        Task.SCORE,
    ),
    lab=True,
    trains_on=("digits", "shapes", "emoji"),
    presets="engine.models.vae.training:VAE_PRESETS",
    sample_options=LatentSampleOptions,
    encodes_images=True,
    explore_tools=("sliders", "walk", "arithmetic", "reconstruct"),
    opens_lab=True,
)
