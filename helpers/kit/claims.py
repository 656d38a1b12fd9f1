"""Claim cells: the checks that keep a notebook's prose true of the run shown.

Prose is written by the author for the run in the committed notebook. Every sentence that depends on
a measured order or gap is backed by a claim cell::

    claims.check("GELU beats ReLU by more than both stds", gelu_mean - relu_mean > gelu_std + relu_std)

In full mode a claim that does not hold raises an AssertionError: a re-run flipped it, so the prose
must be rewritten (never the check loosened). In quick mode, where the numbers are a smoke test,
claims are only printed.
"""

from __future__ import annotations

from helpers.kit import config


class ClaimFailed(AssertionError):
    """A claim of the notebook's prose does not hold in a full-mode run (the message says which)."""


def check(claim: str, holds: bool) -> None:
    """Print ``claim`` with whether it holds; in full mode raise :class:`ClaimFailed` if it does not.

    ``holds`` is the comparison of measured numbers that the sentence in the prose states. Nothing
    is returned, so a cell that ends with a claim shows only the printed line.
    """
    if not isinstance(claim, str) or not claim.strip():
        raise ValueError("claim must be the sentence the prose states, e.g. 'GELU beats ReLU'")
    holds = bool(holds)
    mode = config.run_mode()
    if holds:
        print(f"claim holds: {claim}")
    elif mode == "quick":
        print(f"claim does not hold in this quick run (not asserted): {claim}")
    else:
        raise ClaimFailed(
            f"the prose says '{claim}', but this full run does not show it: rewrite the text "
            f"around this cell for the numbers above"
        )
