"""Started by every Python process of a replayed step (the replay puts this folder on PYTHONPATH).

Only when EDGE_TRAIN_REPLAY_AZURE names a state file: the Azure ML control plane, which no test can reach,
becomes the documented-shape fake of tests/unit/azure/fake_azure.py, installed where `requests` sends bytes
(the azure-ai-ml stack above it runs for real), with the workspace's model versions kept in that file so
that one step's registration is the next step's (and the next workflow's) registry.
"""

import os

if os.environ.get("EDGE_TRAIN_REPLAY_AZURE"):
    import replay_azure

    replay_azure.install(os.environ["EDGE_TRAIN_REPLAY_AZURE"])
