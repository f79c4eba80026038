"""The schema of `params.yaml`: edit it together with params.yaml when you add a hyperparameter.

Unknown keys and wrong types fail before any step runs, naming the key, so a typo never trains silently
with a default.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class StepParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class PrepareParams(StepParams):
    test_size: float = Field(0.2, gt=0.0, lt=1.0, description="share of rows held out for evaluation")
    seed: int = Field(42, description="seed of the train/test split")


class TrainParams(StepParams):
    C: float = Field(1.0, gt=0.0, description="inverse regularisation strength of the logistic regression")
    max_iter: int = Field(500, ge=1)
    solver: Literal["lbfgs", "liblinear", "newton-cg", "saga"] = "lbfgs"


class EvaluateParams(StepParams):
    threshold: float = Field(0.5, gt=0.0, lt=1.0, description="probability above which a case is positive")


class ModelParams(StepParams):
    prepare: PrepareParams = PrepareParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
