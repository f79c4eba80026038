"""The pull-request report: what changed between a base commit and this run, and whether the gate passes.

Pure pieces (diffs, gate, charts, Markdown) are separate from the parts that read git, DVC and GitHub, so
every rule of the report is testable without a repository.
"""
