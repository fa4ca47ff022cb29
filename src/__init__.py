import os

# albumentations checks for updates over the network at import: never, anywhere in the harness
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
