"""The model image: its build context, Dockerfile and scoring server."""
