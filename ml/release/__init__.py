"""After training: register the model, version it, package it as an image and push it to a registry."""
