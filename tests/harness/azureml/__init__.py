"""A job emulator: run an Azure ML pipeline job on this machine the way the service runs it.

Nothing here knows this project's steps. It takes the `PipelineJob` that `edge-train submit` builds and, node
by node in dependency order (`graph`), does what Azure ML does on a compute:
- copies the component's `code:` folder as the SDK uploads it (its own ignore logic) into an empty folder
  without `.git` (`snapshot`);
- builds the environment from the serialized spec alone, the text the service receives (`environment`);
- resolves `${{inputs.*}}` / `${{outputs.*}}` in the command (`command`);
- runs it in a private mount namespace where every output folder is a mount point and every input bound to an
  upstream output is a read-only mount (`sandbox`), with a clean environment plus what the service sets
  (`service_env`), reaching only loopback fakes of the Azure services it needs (`fakes`);
and reports per node: command, exit code, stderr tail (`runner`).

Run it on a branch: `python -m tests.harness.azureml pipelines/train.yml` (see `__main__`).
"""
