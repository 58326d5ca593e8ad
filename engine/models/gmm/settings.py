"""What a GMM's training can be asked for (the preset's, or by name: `--set rank=8` on
the command line, a control on the Train tab). Plain data, no torch: the family's spec
names the class, and the Train tab builds its controls from the fields' metadata, as the
Lab's Sample tab does from the sample options: a "help" line, a "title" for a control
(a field without one is for the command line only), and "choices" or a "range"."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from engine.api.errors import BadInput
from engine.models.common.covariances import COVARIANCES, REGULARIZATION


@dataclass(frozen=True)
class GmmTrainSettings:
    """A field's metadata gives its "help" line, and its "choices" or "range" (low, high):
    what a form or a flag offers, and what `check` holds it to."""

    components: int = field(
        default=20,
        metadata={"help": "mixture components", "range": (1, 1000), "title": "Components"},
    )
    covariance: str = field(
        default="diag",
        metadata={
            "help": "each component's covariance: diagonal, full (up to 32×32 grey), or "
            "low rank plus diagonal (W Wᵀ + ψ, a mixture of factor analysers)",
            "choices": COVARIANCES,
            "title": "Covariance",
        },
    )
    rank: int = field(
        default=8,
        metadata={
            "help": "a low-rank covariance's factors, the r of W (D x r)",
            "range": (1, 64),
            "title": "Rank",
        },
    )
    # added to every variance (a low-rank one's ψ), as scikit-learn's
    reg_covar: float = field(
        default=REGULARIZATION, metadata={"help": "variance floor", "range": (0.0, 1.0)}
    )

    def check(self) -> None:
        """BadInput, with a sentence, for settings outside their choices or ranges."""
        if self.covariance not in COVARIANCES:
            raise BadInput(
                f"A GMM's covariance is 'diag', 'full' or 'lowrank' (low rank plus "
                f"diagonal), not {self.covariance!r}."
            )
        for item in fields(self):
            low_high = item.metadata.get("range")
            value = getattr(self, item.name)
            if low_high is not None and not low_high[0] <= value <= low_high[1]:
                raise BadInput(
                    f"The GMM setting {item.name} ({item.metadata['help']}) is "
                    f"{low_high[0]} to {low_high[1]}, not {value}."
                )
