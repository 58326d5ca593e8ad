"""The covariances a Gaussian mixture here can have, and the floor added to its variances:
plain data, so the GMM family's settings (which the Train tab reads) need no torch."""

COVARIANCES = ("full", "diag", "lowrank")
REGULARIZATION = 1e-4  # added to each covariance's diagonal, so none collapses
