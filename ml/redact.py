"""Mask credentials in any text that is about to be printed: a URL's password, a SAS signature, a key.

Messages quote what the user gave (a URL, a connection string, a service's answer), and on the edge they
land in cloud job logs. Every line the CLI prints passes through `mask_secrets`, so a credential that slipped
into a value is shown as `***` instead.
"""

from __future__ import annotations

import re

_PATTERNS = (
    # user:password@ in a URL
    (re.compile(r"(?P<keep>[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@]*:)[^\s/@]+(?=@)"), r"\g<keep>***"),
    # signed query values: sig=…, token=…, (SAS and OAuth query strings)
    (
        re.compile(
            r"(?P<keep>(?:^|[?&;\s'\"])(?:sig|signature|token|access_token|password|code)=)[^&\s;'\"]+", re.I
        ),
        r"\g<keep>***",
    ),
    # connection-string secrets: AccountKey=…; SharedAccessSignature=…;
    (
        re.compile(r"(?P<keep>(?:AccountKey|SharedAccessSignature|SharedAccessKey)=)[^;\s'\"]+", re.I),
        r"\g<keep>***",
    ),
)


def mask_secrets(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
