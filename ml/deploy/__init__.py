"""Serve the promoted model version: plain Kubernetes manifests, an Azure ML Kubernetes online endpoint on
the attached Arc cluster, or an Azure ML managed online endpoint (`edge-train deploy`, docs/deploy.md)."""
