"""The Azure half of the pattern: edge compute attached to an Azure ML workspace, and jobs sent to it.

Modules import `azure-ai-ml` only inside functions: `edge-train --help` and config loading stay fast.
"""
