"""Run a pipeline through the job emulator: `python -m tests.harness.azureml pipelines/train.yml`.

The job is the one `edge-train submit` would send (`ml.azure.job.build_pipeline_job`: the YAML plus params,
compute, experiment, tags, returned outputs), its code the tracked-files snapshot submit uploads
(`ml.azure.snapshot`). Prints one block per node and exits 1 when a node failed.
Options: `--secret NAME=ENV_VAR` puts the value of ENV_VAR into the fake Key Vault as secret NAME (never give
a secret on the command line); `--keep` leaves the work folder (snapshots, datastore, user_logs) for reading.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from tests.harness.azureml.runner import Emulator
from tests.harness.azureml.services import AzureFakes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pipeline", type=Path)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository (default: here)")
    parser.add_argument("--secret", action="append", default=[], metavar="NAME=ENV_VAR")
    parser.add_argument("--keep", action="store_true", help="keep the work folder and print its path")
    parser.add_argument(
        "--assume-data-runtime-reaches-edge",
        action="store_true",
        help="do not fail outputs on the edge datastore (to see what fails next; the service cannot do this)",
    )
    args = parser.parse_args(argv)

    from ml.azure.job import build_pipeline_job
    from ml.azure.snapshot import materialise, use_snapshot
    from ml.config import load_settings
    from ml.errors import EdgeTrainError

    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")  # the service-side client's links
    root = args.root.resolve()
    settings = load_settings(root)
    try:
        job = build_pipeline_job(root, settings, args.pipeline)
    except EdgeTrainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="aml-emulator-"))
    secrets = {name: os.environ[var] for name, _, var in (s.partition("=") for s in args.secret)}
    try:
        use_snapshot(job, root, materialise(root, folder / "code"))  # the code `edge-train submit` uploads
        with AzureFakes(folder / "azure", secrets=secrets) as fakes:
            result = Emulator(
                job,
                folder / "job",
                fakes,
                unreachable_datastores=()
                if args.assume_data_runtime_reaches_edge
                else (settings.azure.edge_datastore,),
            ).run()
        print(result.report())
        return 0 if result.ok else 1
    finally:
        if args.keep:
            print(f"work folder: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
