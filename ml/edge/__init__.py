"""Run one Azure ML pipeline node on the edge as one DVC stage (docs/fork-guide.md, the data path).

The interface the job emulator (tests/harness/) and Azure ML rely on; keep it stable:

- The job is what `ml.azure.job.build_pipeline_job(root, settings, pipeline_file)` returns. Every node is a
  command component whose `command` runs `python -m ml.edge.node ...` from the code snapshot's root (the
  working directory Azure ML gives a command job); the steps' code comes from that snapshot, not the image.
- `build_pipeline_job` sets each node's `environment_variables` from edge-train.toml (never a secret):
  `EDGE_TRAIN_DVC_REMOTE`, `EDGE_TRAIN_KEY_VAULT_URL`, `EDGE_TRAIN_STORAGE_SECRET`,
  `EDGE_TRAIN_STORAGE_API_VERSION` and, when set, `EDGE_TRAIN_STORAGE_CA_BUNDLE` (a path in the snapshot).
- The storage credential is the Key Vault secret `EDGE_TRAIN_STORAGE_SECRET` (a connection string with
  `BlobEndpoint=` and a SAS or account key), read in the pod with the compute's managed identity:
  azure-identity finds the identity endpoint in the pod's environment (`MSI_ENDPOINT`/`MSI_SECRET` as Azure
  ML sets them, or `IDENTITY_ENDPOINT`/`IDENTITY_HEADER`); `AZURE_CLIENT_ID` or `DEFAULT_IDENTITY_CLIENT_ID`
  selects a user-assigned identity.
- A pointer (all that nodes hand each other) is a folder holding `pointer.json`:
  `{"format": "edge-train-pointer/1", "target": "<stage or .dvc file>", "lock": {...}}`, where `lock` is the
  stage's dvc.lock entry (or the .dvc file's content): paths, hashes and sizes, never rows.
"""
