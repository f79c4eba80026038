"""`python -m ml` is the same CLI as `edge-train`, for environments without the console script."""

from ml.cli import main

main()
