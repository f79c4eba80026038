"""Azure Stack Hub blob storage as the DVC remote: settings, API-version pin, CA bundle, container, doctor.

ASH accepts storage REST API versions up to 2019-07-07 only and nothing in DVC → dvc-azure → adlfs lets a
user choose the version, so `ml.storage.pin` pins it in every client adlfs creates, in every process
(`ml.storage.autopin` is loaded by a `.pth` file that the package installs). Keep this package's `__init__`
free of imports: the `.pth` hook runs at every interpreter start.
"""
