"""Churn early warning: features as of a month, a LightGBM model, scores with reasons, whom to call first.

``churn_features`` builds one row per customer active at an as-of month
(usage windows, lifecycle stage, complaints) and the churn label after a gap;
``fit`` trains a calibrated LightGBM model (:class:`ChurnModel`, saved as a
folder of text and JSON); ``score`` gives each customer ``p_churn``, a risk
decile, an alert level, reasons and, with a value column, a call list;
``evaluate`` gives AUC, KS, the decile and calibration tables and drift.
"""

from segment.churn._evaluate import Evaluation, auc, deciles, evaluate, ks, psi
from segment.churn._features import AS_OF, LABEL, Features, churn_features
from segment.churn._model import DEFAULT_ALERT_TOP, ChurnModel, check_model_target, fit, load_model, parse_alert_top
from segment.churn._score import REASON_MODES, VALUE_KINDS, Scores, score

#: The command's entry function under the package's name (the layout's convention).
churn = churn_features

__all__ = ["AS_OF", "DEFAULT_ALERT_TOP", "LABEL", "REASON_MODES", "VALUE_KINDS", "ChurnModel", "Evaluation",
           "Features", "Scores", "auc", "check_model_target", "churn", "churn_features", "deciles", "evaluate",
           "fit", "ks", "load_model", "parse_alert_top", "psi", "score"]
