"""Map what Azure ML says when something goes wrong to one `EdgeTrainError` a user can act on.

The SDK raises azure-core exceptions whose text is a wall of JSON; a failed job carries an error code deep in
its properties. Users need four answers: is it quota, is the edge compute offline, is it my login, is the
datastore missing. Everything else keeps Azure's message, plus the portal link when there is a job.
"""

from __future__ import annotations

from dataclasses import dataclass

from ml.errors import EdgeTrainError


@dataclass(frozen=True)
class Cause:
    markers: tuple[str, ...]
    what: str
    fix: str


COMPUTE_UNREACHABLE = Cause(
    (
        "ComputeNotFound",
        "compute not found",
        "ComputeOffline",
        "not in a ready state",
        "Disconnected",
        "extension is not healthy",
        "NodeNotReady",
    ),
    "the edge compute is not reachable",
    "check the Arc agent and Azure ML extension on the cluster (`az connectedk8s show`, "
    "`kubectl get pods -n azureml`), then `edge-train azure attach`",
)

CAUSES = (
    Cause(
        ("quota", "QuotaExceeded", "InsufficientQuota", "exceeds the limit"),
        "not enough quota on the edge compute",
        "free capacity on the Arc cluster (or its instance type limits), or lower resources.instance_count",
    ),
    COMPUTE_UNREACHABLE,
    Cause(
        (
            "AuthorizationFailed",
            "AuthenticationFailed",
            "InvalidAuthenticationToken",
            "does not have authorization",
            "ClientAuthenticationError",
            "DefaultAzureCredential failed",
        ),
        "Azure refused the credentials",
        "log in (`az login`, or azure/login with OIDC in Actions) and check the identity's roles "
        "(docs/fork-guide.md, least privilege)",
    ),
    Cause(
        ("DatastoreNotFound", "datastore not found", "could not find datastore"),
        "the edge datastore does not exist in the workspace",
        "create it with `edge-train azure attach` (it needs the SAS in EDGE_TRAIN_STORAGE_SAS)",
    ),
)


def classify(text: str) -> Cause | None:
    lowered = text.lower()
    for cause in CAUSES:
        if any(marker.lower() in lowered for marker in cause.markers):
            return cause
    return None


def explain(error: BaseException | str, *, action: str, portal_url: str | None = None) -> EdgeTrainError:
    """One `EdgeTrainError` for a failed `action`; Azure's own message stays, first line only."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), text)
    cause = classify(text)
    where = f"\n  job: {portal_url}" if portal_url else ""
    if cause:
        return EdgeTrainError(f"{action} failed: {cause.what} ({first_line}){where}", hint=cause.fix)
    return EdgeTrainError(
        f"{action} failed: {first_line}{where}",
        hint="read the job's logs in the portal; `edge-train doctor` checks the setup",
    )
