"""Our known keys stay inside azure-ai-ml's schemas, so validate never rejects what Azure ML accepts."""

from __future__ import annotations

import pytest

from ml.pipeline import keys


def declared(*schemas: type) -> set[str]:
    return {"$schema"}.union(*(schema._declared_fields for schema in schemas))


@pytest.fixture(scope="module")
def schemas() -> dict[str, set[str]]:
    from azure.ai.ml._schema.component.command_component import CommandComponentSchema
    from azure.ai.ml._schema.component.input_output import InputPortSchema, OutputPortSchema, ParameterSchema
    from azure.ai.ml._schema.job.input_output_entry import OutputSchema
    from azure.ai.ml._schema.pipeline.component_job import CommandSchema
    from azure.ai.ml._schema.pipeline.pipeline_job import PipelineJobSchema
    from azure.ai.ml._schema.pipeline.settings import PipelineJobSettingsSchema

    return {
        "PIPELINE_KEYS": declared(PipelineJobSchema),
        "SETTINGS_KEYS": declared(PipelineJobSettingsSchema),
        "NODE_KEYS": declared(CommandSchema),
        "NODE_OUTPUT_KEYS": declared(OutputSchema),
        "COMPONENT_KEYS": declared(CommandComponentSchema),
        "COMPONENT_INPUT_KEYS": declared(ParameterSchema, InputPortSchema),
        "COMPONENT_OUTPUT_KEYS": declared(OutputPortSchema),
    }


@pytest.mark.parametrize(
    "name",
    [
        "PIPELINE_KEYS",
        "SETTINGS_KEYS",
        "NODE_KEYS",
        "NODE_OUTPUT_KEYS",
        "COMPONENT_KEYS",
        "COMPONENT_INPUT_KEYS",
        "COMPONENT_OUTPUT_KEYS",
    ],
)
def test_every_known_key_is_one_the_sdk_declares(name: str, schemas: dict[str, set[str]]) -> None:
    assert getattr(keys, name) <= schemas[name]


def test_a_close_misspelling_gets_a_suggestion() -> None:
    assert keys.suggestion("default_comptue", keys.SETTINGS_KEYS) == "; did you mean 'default_compute'?"
    assert keys.suggestion("zzz", keys.SETTINGS_KEYS) == ""
