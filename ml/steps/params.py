"""The schema of `params.yaml`: the one declaration of every hyperparameter, its type and bounds.

`edge-train pipeline compile` checks each component's inputs and the pipeline's inputs against it (same
default, same bounds, same choices), so a key added here and in params.yaml reaches the step and dvc.yaml, or
compile says which file to fix. Unknown keys and wrong types fail before any step runs, naming the key, so a
typo never trains silently with a default.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class StepParams(BaseModel):
    # Infinity and NaN are numbers to YAML (`.inf`, `.nan`) but no hyperparameter's value: refused by name.
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class PrepareParams(StepParams):
    test_size: float = Field(0.2, ge=0.01, le=0.99, description="share of rows held out for evaluation")
    seed: int = Field(42, ge=0, description="seed of the train/test split")


class TrainParams(StepParams):
    estimator: Literal["linear", "forest"] = Field(
        "linear", description="linear (logistic or ridge regression) or forest (random forest)"
    )
    C: float = Field(1.0, ge=1e-6, description="inverse regularisation strength of the linear model")
    max_iter: int = Field(500, ge=1, description="iterations of the logistic regression's solver")
    solver: Literal["lbfgs", "liblinear", "newton-cg", "saga"] = Field(
        "lbfgs", description="the logistic regression's solver (linear classifiers only)"
    )
    n_estimators: int = Field(100, ge=1, description="trees in the forest")
    max_depth: int = Field(0, ge=0, description="depth limit of each tree (0: no limit)")
    seed: int = Field(42, ge=0, description="seed of the forest")


class EvaluateParams(StepParams):
    threshold: float = Field(
        0.5, gt=0.0, lt=1.0, description="binary only: probability above which a case is positive"
    )


class ModelParams(StepParams):
    prepare: PrepareParams = PrepareParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
