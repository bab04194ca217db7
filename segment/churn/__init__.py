"""Churn early warning: features as of a month, a LightGBM model, scores with reasons, whom to call first."""

from segment.churn._features import AS_OF, LABEL, Features, churn_features

__all__ = ["AS_OF", "LABEL", "Features", "churn_features"]
